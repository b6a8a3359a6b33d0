import CRdKafka
import Logging

/// The few admin operations the suite needs: make sure its topics exist, and check reachability.
public enum KafkaAdmin {
    public struct TopicSpec: Sendable, Hashable {
        public var name: String
        public var partitions: Int32
        public var replicationFactor: Int32
        public var settings: [String: String]

        public init(name: String, partitions: Int32, replicationFactor: Int32 = 1, settings: [String: String] = [:]) {
            self.name = name
            self.partitions = partitions
            self.replicationFactor = replicationFactor
            self.settings = settings
        }
    }

    /// Creates the topics that do not exist yet; an existing topic is left as it is.
    public static func ensureTopics(
        _ topics: [TopicSpec], config: KafkaConfig, logger: Logger, timeout: Duration = .seconds(15)
    ) async throws(KafkaError) {
        guard !topics.isEmpty else { return }
        let context = ClientContext(logger: logger)
        let pointer = try makeNativeClient(type: RD_KAFKA_PRODUCER, config: config.only(for: .producer), context: context) { _ in }
        let handle = NativeHandle(pointer: pointer)
        let lane = BlockingLane(label: "kafka.admin")
        let result = await lane.run { () -> Result<Void, KafkaError> in
            defer {
                rd_kafka_destroy(handle.pointer)
                releaseContext(of: handle.pointer)
            }
            return createTopics(topics, handle: handle.pointer, timeoutMs: timeout.milliseconds)
        }
        try result.get()
    }

    /// Whether the brokers answer a metadata request within `timeout`.
    public static func checkReachable(config: KafkaConfig, logger: Logger, timeout: Duration) async throws(KafkaError) {
        let context = ClientContext(logger: logger)
        let pointer = try makeNativeClient(type: RD_KAFKA_PRODUCER, config: config.only(for: .producer), context: context) { _ in }
        let handle = NativeHandle(pointer: pointer)
        let code = await BlockingLane(label: "kafka.admin").run { () -> rd_kafka_resp_err_t in
            defer {
                rd_kafka_destroy(handle.pointer)
                releaseContext(of: handle.pointer)
            }
            return fetchMetadata(handle: handle.pointer, timeoutMs: timeout.milliseconds)
        }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw .unreachable(bootstrapServers: config.bootstrapServers, reason: KafkaError.reason(code))
        }
    }

    private static func createTopics(_ topics: [TopicSpec], handle: OpaquePointer, timeoutMs: Int32) -> Result<Void, KafkaError> {
        var errorBuffer = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for spec in topics {
            guard let topic = rd_kafka_NewTopic_new(spec.name, spec.partitions, spec.replicationFactor, &errorBuffer, errorBuffer.count) else {
                return .failure(.admin(topic: spec.name, code: -1, reason: text(errorBuffer)))
            }
            for (key, value) in spec.settings.sorted(by: { $0.key < $1.key }) {
                rd_kafka_NewTopic_set_config(topic, key, value)
            }
            newTopics.append(topic)
        }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMs, &errorBuffer, errorBuffer.count)
        rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, &errorBuffer, errorBuffer.count)
        newTopics.withUnsafeMutableBufferPointer { buffer in
            rd_kafka_CreateTopics(handle, buffer.baseAddress, buffer.count, options, queue)
        }
        guard let event = rd_kafka_queue_poll(queue, timeoutMs + 1000) else {
            return .failure(.admin(topic: topics.map(\.name).joined(separator: ","), code: -1, reason: "no answer in time"))
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        if eventError != RD_KAFKA_RESP_ERR_NO_ERROR {
            return .failure(.admin(topic: topics.map(\.name).joined(separator: ","), code: eventError.rawValue, reason: String(cString: rd_kafka_event_error_string(event))))
        }
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
            let results = rd_kafka_CreateTopics_result_topics(result, &count)
        else { return .success(()) }
        for index in 0..<count {
            let topicResult = results[index]
            let code = rd_kafka_topic_result_error(topicResult)
            if code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                let name = String(cString: rd_kafka_topic_result_name(topicResult))
                let reason = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? KafkaError.reason(code)
                return .failure(.admin(topic: name, code: code.rawValue, reason: reason))
            }
        }
        return .success(())
    }
}
