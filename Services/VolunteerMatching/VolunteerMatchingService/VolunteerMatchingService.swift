import Contracts
import Foundation
import Kafka
import ServiceLifecycle
import ServiceRuntime
import Storage
import Synchronization

/// Volunteer service matching: needs matched to volunteers, hours recorded.
///
/// Owns schema `volunteer_matching`: the read model of the registry's places, households, residents
/// and volunteers (fed by `registry.events`), service needs (API and `district.inbound`), offers,
/// assignments with the time they hold, service records, absences and pairings. Keeps the candidate
/// index in memory; runs the offer dispatcher and the reminder scheduler; publishes on
/// `volunteer.events` through the outbox.
public enum VolunteerMatchingService {
    public static let name = "volunteer-matching"

    /// Versioned SQL applied into the schema at start, after the shared messaging tables.
    public static let migrations: [Migration] = VolunteerSchema.migrations

    public static func descriptor(settings: VolunteerSettings = VolunteerSettings(), clock: @escaping @Sendable () -> Date = Date.init) -> ServiceDescriptor {
        // Routes and workers share one candidate index per start.
        let directories = Mutex<VolunteerDirectory?>(nil)
        let directory = { @Sendable (dependencies: ServiceDependencies) -> VolunteerDirectory in
            directories.withLock { existing in
                if let existing { return existing }
                let made = VolunteerDirectory(
                    database: dependencies.database, timeZone: settings.timeZone, interval: settings.indexRefreshInterval, logger: dependencies.logger)
                existing = made
                return made
            }
        }
        return ServiceDescriptor(
            name: name, schema: "volunteer_matching", migrations: migrations,
            consumers: [
                ConsumerDescriptor(topics: [Topic.registryEvents.name], groupSuffix: "-registry-projection") { _ in RegistryProjection() },
                ConsumerDescriptor(topics: [Topic.districtInbound.name], groupSuffix: "-district-ingress") { dependencies in
                    NeedIngress(timeZone: settings.timeZone, clock: clock, logger: dependencies.logger)
                },
            ],
            openAPI: VolunteerOpenAPI.document,
            routes: { api, dependencies in
                VolunteerAPI(database: dependencies.database, directory: directory(dependencies), logger: dependencies.logger, clock: clock).register(on: api)
            },
            workers: { dependencies in
                let index = directory(dependencies)
                return [
                    index,
                    OfferDispatcher(
                        database: dependencies.database, directory: index, clock: clock, interval: settings.dispatchInterval, logger: dependencies.logger),
                    ReminderScheduler(database: dependencies.database, lead: settings.reminderLead, clock: clock, logger: dependencies.logger),
                ]
            })
    }

    public static var descriptor: ServiceDescriptor { descriptor() }

    public static func main() async -> Never {
        var environment = EnvironmentReader()
        let settings = VolunteerSettings(reading: &environment)
        await ServiceHost.main(descriptor(settings: settings), settingProblems: environment.problems)
    }
}

/// The volunteer-matching service's own settings.
public struct VolunteerSettings: Sendable {
    /// `VOLUNTEER_TIME_ZONE` (default `Asia/Shanghai`): where volunteers' weekly slots and months are.
    public var timeZone: TimeZone
    /// `OFFER_DISPATCH_INTERVAL_SECONDS` (default 5): how often offers are expired and needs asked again.
    public var dispatchInterval: Duration
    /// `INDEX_REFRESH_INTERVAL_SECONDS` (default 2): how often the candidate index loads changed volunteers.
    public var indexRefreshInterval: Duration
    /// `REMINDER_LEAD_MINUTES` (default 1440): how long before a service its reminder goes out.
    public var reminderLead: TimeInterval

    public static let variables = ["VOLUNTEER_TIME_ZONE", "OFFER_DISPATCH_INTERVAL_SECONDS", "INDEX_REFRESH_INTERVAL_SECONDS", "REMINDER_LEAD_MINUTES"]

    public init(
        timeZone: TimeZone = TimeZone(identifier: "Asia/Shanghai")!, dispatchInterval: Duration = .seconds(5), indexRefreshInterval: Duration = .seconds(2),
        reminderLead: TimeInterval = 24 * 3600
    ) {
        self.timeZone = timeZone
        self.dispatchInterval = dispatchInterval
        self.indexRefreshInterval = indexRefreshInterval
        self.reminderLead = reminderLead
    }

    public init(reading environment: inout EnvironmentReader) {
        let zone = environment.string("VOLUNTEER_TIME_ZONE", default: "Asia/Shanghai")
        if let timeZone = TimeZone(identifier: zone) {
            self.timeZone = timeZone
        } else {
            environment.record(ConfigurationProblem(variable: "VOLUNTEER_TIME_ZONE", problem: "must be an IANA time zone such as Asia/Shanghai, got '\(zone)'"))
            self.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        }
        dispatchInterval = .seconds(environment.integer("OFFER_DISPATCH_INTERVAL_SECONDS", default: 5, range: 1...3600))
        indexRefreshInterval = .seconds(environment.integer("INDEX_REFRESH_INTERVAL_SECONDS", default: 2, range: 1...600))
        reminderLead = TimeInterval(environment.integer("REMINDER_LEAD_MINUTES", default: 1440, range: 5...10080) * 60)
    }
}
