import Contracts
import Foundation
import Kafka
import MediationCore
import ServiceLifecycle
import ServiceRuntime
import Storage

/// People's mediation: dispute cases, their deadlines, routing and escalation.
///
/// Owns schema `mediation`: the read model of the registry's places and mediators (fed by
/// `registry.events`), dispute cases with parties, every transition and the stored deadline, the
/// deadline rules operators change, and the misses. Serves cases under `/api/v1`; runs the deadline
/// watcher; publishes on `mediation.events` through the outbox.
public enum MediationService {
    public static let name = "mediation"

    /// Versioned SQL applied into the schema at start, after the shared messaging tables.
    public static let migrations: [Migration] = MediationSchema.migrations

    public static func descriptor(settings: MediationSettings = MediationSettings(), clock: @escaping @Sendable () -> Date = Date.init) -> ServiceDescriptor {
        ServiceDescriptor(
            name: name, schema: "mediation", migrations: migrations,
            consumers: [
                ConsumerDescriptor(topics: [Topic.registryEvents.name], groupSuffix: "-registry-projection") { _ in RegistryProjection() },
                ConsumerDescriptor(topics: [Topic.districtInbound.name], groupSuffix: "-district-ingress") { dependencies in
                    DisputeIngress(timeZone: settings.timeZone, clock: clock, logger: dependencies.logger)
                },
            ],
            openAPI: MediationOpenAPI.document,
            routes: { api, dependencies in
                MediationAPI(
                    database: dependencies.database, store: CaseStore(logger: dependencies.logger, timeZone: settings.timeZone),
                    logger: dependencies.logger, clock: clock
                ).register(on: api)
            },
            workers: { dependencies in
                [
                    DeadlineWatcher(
                        database: dependencies.database, timeZone: settings.timeZone, clock: clock, interval: settings.watchInterval,
                        logger: dependencies.logger)
                ]
            })
    }

    public static var descriptor: ServiceDescriptor { descriptor() }

    public static func main() async -> Never {
        var environment = EnvironmentReader()
        let settings = MediationSettings(reading: &environment)
        await ServiceHost.main(descriptor(settings: settings), settingProblems: environment.problems)
    }
}

/// The mediation service's own settings.
public struct MediationSettings: Sendable {
    /// `MEDIATION_TIME_ZONE` (default `Asia/Shanghai`): where "midnight" is for "not overnight".
    public var timeZone: TimeZone
    /// `DEADLINE_WATCH_INTERVAL_SECONDS` (default 30): how often the watcher looks for overdue cases.
    public var watchInterval: Duration

    public static let variables = ["MEDIATION_TIME_ZONE", "DEADLINE_WATCH_INTERVAL_SECONDS"]

    public init(timeZone: TimeZone = TimeZone(identifier: "Asia/Shanghai")!, watchInterval: Duration = .seconds(30)) {
        self.timeZone = timeZone
        self.watchInterval = watchInterval
    }

    public init(reading environment: inout EnvironmentReader) {
        let zone = environment.string("MEDIATION_TIME_ZONE", default: "Asia/Shanghai")
        if let timeZone = TimeZone(identifier: zone) {
            self.timeZone = timeZone
        } else {
            environment.record(ConfigurationProblem(variable: "MEDIATION_TIME_ZONE", problem: "must be an IANA time zone such as Asia/Shanghai, got '\(zone)'"))
            self.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        }
        watchInterval = .seconds(environment.integer("DEADLINE_WATCH_INTERVAL_SECONDS", default: 30, range: 1...3600))
    }
}
