import Foundation
import Logging
import PostgresNIO
import Storage

/// A record an operator set aside by hand: the consumer that meets it dead-letters it (kind `parked`)
/// instead of applying it. The escape hatch for a record that stalls a partition in a way the consumer
/// cannot tell from a passing fault (it hangs, or fails as if the database were away).
public struct ParkedRecord: Codable, Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// Only this consumer group; `nil` for every group of the service that reads the topic.
    public var group: String?
    public var reason: String
    public var parkedBy: String
    public var parkedAt: Date
    /// When a consumer dead-lettered it; `nil` while it waits to be met.
    public var deadLetteredAt: Date?

    public init(topic: String, partition: Int32, offset: Int64, group: String?, reason: String, parkedBy: String, parkedAt: Date, deadLetteredAt: Date?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.group = group
        self.reason = reason
        self.parkedBy = parkedBy
        self.parkedAt = parkedAt
        self.deadLetteredAt = deadLetteredAt
    }

    /// Where a record sits on the broker.
    public struct Place: Hashable, Sendable {
        public var topic: String
        public var partition: Int32
        public var offset: Int64

        public init(topic: String, partition: Int32, offset: Int64) {
            self.topic = topic
            self.partition = partition
            self.offset = offset
        }
    }

    public var place: Place { Place(topic: topic, partition: partition, offset: offset) }

    /// The dead letter's reason: who parked it and why.
    public var deadLetterReason: DeadLetterReason {
        DeadLetterReason(kind: "parked", detail: "parked by \(parkedBy): \(reason)")
    }
}

/// The `parked_records` table of a service's schema.
public struct ParkedRecordRepository: Sendable {
    let database: Database
    /// What every statement returns, in the order `records` decodes.
    static let columns = "topic, kafka_partition, kafka_offset, consumer_group, reason, parked_by, parked_at, dead_lettered_at"

    public init(database: Database) {
        self.database = database
    }

    /// Parks a record; parking one that is parked already keeps the first entry and returns it.
    public func park(_ place: ParkedRecord.Place, group: String?, reason: String, by operator: String) async throws -> ParkedRecord {
        let rows = try await database.client.query(
            """
            WITH parked AS (
                INSERT INTO parked_records (topic, kafka_partition, kafka_offset, consumer_group, reason, parked_by)
                VALUES (\(place.topic), \(place.partition), \(place.offset), \(group), \(reason), \(`operator`))
                ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING
                RETURNING \(unescaped: Self.columns))
            SELECT * FROM parked
            UNION ALL
            SELECT \(unescaped: Self.columns)
            FROM parked_records
            WHERE topic = \(place.topic) AND kafka_partition = \(place.partition) AND kafka_offset = \(place.offset)
              AND NOT EXISTS (SELECT 1 FROM parked)
            """, logger: database.logger)
        return try await Self.records(rows)[0]
    }

    /// Every parked record, newest first.
    public func list(limit: Int = 500) async throws -> [ParkedRecord] {
        let rows = try await database.client.query(
            """
            SELECT \(unescaped: Self.columns)
            FROM parked_records ORDER BY parked_at DESC LIMIT \(limit)
            """, logger: database.logger)
        return try await Self.records(rows)
    }

    /// What a consumer must set aside: records not met yet, and those met in the last week (a
    /// redelivery after a crash must not apply one that was dead-lettered).
    func pending(for group: String) async throws -> [ParkedRecord.Place: ParkedRecord] {
        let rows = try await database.client.query(
            """
            SELECT \(unescaped: Self.columns)
            FROM parked_records
            WHERE (consumer_group IS NULL OR consumer_group = \(group))
              AND (dead_lettered_at IS NULL OR dead_lettered_at > now() - interval '7 days')
            """, logger: database.logger)
        let records = try await Self.records(rows)
        return Dictionary(records.map { ($0.place, $0) }) { first, _ in first }
    }

    /// Notes that the records were dead-lettered (the first time only).
    func markDeadLettered(_ places: [ParkedRecord.Place]) async throws {
        guard !places.isEmpty else { return }
        try await database.client.query(
            """
            UPDATE parked_records p SET dead_lettered_at = clock_timestamp()
            FROM unnest(\(places.map(\.topic))::text[], \(places.map(\.partition))::int4[], \(places.map(\.offset))::int8[]) AS m(topic, partition, "offset")
            WHERE p.topic = m.topic AND p.kafka_partition = m.partition AND p.kafka_offset = m."offset" AND p.dead_lettered_at IS NULL
            """, logger: database.logger)
    }

    private static func records(_ rows: PostgresRowSequence) async throws -> [ParkedRecord] {
        var records: [ParkedRecord] = []
        for try await (topic, partition, offset, group, reason, by, at, dead) in rows.decode((String, Int32, Int64, String?, String, String, Date, Date?).self) {
            records.append(ParkedRecord(topic: topic, partition: partition, offset: offset, group: group, reason: reason, parkedBy: by, parkedAt: at, deadLetteredAt: dead))
        }
        return records
    }
}
