import Contracts
import Foundation
import Kafka
import Logging
import Messaging

/// A record a consumer set aside, as read back from `<topic>.dead-letter`.
public struct DeadLetter: Sendable {
    public var message: ConsumedMessage
    public var originalTopic: String
    public var kind: String
    public var reason: String
    public var group: String
    public var time: String
    public var eventID: String?
    public var type: String?
    /// Only a bounded copy of the record was kept (it was too large for the dead-letter topic): it cannot
    /// be replayed; the sender must publish it again.
    public var truncated: Bool

    public init(_ message: ConsumedMessage) {
        self.message = message
        let headers = message.headers
        originalTopic = headers.string(DeadLetterHeader.topic) ?? String(message.topic.dropLast(".dead-letter".count))
        kind = headers.string(DeadLetterHeader.kind) ?? "?"
        reason = headers.string(DeadLetterHeader.reason) ?? ""
        group = headers.string(DeadLetterHeader.group) ?? "?"
        time = headers.string(DeadLetterHeader.time) ?? "?"
        eventID = headers.string(CloudEventHeader.id)
        type = headers.string(CloudEventHeader.type)
        truncated = headers.string(DeadLetterHeader.truncated) == "true"
    }

    /// Which dead letters a command acts on.
    public struct Filter: Sendable {
        public var kind: String?
        public var type: String?
        public var eventID: String?
        public var group: String?
        /// The record's key: the district code on `district.inbound`, the aggregate id elsewhere.
        public var key: String?

        public init(kind: String? = nil, type: String? = nil, eventID: String? = nil, group: String? = nil, key: String? = nil) {
            self.kind = kind
            self.type = type
            self.eventID = eventID
            self.group = group
            self.key = key
        }

        public func matches(_ letter: DeadLetter) -> Bool {
            (kind == nil || letter.kind == kind) && (type == nil || letter.type == type) && (group == nil || letter.group == group)
                && (key == nil || letter.message.keyString == key)
                && (eventID == nil || letter.eventID?.lowercased() == eventID?.lowercased())
        }
    }

    /// The original record, back on its topic with its key, value and headers, marked as a replay so the
    /// consumer that refused it tries again (those that took it skip it: the event id is unchanged).
    public var replay: OutgoingMessage {
        var headers = message.headers.filter { !$0.key.hasPrefix("dlq_") }
        headers.append(KafkaHeader(key: DeadLetterHeader.replayedFrom, string: "\(message.topic)/\(message.partition)/\(message.offset)"))
        return OutgoingMessage(topic: originalTopic, key: message.key, value: message.value, headers: headers)
    }
}

/// Reads and replays dead letters for an operator.
public struct DeadLetterDesk: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case kafka(String, KafkaError)
        case timedOut(topic: String, read: Int, expected: Int)
        case replay(delivered: Int, reason: String)

        public var description: String {
            switch self {
            case .kafka(let topic, let error): "reading \(topic): \(error)"
            case .timedOut(let topic, let read, let expected): "reading \(topic) stopped after \(read) of \(expected) records (timed out)"
            case .replay(let delivered, let reason):
                "replay stopped after \(delivered) records: \(reason); replaying again is safe (consumers skip what they took)"
            }
        }
    }

    let config: KafkaConfig
    let logger: Logger

    public init(config: KafkaConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// Every record on the dead-letter topic of `topic` (`district.inbound`, …) written before the call,
    /// oldest first. Reads assigned partitions outside any group and commits nothing, so it may run
    /// beside anything.
    public func read(_ topic: String, timeout: Duration = .seconds(30)) async throws(Failure) -> [DeadLetter] {
        let name = Topic.deadLetter(of: topic)
        let consumer: KafkaConsumer
        do {
            consumer = try KafkaConsumer(config: config, groupID: "cityctl-read-\(UUID.random().uuidString.lowercased())", topics: [], logger: logger)
        } catch {
            throw .kafka(name, error)
        }
        do {
            let ends = try await consumer.watermarks(of: name)
            let expected = ends.values.reduce(0) { $0 + Int($1.high - $1.low) }
            var next = ends.mapValues(\.low)
            try await consumer.assign(Dictionary(uniqueKeysWithValues: next.map { (TopicPartition(topic: name, partition: $0.key), $0.value) }))
            var letters: [DeadLetter] = []
            let deadline = ContinuousClock.now + timeout
            while ends.contains(where: { next[$0.key, default: 0] < $0.value.high }) {
                guard ContinuousClock.now < deadline else {
                    await consumer.close()
                    throw Failure.timedOut(topic: name, read: letters.count, expected: expected)
                }
                for message in try await consumer.poll(maxMessages: 500, timeout: .milliseconds(500)) {
                    guard let end = ends[message.partition], message.offset < end.high else { continue }
                    next[message.partition] = message.offset + 1
                    letters.append(DeadLetter(message))
                }
            }
            await consumer.close()
            return letters.sorted { ($0.message.partition, $0.message.offset) < ($1.message.partition, $1.message.offset) }
        } catch let error as Failure {
            throw error
        } catch let error as KafkaError {
            await consumer.close()
            throw .kafka(name, error)
        } catch {
            await consumer.close()
            throw .kafka(name, .closed)
        }
    }

    /// Puts each letter back on its original topic, once per event id; returns how many were sent.
    public func replay(_ letters: [DeadLetter], producer: KafkaProducer) async throws(Failure) -> Int {
        var seen: Set<String> = []
        let unique = letters.filter { letter in letter.eventID.map { seen.insert($0.lowercased()).inserted } ?? true }
        var delivered = 0
        for result in await producer.send(batch: unique.map(\.replay)) {
            if case .failure(let error) = result { throw .replay(delivered: delivered, reason: "\(error)") }
            delivered += 1
        }
        return delivered
    }

    public static func table(_ letters: [DeadLetter]) -> String {
        var rows = [["OFFSET", "TIME", "GROUP", "KIND", "TYPE", "EVENT ID", "KEY", "REASON"]]
        for letter in letters {
            rows.append([
                "\(letter.message.topic)/\(letter.message.partition)/\(letter.message.offset)", letter.time, letter.group, letter.kind,
                letter.type ?? "-", letter.eventID ?? "-", letter.message.keyString ?? "-", String(letter.reason.prefix(120)),
            ])
        }
        return TextTable.render(rows)
    }
}
