import Contracts
import Foundation
import Logging
import PostgresNIO
import Storage

/// An event waiting in the outbox for its topic.
public struct OutboxEntry: Sendable, Hashable {
    public var topic: String
    /// The Kafka key: the aggregate id, so one aggregate's events stay in order on one partition.
    public var key: String
    public var event: CloudEvent

    public init(topic: String, key: String, event: CloudEvent) {
        self.topic = topic
        self.key = key
        self.event = event
    }
}

/// The only way a service publishes: rows written in the same transaction as the state change they
/// describe. The relay sends them later, so a crash can delay an event but never lose it.
public enum Outbox {
    /// Keys are spread over this many lanes; a relay holds a lane's lock while it publishes it.
    public static let laneCount: Int32 = 64

    public static func lane(for key: String) -> Int32 {
        Int32(fnv1a(key) % UInt64(laneCount))
    }

    /// Appends entries on `connection`, which must be inside the caller's transaction.
    ///
    /// Writers must hold the aggregate's row lock while they append (an `UPDATE` or `SELECT … FOR UPDATE`
    /// of the aggregate does), so one key's rows get positions in commit order.
    public static func append(_ entries: [OutboxEntry], on connection: PostgresConnection, logger: Logger) async throws {
        guard !entries.isEmpty else { return }
        var builder = QueryBuilder()
        let insert = insert(entries, binding: &builder)
        try await connection.query(builder.query(insert), logger: logger)
    }

    /// The `INSERT` of `entries`, in their order, its values bound in `builder`: for a statement that
    /// writes events together with the rows they describe, as one of its `WITH` parts. With `keptBy`,
    /// an entry goes in only when its aggregate (`aggregates`, one per entry) is among the ids the
    /// named part returned, so rows a conflict left out have no events.
    public static func insert(_ entries: [OutboxEntry], binding builder: inout QueryBuilder, keptBy: (part: String, aggregates: [UUID])? = nil) -> String {
        var ids: [UUID] = [], topics: [String] = [], keys: [String] = [], lanes: [Int32] = []
        var types: [String] = [], sources: [String] = [], subjects: [String] = [], times: [Date] = [], payloads: [String] = []
        for entry in entries {
            ids.append(entry.event.id)
            topics.append(entry.topic)
            keys.append(entry.key)
            lanes.append(lane(for: entry.key))
            types.append(entry.event.type.rawValue)
            sources.append(entry.event.source)
            subjects.append(entry.event.subject ?? "")
            times.append(entry.event.time)
            payloads.append(String(decoding: entry.event.data, as: UTF8.self))
        }
        let arrays = [
            "\(builder.bind(ids))::uuid[]", "\(builder.bind(topics))::text[]", "\(builder.bind(keys))::text[]", "\(builder.bind(lanes))::int4[]",
            "\(builder.bind(types))::text[]", "\(builder.bind(sources))::text[]", "\(builder.bind(subjects))::text[]",
            "\(builder.bind(times))::timestamptz[]", "\(builder.bind(payloads))::text[]",
        ].joined(separator: ", ")
        let from: String
        if let keptBy {
            // The join may reorder rows; positions must follow the entries' order.
            precondition(keptBy.aggregates.count == entries.count, "one aggregate per outbox entry")
            from = """
                unnest(\(arrays), \(builder.bind(keptBy.aggregates))::uuid[]) WITH ORDINALITY
                     AS e(id, topic, key, lane, type, source, subject, time, payload, aggregate, position)
                JOIN \(keptBy.part) kept ON kept.id = e.aggregate
                ORDER BY e.position
                """
        } else {
            from = "unnest(\(arrays)) AS e(id, topic, key, lane, type, source, subject, time, payload)"
        }
        return """
            INSERT INTO outbox (event_id, topic, message_key, lane, event_type, source, subject, occurred_at, payload)
            SELECT e.id, e.topic, e.key, e.lane, e.type, e.source, NULLIF(e.subject, ''), e.time, e.payload::json
            FROM \(from)
            """
    }
}
