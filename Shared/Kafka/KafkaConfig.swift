import Foundation
import CRdKafka
import Logging

/// librdkafka settings, passed through as they are so the same binary talks to the local broker and to
/// a production cluster with TLS and SASL.
///
/// From the environment, every `KAFKA_*` variable becomes a librdkafka property: strip the prefix,
/// lower-case, `_` becomes `.` (`KAFKA_BOOTSTRAP_SERVERS` → `bootstrap.servers`,
/// `KAFKA_SASL_MECHANISMS` → `sasl.mechanisms`, `KAFKA_SESSION_TIMEOUT_MS` → `session.timeout.ms`).
public struct KafkaConfig: Sendable, Hashable {
    /// Settings the operator gave; a key librdkafka does not know is an error.
    public var properties: [String: String]
    /// Tuning the code prefers; skipped with a log line when the linked librdkafka is too old to know it.
    public var preferred: [String: String]

    public init(properties: [String: String] = [:], preferred: [String: String] = [:]) {
        self.properties = properties
        self.preferred = preferred
    }

    public init(bootstrapServers: String) {
        self.init(properties: ["bootstrap.servers": bootstrapServers])
    }

    public static let environmentPrefix = "KAFKA_"

    /// Reads every `KAFKA_*` variable. Fails when `KAFKA_BOOTSTRAP_SERVERS` is missing or empty.
    public static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationProblem) -> KafkaConfig {
        var properties: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix(environmentPrefix) {
            let key = name.dropFirst(environmentPrefix.count).lowercased().replacingOccurrences(of: "_", with: ".")
            guard !key.isEmpty else { continue }
            properties[key] = value
        }
        guard let servers = properties["bootstrap.servers"], !servers.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigurationProblem(
                variable: "KAFKA_BOOTSTRAP_SERVERS",
                problem: "is required: a comma-separated list of host:port (e.g. 127.0.0.1:9092)")
        }
        return KafkaConfig(properties: properties)
    }

    public var bootstrapServers: String { properties["bootstrap.servers"] ?? "" }

    /// A copy with `overrides` applied on top of the preferred defaults, but never over what the operator set.
    public func with(defaults: [String: String]) -> KafkaConfig {
        var copy = self
        for (key, value) in defaults where copy.properties[key] == nil {
            copy.preferred[key] = value
        }
        return copy
    }

    /// A copy in which `values` override everything (used for settings the code depends on, e.g. idempotence).
    public func forcing(_ values: [String: String]) -> KafkaConfig {
        var copy = self
        for (key, value) in values {
            copy.properties[key] = value
            copy.preferred[key] = nil
        }
        return copy
    }

    /// Keys librdkafka only reads in a consumer; a producer warns about each, so they are left out of it.
    static let consumerOnlyKeys: Set<String> = [
        "group.id", "group.instance.id", "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms",
        "auto.offset.reset", "enable.auto.commit", "auto.commit.interval.ms", "enable.auto.offset.store",
        "partition.assignment.strategy", "group.protocol", "group.remote.assignor", "isolation.level",
        "fetch.wait.max.ms", "fetch.min.bytes", "fetch.max.bytes", "fetch.message.max.bytes", "fetch.error.backoff.ms",
        "fetch.queue.backoff.ms", "queued.min.messages", "queued.max.messages.kbytes", "enable.partition.eof",
        "check.crcs", "allow.auto.create.topics", "client.rack",
    ]

    /// Keys librdkafka only reads in a producer.
    static let producerOnlyKeys: Set<String> = [
        "enable.idempotence", "acks", "request.required.acks", "linger.ms", "queue.buffering.max.ms",
        "queue.buffering.max.messages", "queue.buffering.max.kbytes", "batch.num.messages", "batch.size",
        "message.timeout.ms", "delivery.timeout.ms", "compression.type", "compression.codec", "retries",
        "message.send.max.retries", "retry.backoff.ms", "transactional.id", "partitioner", "sticky.partitioning.linger.ms",
    ]

    /// The same settings without those only the other role reads.
    func only(for role: ClientRole) -> KafkaConfig {
        let excluded = role == .producer ? Self.consumerOnlyKeys : Self.producerOnlyKeys
        return KafkaConfig(
            properties: properties.filter { !excluded.contains($0.key) },
            preferred: preferred.filter { !excluded.contains($0.key) })
    }

    enum ClientRole { case producer, consumer }

    /// Settings safe to print: anything that looks like a secret is masked.
    public var redacted: [String: String] {
        var out: [String: String] = [:]
        for (key, value) in properties.merging(preferred, uniquingKeysWith: { a, _ in a }) {
            let secret = ["password", "secret", "sasl.jaas", "key.pem", "token"].contains { key.contains($0) }
            out[key] = secret ? "****" : value
        }
        return out
    }

    /// Builds an `rd_kafka_conf_t`. The caller owns it until `rd_kafka_new` succeeds.
    func makeNativeConfiguration(logger: Logger) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw .configuration(key: key, reason: text(errorBuffer))
            }
        }
        for (key, value) in preferred.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count)
            if result == RD_KAFKA_CONF_UNKNOWN {
                logger.info("librdkafka does not know this tuning key; skipped", metadata: ["kafka.key": "\(key)"])
            } else if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw .configuration(key: key, reason: text(errorBuffer))
            }
        }
        return conf
    }

    /// The librdkafka version actually linked at run time (may differ from the headers built against).
    public static var libraryVersion: String { String(cString: rd_kafka_version_str()) }
}

/// A missing or malformed configuration value, named so the operator knows which variable to fix.
public struct ConfigurationProblem: Error, CustomStringConvertible, Sendable, Equatable {
    public var variable: String
    public var problem: String

    public init(variable: String, problem: String) {
        self.variable = variable
        self.problem = problem
    }

    public var description: String { "\(variable) \(problem)" }
}
