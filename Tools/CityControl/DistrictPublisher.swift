import Contracts
import Foundation
import Kafka

/// Publishes checked district events on `district.inbound`, keyed by the district so that one
/// district's records stay in order, and waits for the broker to acknowledge every one.
public struct DistrictPublisher: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var delivered: Int
        public var line: Int
        public var reason: String
        /// Refused here, before anything was sent, rather than by the broker.
        public var beforeSending = false

        public var description: String {
            if beforeSending { return "line \(line): \(reason); nothing was published" }
            return "the broker refused the event of line \(line) (\(reason)); \(delivered) events before it were delivered. "
                + "Publishing the file again is safe: events keep their ids and are taken once."
        }
    }

    let producer: KafkaProducer
    let topic: String
    let chunk: Int

    public init(producer: KafkaProducer, topic: String = Topic.districtInbound.name, chunk: Int = 1000) {
        self.producer = producer
        self.topic = topic
        self.chunk = max(1, chunk)
    }

    public static func message(for event: CloudEvent, district: String, topic: String = Topic.districtInbound.name) -> OutgoingMessage {
        OutgoingMessage(
            topic: topic, key: Array(district.utf8), value: event.data,
            headers: CloudEventKafkaBinding.headers(for: event).map { KafkaHeader(key: $0.0, string: $0.1) })
    }

    /// Returns how many were delivered; `progress` is told after each acknowledged chunk.
    @discardableResult
    public func publish(_ lines: [DistrictFile.Line], district: String, progress: (Int) -> Void = { _ in }) async throws(Failure) -> Int {
        // `DistrictFile` refuses such lines; events made some other way are held to the same rule, and
        // all of them before the first is sent.
        for line in lines {
            if let problem = Self.unstorable(line.event) {
                throw Failure(delivered: 0, line: line.line, reason: problem, beforeSending: true)
            }
        }
        var delivered = 0
        var start = 0
        while start < lines.count {
            let slice = lines[start..<min(start + chunk, lines.count)]
            let results = await producer.send(batch: slice.map { Self.message(for: $0.event, district: district, topic: topic) })
            for (line, result) in zip(slice, results) {
                if case .failure(let error) = result {
                    throw Failure(delivered: delivered, line: line.line, reason: "\(error)")
                }
                delivered += 1
            }
            progress(delivered)
            start += chunk
        }
        return delivered
    }

    /// Why the services could not store an event, if they could not: text holding U+0000 in its JSON
    /// (a raw zero byte or the escape `\u0000`) or in a header, or bytes that are not UTF-8.
    public static func unstorable(_ event: CloudEvent) -> String? {
        event.unstorableText.map { "\($0)" }
    }
}
