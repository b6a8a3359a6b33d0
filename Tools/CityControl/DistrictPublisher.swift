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
        public var description: String {
            "the broker refused the event of line \(line) (\(reason)); \(delivered) events before it were delivered. "
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
}
