import BiddingCore
import Contracts
import Foundation
import Kafka
import ServiceLifecycle
import ServiceRuntime
import Storage

/// Government purchase of services: projects, tenders, sealed bids, random expert panels, evaluation,
/// contracts, milestones and payments.
///
/// Owns schema `bidding`: the read model of the registry's places, organisations (eligibility) and
/// experts (fields, affiliations), fed by `registry.events`; projects; tenders with every transition,
/// questions and complaints; sealed bids and every announced hash; panel draws; scores and score
/// sheets; contracts, milestones, payments and performance evaluations. Serves `/api/v1` and the
/// public OCDS feed under `/public/ocds`; runs the tender scheduler; publishes on `bidding.events`
/// through the outbox.
public enum BiddingService {
    public static let name = "bidding"

    /// Versioned SQL applied into the schema at start, after the shared messaging tables.
    public static let migrations: [Migration] = BiddingSchema.migrations

    public static func descriptor(settings: BiddingSettings, clock: @escaping @Sendable () -> Date = Date.init) -> ServiceDescriptor {
        let seal = BidSeal(secret: settings.sealingKey)
        let api: @Sendable (ServiceDependencies) -> BiddingAPI = { dependencies in
            BiddingAPI(database: dependencies.database, seal: seal, ocidPrefix: settings.ocidPrefix, logger: dependencies.logger, clock: clock)
        }
        return ServiceDescriptor(
            name: name, schema: "bidding", migrations: migrations,
            consumers: [
                ConsumerDescriptor(topics: [Topic.registryEvents.name], groupSuffix: "-registry-projection") { _ in RegistryProjection() }
            ],
            openAPI: BiddingOpenAPI.document,
            routes: { group, dependencies in api(dependencies).register(on: group) },
            publicRoutes: { group, dependencies in api(dependencies).registerPublic(on: group) },
            workers: { dependencies in
                [
                    TenderScheduler(
                        database: dependencies.database, desk: EvaluationDesk(logger: dependencies.logger, seal: seal), clock: clock,
                        interval: settings.schedulerInterval, logger: dependencies.logger)
                ]
            })
    }

    /// With a throwaway sealing key: for documents and tests that never seal a bid.
    public static var descriptor: ServiceDescriptor { descriptor(settings: BiddingSettings(sealingKey: String(repeating: "s", count: 32))) }

    public static func main() async -> Never {
        var environment = EnvironmentReader()
        let settings = BiddingSettings(reading: &environment)
        await ServiceHost.main(descriptor(settings: settings), settingProblems: environment.problems)
    }
}

/// The bidding service's own settings.
public struct BiddingSettings: Sendable {
    /// `BID_SEALING_KEY` (required, 32+ characters): the secret every tender's sealing key is derived
    /// from. Kept out of the database, so a database reader cannot open a bid before its deadline.
    /// Never change it while tenders are open: their bids could not be opened.
    public var sealingKey: String
    /// `TENDER_SCHEDULER_INTERVAL_SECONDS` (default 15): how often deadlines are checked.
    public var schedulerInterval: Duration
    /// `OCDS_OCID_PREFIX` (default `ocds-cgov00`): the city's registered OCDS prefix.
    public var ocidPrefix: String

    public static let variables = ["BID_SEALING_KEY", "TENDER_SCHEDULER_INTERVAL_SECONDS", "OCDS_OCID_PREFIX"]

    public init(sealingKey: String, schedulerInterval: Duration = .seconds(15), ocidPrefix: String = "ocds-cgov00") {
        self.sealingKey = sealingKey
        self.schedulerInterval = schedulerInterval
        self.ocidPrefix = ocidPrefix
    }

    public init(reading environment: inout EnvironmentReader) {
        sealingKey = environment.secret("BID_SEALING_KEY", minimumLength: 32)
        schedulerInterval = .seconds(environment.integer("TENDER_SCHEDULER_INTERVAL_SECONDS", default: 15, range: 1...3600))
        ocidPrefix = environment.string("OCDS_OCID_PREFIX", default: "ocds-cgov00")
        if ocidPrefix.range(of: "^ocds-[a-z0-9]{6}$", options: .regularExpression) == nil {
            environment.record(ConfigurationProblem(variable: "OCDS_OCID_PREFIX", problem: "must be ocds- and six lower-case letters or digits, got '\(ocidPrefix)'"))
        }
    }
}
