import Foundation
import Kafka
import Logging
import Storage

/// Everything a service reads from its environment, validated once at start.
public struct RuntimeConfiguration: Sendable {
    public enum LogFormat: String, CaseIterable, Sendable { case json, text }
    public enum LogLevel: String, CaseIterable, Sendable {
        case trace, debug, info, notice, warning, error, critical
        var level: Logger.Level { Logger.Level(rawValue: rawValue) ?? .info }
    }

    public var serviceName: String
    public var httpHost: String
    public var httpPort: Int
    public var logLevel: Logger.Level
    public var logFormat: LogFormat
    public var database: DatabaseConfig
    public var kafka: KafkaConfig
    public var jwtSecret: String
    public var startupTimeout: Duration
    public var createTopics: Bool
    public var consumerBatchSize: Int
    public var relayBatchSize: Int
    /// How long a partition may hold records without moving before readiness calls it stalled.
    public var consumerStallAfter: Duration

    /// The variables the runtime reads (the deployment files are checked against this list).
    public static let variables = [
        "HTTP_HOST", "HTTP_PORT", "LOG_LEVEL", "LOG_FORMAT",
        "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "POSTGRES_SCHEMA",
        "POSTGRES_TLS", "POSTGRES_MAX_CONNECTIONS",
        "KAFKA_BOOTSTRAP_SERVERS", "AUTH_JWT_SECRET", "STARTUP_TIMEOUT_SECONDS", "KAFKA_CREATE_TOPICS_ON_START",
        "CONSUMER_BATCH_SIZE", "RELAY_BATCH_SIZE", "CONSUMER_STALL_SECONDS",
    ]

    /// Variables starting with `KAFKA_` that are ours, not librdkafka's.
    static let ownKafkaVariables: Set<String> = ["KAFKA_CREATE_TOPICS_ON_START"]

    public static func load(service: String, schema: String, environment: [String: String]) throws(ConfigurationErrors) -> RuntimeConfiguration {
        var env = EnvironmentReader(environment)
        let host = env.string("HTTP_HOST", default: "127.0.0.1")
        let port = env.integer("HTTP_PORT", default: 8080, range: 0...65535)
        let level = env.choice("LOG_LEVEL", default: LogLevel.info).level
        let format = env.choice("LOG_FORMAT", default: LogFormat.json)

        enum TLSMode: String, CaseIterable { case disable, require }
        let schemaName = env.string("POSTGRES_SCHEMA", default: schema)
        if !DatabaseConfig.isValidSchemaName(schemaName) {
            env.record(ConfigurationProblem(variable: "POSTGRES_SCHEMA", problem: "must be a lower-case identifier (a-z, 0-9, _), got '\(schemaName)'"))
        }
        let database = DatabaseConfig(
            host: env.string("POSTGRES_HOST"),
            port: env.integer("POSTGRES_PORT", default: 5432, range: 1...65535),
            username: env.string("POSTGRES_USER"),
            password: env.secret("POSTGRES_PASSWORD", minimumLength: 1),
            database: env.string("POSTGRES_DB"),
            schema: schemaName,
            requireTLS: env.choice("POSTGRES_TLS", default: TLSMode.disable) == .require,
            maxConnections: env.integer("POSTGRES_MAX_CONNECTIONS", default: 10, range: 1...500))

        var kafka = KafkaConfig()
        do {
            kafka = try KafkaConfig.fromEnvironment(environment.filter { !ownKafkaVariables.contains($0.key) })
        } catch {
            env.record(error)
        }
        let secret = env.secret("AUTH_JWT_SECRET", minimumLength: 32)
        let startup = env.integer("STARTUP_TIMEOUT_SECONDS", default: 30, range: 1...600)
        let createTopics = env.flag("KAFKA_CREATE_TOPICS_ON_START", default: false)
        let consumerBatch = env.integer("CONSUMER_BATCH_SIZE", default: 500, range: 1...10_000)
        let relayBatch = env.integer("RELAY_BATCH_SIZE", default: 2000, range: 1...10_000)
        let stall = env.integer("CONSUMER_STALL_SECONDS", default: 60, range: 5...86_400)
        guard env.problems.isEmpty else { throw ConfigurationErrors(service: service, problems: env.problems) }
        return RuntimeConfiguration(
            serviceName: service, httpHost: host, httpPort: port, logLevel: level, logFormat: format,
            database: database, kafka: kafka, jwtSecret: secret, startupTimeout: .seconds(startup),
            createTopics: createTopics, consumerBatchSize: consumerBatch, relayBatchSize: relayBatch,
            consumerStallAfter: .seconds(stall))
    }

    /// The configuration as it may be printed at start: secrets masked.
    public var printable: [String: String] {
        var out: [String: String] = [
            "service": serviceName, "http": "\(httpHost):\(httpPort)", "log.level": "\(logLevel)", "log.format": logFormat.rawValue,
            "postgres": "\(database.username)@\(database.host):\(database.port)/\(database.database) schema=\(database.schema) tls=\(database.requireTLS)",
            "postgres.password": "****", "auth.jwt_secret": "****", "startup.timeout": "\(startupTimeout)",
            "kafka.create_topics": "\(createTopics)", "consumer.batch": "\(consumerBatchSize)", "relay.batch": "\(relayBatchSize)",
            "consumer.stall_after": "\(consumerStallAfter)",
        ]
        for (key, value) in kafka.redacted { out["kafka.\(key)"] = value }
        return out
    }
}
