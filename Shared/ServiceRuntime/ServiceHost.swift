import Contracts
import Foundation
import Hummingbird
import Kafka
import Logging
import Messaging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Storage

/// What a service plugs into the shared runtime.
public struct ServiceDescriptor: Sendable {
    public var name: String
    /// Default schema (overridable with `POSTGRES_SCHEMA`).
    public var schema: String
    public var migrations: [Migration]
    public var consumers: [ConsumerDescriptor]
    public var openAPI: String
    public var routes: @Sendable (RouterGroup<AppContext>, ServiceDependencies) -> Void
    /// Routes anyone may read without a token, under `/public` (open-data feeds).
    public var publicRoutes: @Sendable (RouterGroup<AppContext>, ServiceDependencies) -> Void
    /// Long-running work of the service's own (a deadline watcher, ...), run beside the consumers.
    public var workers: @Sendable (ServiceDependencies) -> [any Service]

    public init(
        name: String, schema: String, migrations: [Migration], consumers: [ConsumerDescriptor] = [], openAPI: String,
        routes: @escaping @Sendable (RouterGroup<AppContext>, ServiceDependencies) -> Void = { _, _ in },
        publicRoutes: @escaping @Sendable (RouterGroup<AppContext>, ServiceDependencies) -> Void = { _, _ in },
        workers: @escaping @Sendable (ServiceDependencies) -> [any Service] = { _ in [] }
    ) {
        self.publicRoutes = publicRoutes
        self.name = name
        self.schema = schema
        self.migrations = migrations
        self.consumers = consumers
        self.openAPI = openAPI
        self.routes = routes
        self.workers = workers
    }
}

extension ServiceDescriptor {
    /// The shared messaging and HTTP tables, then the service's own.
    public var allMigrations: [Migration] { MessagingSchema.migrations + RuntimeSchema.migrations + migrations }
}

/// A topic subscription of a service and the handler that applies it.
public struct ConsumerDescriptor: Sendable {
    public var topics: [String]
    /// Appended to the service name to make the consumer group id.
    public var groupSuffix: String
    public var makeHandler: @Sendable (ServiceDependencies) -> any InboxHandler

    public init(topics: [String], groupSuffix: String, makeHandler: @escaping @Sendable (ServiceDependencies) -> any InboxHandler) {
        self.topics = topics
        self.groupSuffix = groupSuffix
        self.makeHandler = makeHandler
    }
}

/// What routes and handlers get to work with.
public struct ServiceDependencies: Sendable {
    public var configuration: RuntimeConfiguration
    public var database: Database
    public var producer: KafkaProducer
    public var authority: TokenAuthority
    public var logger: Logger

    public init(configuration: RuntimeConfiguration, database: Database, producer: KafkaProducer, authority: TokenAuthority, logger: Logger) {
        self.configuration = configuration
        self.database = database
        self.producer = producer
        self.authority = authority
        self.logger = logger
    }
}

/// Why a service could not start; each maps to a distinct exit code (sysexits.h) so an orchestrator
/// and an operator can tell a bad deployment from an unreachable dependency.
public enum StartupFailure: Error, CustomStringConvertible {
    case configuration(ConfigurationErrors)
    case databaseUnreachable(host: String, port: Int, waited: Duration, lastError: String)
    case migration(String)
    case kafkaUnreachable(bootstrap: String, reason: String)
    case kafka(String)

    public var exitCode: Int32 {
        switch self {
        case .configuration: 78  // EX_CONFIG
        case .databaseUnreachable, .kafkaUnreachable: 69  // EX_UNAVAILABLE
        case .migration, .kafka: 70  // EX_SOFTWARE
        }
    }

    public var description: String {
        switch self {
        case .configuration(let errors): errors.description
        case .databaseUnreachable(let host, let port, let waited, let lastError):
            "PostgreSQL at \(host):\(port) did not answer within \(waited): \(lastError)"
        case .migration(let reason): "database migration failed: \(reason)"
        case .kafkaUnreachable(let bootstrap, let reason): "Kafka brokers \(bootstrap) did not answer: \(reason)"
        case .kafka(let reason): "Kafka client could not start: \(reason)"
        }
    }
}

/// Runs a service: configuration, logging, metrics, migrations, then the lifecycle group
/// `[producer, relay, consumers…, http]` with PostgreSQL started before and stopped after all of them.
/// SIGTERM or SIGINT stops intake (HTTP first), lets consumers finish and commit their batch, lets the
/// relay finish its round, flushes the producer, and exits 0.
public enum ServiceHost {
    /// Makes the event loops that carry the service's HTTP and PostgreSQL traffic run its tasks too.
    /// Otherwise every query's answer hops from an event loop thread to Swift's own pool and back,
    /// which cost the mediation service more CPU than its own work under load. Blocking librdkafka
    /// calls stay on their own threads (see `BlockingLane`), so nothing blocks a loop. Call it first
    /// thing in `main.swift`, on the main thread, before any task starts.
    public static func runTasksOnEventLoops() {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    public static func main(_ descriptor: ServiceDescriptor, settingProblems: [ConfigurationProblem] = []) async -> Never {
        let code = await run(descriptor, environment: ProcessInfo.processInfo.environment, settingProblems: settingProblems)
        exit(code)
    }

    /// `settingProblems` are what the service found wrong with its own settings; they are reported
    /// together with the runtime's, so an operator sees everything wrong with a deployment at once.
    public static func run(
        _ descriptor: ServiceDescriptor, environment: [String: String], settingProblems: [ConfigurationProblem] = []
    ) async -> Int32 {
        let configuration: RuntimeConfiguration
        do throws(ConfigurationErrors) {
            configuration = try RuntimeConfiguration.load(service: descriptor.name, schema: descriptor.schema, environment: environment)
            if !settingProblems.isEmpty { throw ConfigurationErrors(service: descriptor.name, problems: []) }
        } catch {
            let errors = ConfigurationErrors(service: descriptor.name, problems: error.problems + settingProblems)
            FileHandle.standardError.write(Data((errors.description + "\n").utf8))
            return StartupFailure.configuration(errors).exitCode
        }
        LoggingSetup.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        MetricsSetup.bootstrap()
        var logger = Logger(label: descriptor.name)
        logger.logLevel = configuration.logLevel
        logger[metadataKey: "service"] = "\(descriptor.name)"
        logger.info(
            "starting", metadata: configuration.printable.mapValues { .string($0) }.merging(["kafka.library": "\(KafkaConfig.libraryVersion)"]) { a, _ in a })
        do {
            try await serve(descriptor, configuration: configuration, logger: logger)
            logger.info("stopped cleanly")
            return 0
        } catch let failure as StartupFailure {
            logger.critical("cannot start", metadata: ["reason": "\(failure.description)"])
            FileHandle.standardError.write(Data("\(descriptor.name): cannot start: \(failure.description)\n".utf8))
            return failure.exitCode
        } catch {
            logger.critical("stopped after a failure", metadata: ["error": "\(String(reflecting: error))"])
            FileHandle.standardError.write(Data("\(descriptor.name): stopped after a failure: \(error)\n".utf8))
            return 1
        }
    }

    static func serve(_ descriptor: ServiceDescriptor, configuration: RuntimeConfiguration, logger: Logger) async throws {
        let database = Database(config: configuration.database, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }

            try await migrate(database, descriptor: descriptor, configuration: configuration)
            try await prepareKafka(configuration: configuration, logger: logger)

            let producer: KafkaProducer
            do {
                producer = try KafkaProducer(config: configuration.kafka, logger: logger)
            } catch {
                throw StartupFailure.kafka("\(error)")
            }
            let authority = await TokenAuthority(secret: configuration.jwtSecret)
            let dependencies = ServiceDependencies(
                configuration: configuration, database: database, producer: producer, authority: authority, logger: logger)

            var relayConfiguration = OutboxRelay.Configuration()
            relayConfiguration.batchSize = configuration.relayBatchSize
            let relay = OutboxRelay(database: database, producer: producer, configuration: relayConfiguration, logger: logger)

            let health = ConsumerHealth(stallAfter: configuration.consumerStallAfter)
            var consumers: [any Service] = []
            for consumer in descriptor.consumers {
                let groupID = "\(descriptor.name)\(consumer.groupSuffix)"
                let kafkaConsumer: KafkaConsumer
                do {
                    kafkaConsumer = try KafkaConsumer(
                        config: consumerConfig(configuration.kafka, groupID: groupID), groupID: groupID, topics: consumer.topics, logger: logger)
                } catch {
                    throw StartupFailure.kafka("\(error)")
                }
                var inboxConfiguration = InboxConsumer.Configuration()
                inboxConfiguration.batchSize = configuration.consumerBatchSize
                consumers.append(
                    InboxConsumer(
                        database: database, consumer: kafkaConsumer,
                        deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: groupID, logger: logger),
                        handler: consumer.makeHandler(dependencies), configuration: inboxConfiguration, health: health, logger: logger))
            }

            let router = Self.router(
                for: descriptor, dependencies: dependencies, consumers: health,
                readiness: [
                    ReadinessCheck(name: "postgres") { await database.ping(timeout: .seconds(1)) },
                    ReadinessCheck(name: "kafka") { (try? await producer.checkConnection(timeout: .seconds(1))) != nil },
                ])
            let app = Application(
                router: router,
                configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: descriptor.name),
                logger: logger)

            let services: [any Service] = [producer, relay] + consumers + descriptor.workers(dependencies) + [app]
            var groupConfiguration = ServiceGroupConfiguration(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
            // A stop that cannot finish (a broker gone for good) ends in cancellation, not a hang.
            groupConfiguration.maximumGracefulShutdownDuration = .seconds(25)
            let serviceGroup = ServiceGroup(configuration: groupConfiguration)
            try await serviceGroup.run()
        }
    }

    /// The settings of one consumer: its own client id unless the operator set one. Brokers tell group
    /// members apart by it; with the library's shared default, two consumers of one process were one
    /// member to the local broker and each group got half of its partitions.
    public static func consumerConfig(_ base: KafkaConfig, groupID: String) -> KafkaConfig {
        var config = base
        if config.properties["client.id"] == nil {
            config.properties["client.id"] = "\(groupID)-\(ProcessInfo.processInfo.processIdentifier)"
        }
        return config
    }

    /// The service's router: the shared operational routes plus the descriptor's API routes.
    public static func router(
        for descriptor: ServiceDescriptor, dependencies: ServiceDependencies, consumers: ConsumerHealth? = nil, readiness: [ReadinessCheck]
    ) -> Router<AppContext> {
        buildRouter(
            service: descriptor.name, openAPI: descriptor.openAPI, readiness: readiness, authority: dependencies.authority,
            consumers: consumers, publicRoutes: { descriptor.publicRoutes($0, dependencies) }
        ) { api in
            ParkedRecordRoutes(
                repository: ParkedRecordRepository(database: dependencies.database),
                topics: Set(descriptor.consumers.flatMap(\.topics)),
                groups: Set(descriptor.consumers.map { "\(descriptor.name)\($0.groupSuffix)" })
            ).add(to: api)
            descriptor.routes(api, dependencies)
        }
    }

    static func migrate(_ database: Database, descriptor: ServiceDescriptor, configuration: RuntimeConfiguration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: configuration.startupTimeout)
        var lastError = "no answer"
        while clock.now < deadline {
            guard await database.ping(timeout: min(.seconds(2), deadline - clock.now)) else {
                lastError = "connection refused or timed out"
                try await Task.sleep(for: .milliseconds(500))
                continue
            }
            do {
                try await MigrationRunner(database: database).apply(descriptor.allMigrations)
                return
            } catch let error as MigrationError {
                throw StartupFailure.migration(error.description)
            } catch {
                lastError = String(reflecting: error)
                try await Task.sleep(for: .milliseconds(500))
            }
        }
        throw StartupFailure.databaseUnreachable(
            host: configuration.database.host, port: configuration.database.port, waited: configuration.startupTimeout, lastError: lastError)
    }

    static func prepareKafka(configuration: RuntimeConfiguration, logger: Logger) async throws {
        do {
            try await KafkaAdmin.checkReachable(config: configuration.kafka, logger: logger, timeout: configuration.startupTimeout)
        } catch .unreachable(let bootstrap, let reason) {
            throw StartupFailure.kafkaUnreachable(bootstrap: bootstrap, reason: reason)
        } catch {
            throw StartupFailure.kafka("\(error)")
        }
        guard configuration.createTopics else { return }
        let specs = Topic.allCases.flatMap { topic in
            [KafkaAdmin.TopicSpec(name: topic.name, partitions: topic.partitions),
             KafkaAdmin.TopicSpec(name: topic.deadLetter, partitions: 1)]
        }
        do {
            try await KafkaAdmin.ensureTopics(specs, config: configuration.kafka, logger: logger)
        } catch {
            throw StartupFailure.kafka("\(error)")
        }
    }
}
