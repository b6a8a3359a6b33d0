import Contracts
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

    public static func record(for message: ConsumedMessage, reason: DeadLetterReason, group: String, at time: Date) -> OutgoingMessage {
        var headers = message.headers.filter { !$0.key.hasPrefix("dlq_") }
        headers.append(KafkaHeader(key: DeadLetterHeader.kind, string: reason.kind))
        headers.append(KafkaHeader(key: DeadLetterHeader.reason, string: reason.detail))
        headers.append(KafkaHeader(key: DeadLetterHeader.topic, string: message.topic))
        headers.append(KafkaHeader(key: DeadLetterHeader.partition, string: String(message.partition)))
        headers.append(KafkaHeader(key: DeadLetterHeader.offset, string: String(message.offset)))
        headers.append(KafkaHeader(key: DeadLetterHeader.group, string: group))
        headers.append(KafkaHeader(key: DeadLetterHeader.time, string: CloudEventKafkaBinding.formatTime(time)))
        return OutgoingMessage(topic: Topic.deadLetter(of: message.topic), key: message.key, value: message.value, headers: headers)
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
