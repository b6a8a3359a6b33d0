import CRdKafka
import Logging
import Synchronization

/// A consumer-group member that hands out batches and commits offsets only when told the batch's effect
/// is durable (at-least-once; the inbox makes redelivery harmless).
///
/// Every librdkafka call that can block (poll, commit, close) runs on the consumer's own serial lane,
/// never on Swift's cooperative pool. Rebalances are handled in the callback: on revoke, offsets
/// stored so far are committed synchronously and the partitions released; offsets of a partition no
/// longer assigned are never stored, so a revoked partition is never committed past what was applied.
public final class KafkaConsumer: Sendable {
    private let handle: NativeHandle
    private let context: ClientContext
    private let lane: BlockingLane
    private let closed = Flag(false)
    public let groupID: String
    public let topics: [String]

    /// Settings the at-least-once contract rests on.
    public static func requiredSettings(groupID: String) -> [String: String] {
        [
            "group.id": groupID,
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "enable.partition.eof": "false",
        ]
    }

    public static let defaultSettings = [
        "auto.offset.reset": "earliest",
        // Bounded prefetch keeps memory flat when a backlog is deep.
        "queued.max.messages.kbytes": "16384",
        // librdkafka >= 2.1 otherwise backs off a full second between fetches of a deep backlog.
        "fetch.queue.backoff.ms": "5",
    ]

    public init(config: KafkaConfig, groupID: String, topics: [String], logger: Logger) throws(KafkaError) {
        var logger = logger
        logger[metadataKey: "kafka.group"] = "\(groupID)"
        let config = config.only(for: .consumer).with(defaults: Self.defaultSettings).forcing(Self.requiredSettings(groupID: groupID))
        let context = ClientContext(logger: logger)
        let pointer = try makeNativeClient(type: RD_KAFKA_CONSUMER, config: config, context: context) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { rk, code, partitions, _ in
                guard let rk else { return }
                handleRebalance(rk, code: code, partitions: partitions)
            }
            rd_kafka_conf_set_offset_commit_cb(conf) { rk, code, _, _ in
                guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
                // Nothing to commit is not an error; anything else is retried by the next commit.
                if code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR__NO_OFFSET {
                    let context = Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
                    context.logger.warning("kafka offset commit failed", metadata: ["kafka.error": "\(KafkaError.reason(code))"])
                }
            }
        }
        // Serve logs, errors and rebalances from the consumer queue we poll anyway.
        rd_kafka_poll_set_consumer(pointer)
        // No topics: a reader that assigns partitions itself (`assign`) and never joins the group.
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
        for topic in topics {
            rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        }
        let code = topics.isEmpty ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_subscribe(pointer, list)
        rd_kafka_topic_partition_list_destroy(list)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_destroy(pointer)
            releaseContext(of: pointer)
            throw .consume(code: code.rawValue, reason: KafkaError.reason(code))
        }
        self.handle = NativeHandle(pointer: pointer)
        self.context = context
        self.lane = BlockingLane(label: "kafka.consumer.\(groupID)")
        self.groupID = groupID
        self.topics = topics
        logger.info(
            "kafka consumer subscribed",
            metadata: ["kafka.topics": "\(topics.joined(separator: ","))", "kafka.library": "\(KafkaConfig.libraryVersion)"])
    }

    deinit {
        if !closed.value {
            rd_kafka_consumer_close(handle.pointer)
            rd_kafka_destroy(handle.pointer)
            releaseContext(of: handle.pointer)
        }
    }

    /// Waits up to `timeout` for the first record, then takes whatever else is already fetched, up to
    /// `maxMessages`. Returns an empty batch on timeout. Joining the group happens inside these polls.
    public func poll(maxMessages: Int, timeout: Duration) async throws(KafkaError) -> [ConsumedMessage] {
        guard !closed.value else { throw .closed }
        let handle = handle
        let logger = context.logger
        let closed = closed
        let result = await lane.run { () -> Result<[ConsumedMessage], KafkaError> in
            guard !closed.value else { return .failure(.closed) }
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: timeout)
            var batch: [ConsumedMessage] = []
            while batch.count < maxMessages {
                let wait = batch.isEmpty ? max(0, (deadline - clock.now).milliseconds) : 0
                guard let message = rd_kafka_consumer_poll(handle.pointer, wait) else {
                    if batch.isEmpty && clock.now < deadline { continue }
                    break
                }
                defer { rd_kafka_message_destroy(message) }
                let code = message.pointee.err
                if code == RD_KAFKA_RESP_ERR_NO_ERROR {
                    batch.append(copyMessage(message))
                } else if code == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    continue
                } else if code == RD_KAFKA_RESP_ERR__FATAL || isAuthorisationError(code) {
                    return .failure(.consume(code: code.rawValue, reason: KafkaError.reason(code)))
                } else {
                    // Transient (broker down, topic not yet created): librdkafka retries; keep polling.
                    logger.warning("kafka consume error", metadata: ["kafka.error": "\(KafkaError.reason(code))"])
                    if batch.isEmpty && clock.now >= deadline { break }
                }
            }
            return .success(batch)
        }
        return try result.get()
    }

    /// Records that `messages` are applied durably: stores the next offset per partition and commits.
    /// Partitions revoked since the batch was polled are skipped: their new owner re-reads them and
    /// the inbox drops what was already applied.
    public func commit(_ messages: [ConsumedMessage]) async throws(KafkaError) {
        guard !messages.isEmpty else { return }
        var next: [TopicPartition: Int64] = [:]
        for message in messages {
            let key = TopicPartition(topic: message.topic, partition: message.partition)
            next[key] = max(next[key] ?? 0, message.offset + 1)
        }
        let handle = handle
        let logger = context.logger
        let offsets = next
        let closed = closed
        let result = await lane.run { () -> Result<Void, KafkaError> in
            // Checked on the lane: close() destroys the handle on this same lane.
            guard !closed.value else { return .failure(.closed) }
            let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (partition, offset) in offsets {
                rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition).pointee.offset = offset
            }
            let stored = rd_kafka_offsets_store(handle.pointer, list)
            if stored != RD_KAFKA_RESP_ERR_NO_ERROR {
                for element in UnsafeBufferPointer(start: list!.pointee.elems, count: Int(list!.pointee.cnt))
                where element.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    logger.info(
                        "offset not stored for a partition no longer assigned",
                        metadata: ["kafka.partition": "\(String(cString: element.topic))[\(element.partition)]"])
                }
            }
            let code = rd_kafka_commit(handle.pointer, nil, 1)
            if code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR__NO_OFFSET {
                return .failure(.commit(code: code.rawValue, reason: KafkaError.reason(code)))
            }
            return .success(())
        }
        try result.get()
    }

    /// Partitions currently assigned to this member.
    public var assignment: Set<TopicPartition> {
        context.rebalance.withLock { $0.assigned }
    }

    /// How many assignments this member has received (rises with each rebalance).
    public var assignmentGeneration: Int {
        context.rebalance.withLock { $0.generation }
    }

    /// Records behind the end of each assigned partition, from cached watermarks (no broker round trip).
    public func lag() async -> [TopicPartition: Int64] {
        let handle = handle
        let assigned = assignment
        let closed = closed
        guard !assigned.isEmpty else { return [:] }
        return await lane.run { () -> [TopicPartition: Int64] in
            guard !closed.value else { return [:] }
            let list = rd_kafka_topic_partition_list_new(Int32(assigned.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for partition in assigned {
                rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)
            }
            rd_kafka_position(handle.pointer, list)
            var out: [TopicPartition: Int64] = [:]
            for element in UnsafeBufferPointer(start: list!.pointee.elems, count: Int(list!.pointee.cnt)) {
                var low: Int64 = -1
                var high: Int64 = -1
                let topic = String(cString: element.topic)
                guard rd_kafka_get_watermark_offsets(handle.pointer, topic, element.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                    let behind = ConsumerLag.records(highWatermark: high, lowWatermark: low, position: element.offset, committed: nil)
                else { continue }
                out[TopicPartition(topic: topic, partition: element.partition)] = behind
            }
            return out
        }
    }

    /// Reads the given partitions from the given offsets, outside any group (for a consumer made
    /// without topics): nothing is committed and no rebalance waits on it.
    public func assign(_ start: [TopicPartition: Int64]) async throws(KafkaError) {
        let handle = handle
        let code = await lane.run { () -> rd_kafka_resp_err_t in
            let list = rd_kafka_topic_partition_list_new(Int32(start.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for (partition, offset) in start {
                rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)?.pointee.offset = offset
            }
            return rd_kafka_assign(handle.pointer, list)
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else { throw .consume(code: code.rawValue, reason: KafkaError.reason(code)) }
    }

    /// The first and next offsets of every partition of `topic`, asked of the broker (not cached), so a
    /// reader can tell when it has seen everything written before it started.
    public func watermarks(of topic: String, timeout: Duration = .seconds(5)) async throws(KafkaError) -> [Int32: (low: Int64, high: Int64)] {
        let handle = handle
        let closed = closed
        let result = await lane.run { () -> Result<[Int32: (low: Int64, high: Int64)], KafkaError> in
            guard !closed.value else { return .failure(.closed) }
            guard let topicHandle = rd_kafka_topic_new(handle.pointer, topic, nil) else {
                return .failure(.admin(topic: topic, code: -1, reason: "topic handle not created"))
            }
            defer { rd_kafka_topic_destroy(topicHandle) }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(handle.pointer, 0, topicHandle, &metadata, timeout.milliseconds)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                return .failure(.admin(topic: topic, code: code.rawValue, reason: KafkaError.reason(code)))
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            guard metadata.pointee.topic_cnt == 1 else { return .failure(.admin(topic: topic, code: -1, reason: "no such topic")) }
            let described = metadata.pointee.topics[0]
            if described.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return .failure(.admin(topic: topic, code: described.err.rawValue, reason: KafkaError.reason(described.err)))
            }
            var out: [Int32: (low: Int64, high: Int64)] = [:]
            for partition in UnsafeBufferPointer(start: described.partitions, count: Int(described.partition_cnt)) {
                var low: Int64 = -1
                var high: Int64 = -1
                let answer = rd_kafka_query_watermark_offsets(handle.pointer, topic, partition.id, &low, &high, timeout.milliseconds)
                guard answer == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    return .failure(.admin(topic: topic, code: answer.rawValue, reason: KafkaError.reason(answer)))
                }
                out[partition.id] = (low, high)
            }
            return .success(out)
        }
        return try result.get()
    }

    /// Committed offsets per assigned partition (what a restarted member would resume from).
    public func committedOffsets(timeout: Duration = .seconds(5)) async throws(KafkaError) -> [TopicPartition: Int64] {
        let handle = handle
        let assigned = assignment
        let closed = closed
        let result = await lane.run { () -> Result<[TopicPartition: Int64], KafkaError> in
            guard !closed.value else { return .failure(.closed) }
            let list = rd_kafka_topic_partition_list_new(Int32(assigned.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for partition in assigned {
                rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)
            }
            let code = rd_kafka_committed(handle.pointer, list, timeout.milliseconds)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                return .failure(.commit(code: code.rawValue, reason: KafkaError.reason(code)))
            }
            var out: [TopicPartition: Int64] = [:]
            for element in UnsafeBufferPointer(start: list!.pointee.elems, count: Int(list!.pointee.cnt)) {
                out[TopicPartition(topic: String(cString: element.topic), partition: element.partition)] = element.offset
            }
            return .success(out)
        }
        return try result.get()
    }

    /// Leaves the group cleanly: revokes (committing stored offsets), then destroys the client.
    /// A consumer that just stopped polling would hold its partitions until the session timed out.
    public func close() async {
        guard !closed.exchange(true) else { return }
        let handle = handle
        await lane.run {
            rd_kafka_consumer_close(handle.pointer)
            rd_kafka_destroy(handle.pointer)
            releaseContext(of: handle.pointer)
        }
        context.logger.info("kafka consumer closed")
    }
}

private func isAuthorisationError(_ code: rd_kafka_resp_err_t) -> Bool {
    code == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED
        || code == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED
        || code == RD_KAFKA_RESP_ERR__AUTHENTICATION
}

private func copyMessage(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> ConsumedMessage {
    let raw = message.pointee
    let key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
    let value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) }
    var headers: [KafkaHeader] = []
    var native: OpaquePointer?
    if rd_kafka_message_headers(message, &native) == RD_KAFKA_RESP_ERR_NO_ERROR, let native {
        var index = 0
        var name: UnsafePointer<CChar>?
        var bytes: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(native, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let headerValue = bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            headers.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: headerValue))
            index += 1
        }
    }
    var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
    let timestamp = rd_kafka_message_timestamp(message, &timestampType)
    return ConsumedMessage(
        topic: String(cString: rd_kafka_topic_name(raw.rkt)),
        partition: raw.partition,
        offset: raw.offset,
        key: key,
        value: value,
        headers: headers,
        timestampMs: timestamp >= 0 ? timestamp : nil)
}

/// Called by librdkafka inside `consumer_poll` or `consumer_close`, on the consumer's lane.
private func handleRebalance(
    _ rk: OpaquePointer, code: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
) {
    guard let opaque = rd_kafka_opaque(rk) else { return }
    let context = Unmanaged<ClientContext>.fromOpaque(opaque).takeUnretainedValue()
    let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) } == "COOPERATIVE"
    let changed = Set(topicPartitions(partitions))
    switch code {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        if cooperative {
            if let error = rd_kafka_incremental_assign(rk, partitions) { rd_kafka_error_destroy(error) }
        } else {
            rd_kafka_assign(rk, partitions)
        }
        context.rebalance.withLock { log in
            log.assigned = cooperative ? log.assigned.union(changed) : changed
            log.generation += 1
        }
        context.logger.info("kafka partitions assigned", metadata: ["kafka.partitions": "\(changed.map(\.description).sorted())"])
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        // Offsets stored so far belong to durable effects: hand them over before letting go.
        let committed = rd_kafka_commit(rk, nil, 0)
        if committed != RD_KAFKA_RESP_ERR_NO_ERROR && committed != RD_KAFKA_RESP_ERR__NO_OFFSET {
            context.logger.warning("commit on revoke failed", metadata: ["kafka.error": "\(KafkaError.reason(committed))"])
        }
        if cooperative {
            if let error = rd_kafka_incremental_unassign(rk, partitions) { rd_kafka_error_destroy(error) }
        } else {
            rd_kafka_assign(rk, nil)
        }
        context.rebalance.withLock { log in
            log.assigned = cooperative ? log.assigned.subtracting(changed) : []
        }
        context.logger.info("kafka partitions revoked", metadata: ["kafka.partitions": "\(changed.map(\.description).sorted())"])
    default:
        context.logger.error("kafka rebalance error", metadata: ["kafka.error": "\(KafkaError.reason(code))"])
        rd_kafka_assign(rk, nil)
        context.rebalance.withLock { $0.assigned = [] }
    }
}
