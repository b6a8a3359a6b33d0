import CRdKafka

/// Everything that can go wrong talking to Kafka, with enough context to act on at 3 a.m.
public enum KafkaError: Error, CustomStringConvertible, Sendable {
    /// A configuration key or value librdkafka refused.
    case configuration(key: String, reason: String)
    /// `rd_kafka_new` failed (bad combination of settings, missing SASL support, ...).
    case clientCreation(reason: String)
    /// The message could not even be queued (unknown partition, message too large, ...).
    case enqueue(topic: String, code: Int32, reason: String)
    /// The broker did not acknowledge the message; librdkafka has given up retrying.
    case delivery(topic: String, code: Int32, reason: String)
    /// A consumer-side error that ends consumption (fatal or authorisation errors).
    case consume(code: Int32, reason: String)
    /// A commit of stored offsets failed.
    case commit(code: Int32, reason: String)
    /// Brokers did not answer within the timeout.
    case unreachable(bootstrapServers: String, reason: String)
    /// An admin request (create topics) failed.
    case admin(topic: String, code: Int32, reason: String)
    /// The client is shutting down or closed.
    case closed

    public var description: String {
        switch self {
        case .configuration(let key, let reason): "Kafka setting '\(key)' rejected: \(reason)"
        case .clientCreation(let reason): "Kafka client could not be created: \(reason)"
        case .enqueue(let topic, let code, let reason): "message for '\(topic)' not queued (\(code)): \(reason)"
        case .delivery(let topic, let code, let reason): "message for '\(topic)' not delivered (\(code)): \(reason)"
        case .consume(let code, let reason): "Kafka consumer failed (\(code)): \(reason)"
        case .commit(let code, let reason): "Kafka offset commit failed (\(code)): \(reason)"
        case .unreachable(let servers, let reason): "Kafka brokers \(servers) unreachable: \(reason)"
        case .admin(let topic, let code, let reason): "Kafka admin request for '\(topic)' failed (\(code)): \(reason)"
        case .closed: "Kafka client is closed"
        }
    }

    static func reason(_ code: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2str(code))
    }
}
