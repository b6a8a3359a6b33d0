import Contracts
import Foundation
import Logging
import PostgresNIO
import Storage

/// The inbox table: which events this service has already taken.
public enum Inbox {
    /// Records `events` and returns those not recorded before, in their original order.
    public static func claim(
        _ events: [InboundEvent], outcome: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> [InboundEvent] {
        // A replayed dead letter lifts its earlier mark, inside this transaction: if it fails again, the
        // rollback restores the mark, and the new dead letter records it anew.
        let replayed = events.filter { $0.message.headers.string(DeadLetterHeader.replayedFrom) != nil }.map(\.event.id)
        if !replayed.isEmpty {
            try await connection.query(
                "DELETE FROM inbox WHERE event_id = ANY(\(replayed)::uuid[]) AND outcome = 'dead-lettered'", logger: logger)
        }
        var ids: [UUID] = [], topics: [String] = [], partitions: [Int32] = [], offsets: [Int64] = [], types: [String] = []
        var seen: Set<UUID> = []
        for event in events where seen.insert(event.event.id).inserted {
            ids.append(event.event.id)
            topics.append(event.message.topic)
            partitions.append(event.message.partition)
            offsets.append(event.message.offset)
            types.append(event.event.type.rawValue)
        }
        let fresh = try await connection.query(
            """
            WITH claimed AS (
            INSERT INTO inbox (event_id, topic, kafka_partition, kafka_offset, event_type, outcome)
            SELECT e.id, e.topic, e.partition, e.offset, e.type, \(outcome)
            FROM unnest(\(ids)::uuid[], \(topics)::text[], \(partitions)::int4[], \(offsets)::int8[], \(types)::text[])
                 AS e(id, topic, partition, "offset", type)
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id)
            SELECT coalesce(array_agg(event_id), '{}') FROM claimed
            """, logger: logger
        ).idSet()
        // A batch may carry the same event twice (a producer retry): apply it once, at its first place.
        var taken: Set<UUID> = []
        return events.filter { fresh.contains($0.event.id) && taken.insert($0.event.id).inserted }
    }
}
