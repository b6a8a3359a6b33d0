import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import PostgresNIO
import Storage

/// The event the messaging drills push through outbox → Kafka → inbox: a key and its sequence number,
/// so the receiving side can check per-key order and exactly-once effect.
public struct ProbeRecorded: EventPayload, Equatable {
    public static let eventType: EventType = "drill.probe.recorded.v1"
    public var key: String
    public var seq: Int

    public init(key: String, seq: Int) {
        self.key = key
        self.seq = seq
    }
}

public enum Probe {
    /// The drill's own table on the receiving side: one row per applied event, in apply order.
    public static let migrations: [Migration] = [
        Migration(
            version: "0001_probe_applied",
            sql: """
                CREATE TABLE probe_applied (
                    event_id    uuid PRIMARY KEY,
                    probe_key   text NOT NULL,
                    seq         integer NOT NULL,
                    apply_order bigserial NOT NULL
                );
                """),
    ]

    /// Writes `count` probe events spread over `keys` into the outbox, sequence numbers per key from 1.
    public static func fill(
        _ database: Database, topic: String, keys: [String], count: Int, batch: Int = 2000, logger: Logger
    ) async throws {
        var next: [String: Int] = [:]
        var written = 0
        while written < count {
            let size = min(batch, count - written)
            var entries: [OutboxEntry] = []
            entries.reserveCapacity(size)
            for index in written..<(written + size) {
                let key = keys[index % keys.count]
                let seq = (next[key] ?? 0) + 1
                next[key] = seq
                let event = try CloudEvent(
                    source: "/drill", subject: key, time: Date(), payload: ProbeRecorded(key: key, seq: seq))
                entries.append(OutboxEntry(topic: topic, key: key, event: event))
            }
            try await database.transaction { connection in
                try await Outbox.append(entries, on: connection, logger: logger)
            }
            written += size
        }
    }
}

/// Applies probe events by inserting them; a duplicate would violate the primary key, so a passing
/// drill proves the inbox kept every effect single.
public struct ProbeHandler: InboxHandler {
    public init() {}

    public func disposition(for type: EventType) -> EventDisposition {
        type == ProbeRecorded.eventType ? .apply : .unknown
    }

    public func apply(_ events: [InboundEvent], on connection: PostgresConnection, logger: Logger) async throws {
        var ids: [UUID] = [], keys: [String] = [], seqs: [Int32] = []
        for event in events {
            let probe = try event.decode(ProbeRecorded.self)
            ids.append(event.event.id)
            keys.append(probe.key)
            seqs.append(Int32(probe.seq))
        }
        try await connection.query(
            """
            INSERT INTO probe_applied (event_id, probe_key, seq)
            SELECT id, k, s FROM unnest(\(ids)::uuid[], \(keys)::text[], \(seqs)::int4[]) WITH ORDINALITY AS t(id, k, s, n)
            ORDER BY n
            """, logger: logger)
    }
}
