import Contracts
import Crypto
import Foundation
import Kafka
import Logging
import Metrics

/// Why a record was set aside. `kind` is a short stable label (metrics, header `dlq_kind`).
public struct DeadLetterReason: Sendable, Hashable, CustomStringConvertible {
    public var kind: String
    public var detail: String

    public init(kind: String, detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public static func undecodable(_ detail: String) -> Self { .init(kind: "undecodable", detail: detail) }
    /// Text PostgreSQL cannot store (U+0000, bytes that are not UTF-8): refused before any statement runs.
    public static func unstorable(_ problem: StorableText.Problem) -> Self { .init(kind: "invalid", detail: problem.description) }
    public static func unknownType(_ type: String) -> Self { .init(kind: "unknown_type", detail: "no consumer knows event type \(type)") }

    public var description: String { "\(kind): \(detail)" }
}

/// Header names on a dead-lettered record; the original headers, key and value are kept as they were.
public enum DeadLetterHeader {
    public static let kind = "dlq_kind"
    public static let reason = "dlq_reason"
    public static let topic = "dlq_original_topic"
    public static let partition = "dlq_original_partition"
    public static let offset = "dlq_original_offset"
    public static let group = "dlq_consumer_group"
    public static let time = "dlq_time"
    /// Size in bytes of the original value, and its SHA-256 (hex): a dead letter whose value had to be
    /// cut still says exactly which record it was.
    public static let originalSize = "dlq_original_size"
    public static let originalDigest = "dlq_original_sha256"
    /// `true` when the value (or key, or a header) carried here is a bounded copy, not the original:
    /// such a dead letter cannot be replayed as it is; the district must send the record again.
    public static let truncated = "dlq_truncated"
    /// Set by a replay (`<dead-letter topic>/<partition>/<offset>`): the consumer that dead-lettered the
    /// event gives it another try instead of skipping it as already seen.
    public static let replayedFrom = "dlq_replayed_from"
}

/// Sends records that cannot be applied to `<topic>.dead-letter`, so the partition keeps moving and an
/// operator can read, fix and replay them.
public struct DeadLetterPublisher: Sendable {
    let producer: KafkaProducer
    let consumerGroup: String
    let logger: Logger

    public init(producer: KafkaProducer, consumerGroup: String, logger: Logger) {
        self.producer = producer
        self.consumerGroup = consumerGroup
        self.logger = logger
    }

    /// What a dead letter may carry, so that it is always under the broker's message size limit
    /// (`message.max.bytes`, 1,000,000 by default) whatever the record or the reason was.
    public struct Limits: Sendable {
        /// The value's bytes kept when the original is larger.
        public var valueBytes = 256 * 1024
        /// The key's bytes, and each original header's, kept when larger.
        public var keyBytes = 1024
        public var headerBytes = 4 * 1024
        /// Original headers carried at most; the rest are dropped (the copy is marked truncated).
        public var headers = 64
        /// The reason text, in bytes.
        public var reasonBytes = 4 * 1024

        public init() {}
    }

    public static func record(
        for message: ConsumedMessage, reason: DeadLetterReason, group: String, at time: Date, limits: Limits = .init()
    ) -> OutgoingMessage {
        var truncated = false
        func bounded(_ bytes: [UInt8], _ limit: Int) -> [UInt8] {
            guard bytes.count > limit else { return bytes }
            truncated = true
            return Array(bytes.prefix(limit))
        }
        var headers: [KafkaHeader] = []
        for header in message.headers where !header.key.hasPrefix("dlq_") {
            guard headers.count < limits.headers else {
                truncated = true
                break
            }
            let name = header.key.utf8.count > 256 ? String(decoding: header.key.utf8.prefix(256), as: UTF8.self) : header.key
            headers.append(KafkaHeader(key: name, value: header.value.map { bounded($0, limits.headerBytes) }))
        }
        let value = message.value.map { bounded($0, limits.valueBytes) }
        let key = message.key.map { bounded($0, limits.keyBytes) }
        let original = message.value ?? []
        headers.append(KafkaHeader(key: DeadLetterHeader.kind, string: reason.kind))
        headers.append(KafkaHeader(key: DeadLetterHeader.reason, string: Self.bounded(reason.detail, bytes: limits.reasonBytes)))
        headers.append(KafkaHeader(key: DeadLetterHeader.topic, string: message.topic))
        headers.append(KafkaHeader(key: DeadLetterHeader.partition, string: String(message.partition)))
        headers.append(KafkaHeader(key: DeadLetterHeader.offset, string: String(message.offset)))
        headers.append(KafkaHeader(key: DeadLetterHeader.group, string: group))
        headers.append(KafkaHeader(key: DeadLetterHeader.time, string: CloudEventKafkaBinding.formatTime(time)))
        headers.append(KafkaHeader(key: DeadLetterHeader.originalSize, string: String(original.count)))
        headers.append(KafkaHeader(key: DeadLetterHeader.originalDigest, string: SHA256.hash(data: original).map { String(format: "%02x", $0) }.joined()))
        if truncated { headers.append(KafkaHeader(key: DeadLetterHeader.truncated, string: "true")) }
        return OutgoingMessage(topic: Topic.deadLetter(of: message.topic), key: key, value: value, headers: headers)
    }

    /// `text` cut to at most `bytes` UTF-8 bytes on a character boundary, saying how long it was.
    public static func bounded(_ text: String, bytes: Int) -> String {
        guard text.utf8.count > bytes else { return text }
        let note = " … (\(text.utf8.count) bytes, cut)"
        var kept = ""
        for character in text {
            guard kept.utf8.count + character.utf8.count + note.utf8.count <= bytes else { break }
            kept.append(character)
        }
        return kept + note
    }

    /// Publishes and waits for the broker: the caller commits the offset only after this returns.
    public func publish(_ items: [(message: ConsumedMessage, reason: DeadLetterReason)]) async throws(KafkaError) {
        guard !items.isEmpty else { return }
        let now = Date()
        let records = items.map { Self.record(for: $0.message, reason: $0.reason, group: consumerGroup, at: now) }
        let results = await producer.send(batch: records)
        for ((message, reason), result) in zip(items, results) {
            _ = try result.get()
            Counter(label: "dead_letters_total", dimensions: [("topic", message.topic), ("kind", reason.kind)]).increment()
            logger.warning(
                "record dead-lettered",
                metadata: [
                    "event.id": "\(message.headers.string(CloudEventHeader.id) ?? "-")",
                    "aggregate.id": "\(message.keyString ?? "-")",
                    "kafka.topic": "\(message.topic)", "kafka.partition": "\(message.partition)", "kafka.offset": "\(message.offset)",
                    "dlq.kind": "\(reason.kind)", "dlq.reason": "\(reason.detail)",
                ])
        }
    }
}
