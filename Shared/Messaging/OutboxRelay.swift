import Contracts
import Foundation
import Kafka
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle
import Storage
import Synchronization

/// Publishes outbox rows to Kafka in per-key order and deletes them once the broker acknowledged.
///
/// Replicas coordinate through PostgreSQL: in each round a relay takes transaction-scoped advisory
/// locks on the lanes (key hashes) that have pending rows and are free, publishes those lanes' oldest
/// rows in position order, deletes them and commits, which releases the locks. A lane is never
/// published by two relays at once, so one key's events reach Kafka in the order they were written.
/// A crash between publish and mark re-sends the rows (at-least-once); consumers' inboxes drop the
/// repeats.
public final class OutboxRelay: Service, Sendable {
    public struct Configuration: Sendable {
        public var batchSize: Int = 2000
        /// Pause after a round that found nothing to publish; doubles while idle, up to `maxIdleInterval`,
        /// so an idle relay does not keep PostgreSQL busy.
        public var idleInterval: Duration = .milliseconds(10)
        public var maxIdleInterval: Duration = .milliseconds(200)
        /// Pause after a round that carried fewer than a quarter of `batchSize` rows. Each round costs
        /// the same few statements however many rows it carries, so under a steady trickle (a service
        /// taking hundreds of writes a second) gathering for a moment turns many tiny rounds into
        /// fewer full ones; events wait at most this much longer.
        public var gatherInterval: Duration = .milliseconds(25)
        public var backlogSampleInterval: Duration = .seconds(5)
        /// Rows the relay deletes between two VACUUMs of the outbox. A round reads the oldest rows
        /// first, by primary key, and a deleted row stays in that index until it is vacuumed: in a
        /// 200,000-row import, before this, every read walked over all the rows sent since the last
        /// autovacuum (19 ms a round on average, and growing) and took as much of PostgreSQL's time
        /// as writing the residents themselves. 0 leaves the outbox to autovacuum.
        public var vacuumAfter: Int = 20_000
        /// How long a round in flight may still run once graceful shutdown began; then it is cancelled
        /// and its rows, published or not, stay unsent for the next relay.
        public var shutdownGrace: Duration = .seconds(5)
        /// A round that takes longer is abandoned (longer than librdkafka's message timeout, so a slow
        /// broker alone does not trip it).
        public var roundTimeout: Duration = .seconds(60)
        /// Called after a batch was published and before it is marked sent: a fault-injection point
        /// for drills that kill the relay exactly there.
        public var afterPublish: (@Sendable (Int) async -> Void)?

        public init() {}
    }

    private let database: Database
    private let producer: KafkaProducer
    private let configuration: Configuration
    private let logger: Logger
    private let lockNamespace: Int32
    private let published: Counter
    private let failed: Counter
    private let backlog: Gauge
    private let oldestAge: Gauge
    private let roundTimer: Metrics.Timer
    private let publishedRows = Mutex(0)

    /// Rows this relay published and deleted since it started (drills and benchmarks read it; the
    /// metric is `outbox_published_total`).
    public var publishedCount: Int { publishedRows.withLock { $0 } }

    public init(database: Database, producer: KafkaProducer, configuration: Configuration = .init(), logger: Logger) {
        self.database = database
        self.producer = producer
        self.configuration = configuration
        self.logger = logger
        // Separate services may share one database: the lock namespace is per schema.
        self.lockNamespace = Int32(truncatingIfNeeded: fnv1a("outbox:" + database.schema))
        let dimensions = [("schema", database.schema)]
        published = Counter(label: "outbox_published_total", dimensions: dimensions)
        failed = Counter(label: "outbox_publish_failures_total", dimensions: dimensions)
        backlog = Gauge(label: "outbox_backlog_rows", dimensions: dimensions)
        oldestAge = Gauge(label: "outbox_oldest_unsent_age_seconds", dimensions: dimensions)
        roundTimer = Metrics.Timer(label: "outbox_relay_round_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
    }

    public func run() async throws {
        logger.info("outbox relay started", metadata: ["db.schema": "\(database.schema)"])
        let clock = ContinuousClock()
        var nextSample = clock.now
        var failures = 0
        var idle = configuration.idleInterval
        var deletedSinceVacuum = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if clock.now >= nextSample {
                _ = try? await BoundedWait.limit(to: .seconds(10), graceAfterShutdown: .seconds(1)) { await self.sampleBacklog() }
                nextSample = clock.now.advanced(by: configuration.backlogSampleInterval)
            }
            do {
                let outcome = try await BoundedWait.limit(to: configuration.roundTimeout, graceAfterShutdown: configuration.shutdownGrace) {
                    try await self.relayOnce()
                }
                failures = outcome.failed > 0 ? failures + 1 : 0
                if outcome.failed > 0 {
                    await ShutdownGrace.pause(backoff(failures))
                } else if outcome.published == 0 {
                    await ShutdownGrace.pause(idle)
                    idle = min(idle * 2, configuration.maxIdleInterval)
                } else {
                    idle = configuration.idleInterval
                    deletedSinceVacuum += outcome.published
                    if configuration.vacuumAfter > 0, deletedSinceVacuum >= configuration.vacuumAfter {
                        deletedSinceVacuum = 0
                        await vacuum()
                    }
                    if outcome.published < configuration.batchSize / 4 { await ShutdownGrace.pause(configuration.gatherInterval) }
                }
            } catch let abandoned as BoundedWait.Abandoned {
                // Its rows stay unsent (published or not) and go out in a later round or replica.
                logger.error("outbox relay round abandoned", metadata: ["reason": "\(abandoned.reason)", "db.schema": "\(database.schema)"])
                failed.increment()
                if Task.isShuttingDownGracefully { break }
            } catch {
                failures += 1
                logger.error("outbox relay round failed", metadata: ["error": "\(String(reflecting: error))", "db.schema": "\(database.schema)"])
                await ShutdownGrace.pause(backoff(failures))
            }
        }
        logger.info("outbox relay stopped", metadata: ["db.schema": "\(database.schema)"])
    }

    /// Clears the sent rows out of the outbox and its indexes (see `Configuration.vacuumAfter`). A
    /// failure is logged and otherwise ignored: autovacuum does the same work later.
    private func vacuum() async {
        let logger = logger
        do {
            _ = try await BoundedWait.limit(to: .seconds(30), graceAfterShutdown: .seconds(1)) {
                try await self.database.withConnection { connection in
                    try await connection.query("VACUUM (SKIP_LOCKED) outbox", logger: logger)
                }
            }
        } catch {
            logger.warning("outbox vacuum failed; autovacuum will do it", metadata: ["error": "\(String(reflecting: error))", "db.schema": "\(database.schema)"])
        }
    }

    private func backoff(_ failures: Int) -> Duration {
        .milliseconds(min(5000, 50 << min(failures, 7)))
    }

    public struct RoundOutcome: Sendable, Equatable {
        public var published: Int
        public var failed: Int
    }

    /// One round: lock free lanes with pending rows, publish a batch from them in order, delete it.
    public func relayOnce() async throws -> RoundOutcome {
        let start = ContinuousClock.now
        defer { roundTimer.record(duration: ContinuousClock.now - start) }
        let logger = logger
        let namespace = lockNamespace
        let batchSize = configuration.batchSize
        let producer = producer
        let afterPublish = configuration.afterPublish
        let outcome = try await database.transaction { connection -> RoundOutcome in
            // Lock first, read second: each statement of READ COMMITTED sees what committed before it
            // began, so reading in a later statement sees the deletions of whoever held the lane before us.
            // Trying all lanes is 64 cheap lock calls; asking which lanes have rows would scan the backlog.
            var lanes: [Int32] = []
            let locked = try await connection.query(
                "SELECT lane FROM generate_series(0, \(Outbox.laneCount - 1)) AS lane WHERE pg_try_advisory_xact_lock(\(namespace), lane)",
                logger: logger)
            for try await lane in locked.decode(Int32.self) { lanes.append(lane) }
            guard !lanes.isEmpty else { return RoundOutcome(published: 0, failed: 0) }

            // Holding every lane (the usual case with one relay) needs no lane filter, and without one
            // the oldest rows come straight off the primary key instead of a sort. The batch comes back
            // as one row of column arrays (read row by row, the rows of a full batch cost the relay
            // more than publishing them). One aggregation pass fills every array, so their elements
            // line up; the order of the pass is the subquery's, and is checked below all the same.
            let filter = lanes.count == Int(Outbox.laneCount) ? "" : "AND lane = ANY($1::int4[])"
            let pending = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT array_agg(position), array_agg(event_id), array_agg(topic), array_agg(message_key), array_agg(event_type),
                               array_agg(source), array_agg(coalesce(subject, '')), array_agg(occurred_at), array_agg(payload::text)
                        FROM (SELECT * FROM outbox WHERE sent_at IS NULL \(filter) ORDER BY position LIMIT \(batchSize)) AS batch
                        """,
                    binds: filter.isEmpty ? PostgresBindings() : PostgresBindings.of(lanes)),
                logger: logger)
            var rows: [(position: Int64, message: OutgoingMessage)] = []
            for try await (positions, ids, topics, keys, types, sources, subjects, times, payloads)
                in pending.decode(([Int64]?, [UUID]?, [String]?, [String]?, [String]?, [String]?, [String]?, [Date]?, [String]?).self)
            {
                guard let positions, let ids, let topics, let keys, let types, let sources, let subjects, let times, let payloads else { break }
                rows.reserveCapacity(positions.count)
                for index in positions.indices {
                    let event = CloudEvent(
                        id: ids[index], source: sources[index], type: EventType(rawValue: types[index]),
                        subject: subjects[index].isEmpty ? nil : subjects[index], time: times[index], data: Array(payloads[index].utf8))
                    rows.append((positions[index], OutgoingMessage(event: event, topic: topics[index], key: keys[index])))
                }
            }
            guard !rows.isEmpty else { return RoundOutcome(published: 0, failed: 0) }
            if !zip(rows, rows.dropFirst()).allSatisfy({ $0.position < $1.position }) { rows.sort { $0.position < $1.position } }

            let results = await producer.send(batch: rows.map(\.message))
            await afterPublish?(rows.count)

            var sent: [Int64] = []
            var failures = 0
            // A key whose row failed keeps its later rows unsent too, so they go out again after it.
            var blockedKeys: Set<[UInt8]> = []
            for (row, result) in zip(rows, results) {
                let key = row.message.key ?? []
                switch result {
                case .success where !blockedKeys.contains(key): sent.append(row.position)
                case .success: break
                case .failure(let error):
                    blockedKeys.insert(key)
                    failures += 1
                    logger.error(
                        "outbox row not delivered; will retry",
                        metadata: [
                            "event.id": "\(row.message.headers.string(CloudEventHeader.id) ?? "")",
                            "aggregate.id": "\(row.message.headers.string(CloudEventHeader.subject) ?? "")", "error": "\(error)",
                        ])
                }
            }
            if !sent.isEmpty {
                // Deleted, not marked: a mark rewrote every row and its index entries a second time,
                // which made the relay the largest share of PostgreSQL's work on an import.
                try await connection.query("DELETE FROM outbox WHERE position = ANY(\(sent)::int8[])", logger: logger)
            }
            return RoundOutcome(published: sent.count, failed: failures)
        }
        if outcome.published > 0 {
            published.increment(by: outcome.published)
            publishedRows.withLock { $0 += outcome.published }
        }
        if outcome.failed > 0 { failed.increment(by: outcome.failed) }
        return outcome
    }

    /// Rows not yet sent, and the age of the oldest, for the backlog gauges.
    public func backlogSnapshot() async throws -> (rows: Int, oldestAgeSeconds: Double) {
        let logger = logger
        return try await database.withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT count(*)::int8, COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8
                FROM outbox WHERE sent_at IS NULL
                """, logger: logger)
            for try await (count, age) in rows.decode((Int64, Double).self) {
                return (Int(count), age)
            }
            return (0, 0)
        }
    }

    private func sampleBacklog() async {
        do {
            let snapshot = try await backlogSnapshot()
            backlog.record(snapshot.rows)
            oldestAge.record(snapshot.oldestAgeSeconds)
        } catch {
            logger.warning("outbox backlog not sampled", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}

extension OutgoingMessage {
    /// A record carrying `event` in CloudEvents binary mode.
    public init(event: CloudEvent, topic: String, key: String) {
        self.init(
            topic: topic,
            key: Array(key.utf8),
            value: event.data,
            headers: CloudEventKafkaBinding.headers(for: event).map { KafkaHeader(key: $0.0, string: $0.1) })
    }
}
