import Contracts
import Foundation
import Kafka
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle
import Storage
import Synchronization

/// Counts since the consumer started, for status pages and drills.
public struct InboxStatistics: Sendable, Equatable {
    public var consumed = 0
    public var applied = 0
    public var duplicates = 0
    public var ignored = 0
    public var deadLettered = 0
    public var batches = 0
}

/// A decoded event together with where it came from.
public struct InboundEvent: Sendable {
    public var event: CloudEvent
    public var message: ConsumedMessage
    /// What the handler's `prepare` made of the event ahead of `apply`, if anything.
    public var prepared: (any Sendable)?

    public init(event: CloudEvent, message: ConsumedMessage) {
        self.event = event
        self.message = message
    }

    /// The body as a record of `type` (for contracts where several event types share one record shape);
    /// a body that does not fit becomes a rejection (dead-lettered as `invalid`).
    public func decodeRecord<Record: Decodable>(_ type: Record.Type) throws(EventRejection) -> Record {
        do {
            return try EventCoding.decoder.decode(type, from: Data(event.data))
        } catch {
            throw EventRejection(
                eventID: event.id, reason: DeadLetterReason(kind: "invalid", detail: "data of \(event.type) is invalid: \(EventCoding.explain(error))"))
        }
    }

    /// The typed payload; a body that does not fit becomes a rejection (dead-lettered as `invalid`).
    public func decode<Payload: EventPayload>(_ type: Payload.Type) throws(EventRejection) -> Payload {
        do {
            return try event.decode(type)
        } catch {
            throw EventRejection(eventID: event.id, reason: DeadLetterReason(kind: error.kind, detail: error.description))
        }
    }
}

/// Several events of one batch that cannot be applied; the consumer dead-letters them and applies the rest.
public struct EventRejections: Error, Sendable, CustomStringConvertible {
    public var rejections: [EventRejection]

    public init(rejections: [EventRejection]) {
        self.rejections = rejections
    }

    public var description: String { rejections.map(\.description).joined(separator: "; ") }
}

/// What a consumer does with an event type.
public enum EventDisposition: Sendable {
    /// Apply it.
    case apply
    /// A known type this service does not need: skip it, commit past it.
    case ignore
    /// Not a type of this topic's contract: dead-letter it.
    case unknown

    /// For a projection of `registry.events`: apply the types it needs, skip the registry's other
    /// types, and dead-letter a type the registry does not publish (a contract break).
    public static func ofRegistryEvent(_ type: EventType, applying needed: Set<EventType>) -> EventDisposition {
        if needed.contains(type) { return .apply }
        return RegistryEventTypes.all.contains(type) ? .ignore : .unknown
    }
}

/// A handler's verdict that one event cannot be applied (schema-invalid, out of scope, ...).
/// The consumer dead-letters that event and applies the rest.
public struct EventRejection: Error, Sendable, CustomStringConvertible {
    public var eventID: UUID
    public var reason: DeadLetterReason

    public init(eventID: UUID, reason: DeadLetterReason) {
        self.eventID = eventID
        self.reason = reason
    }

    public var description: String { "event \(eventID) rejected: \(reason)" }
}

/// The service's side of consumption: which types it takes and how to apply them.
public protocol InboxHandler: Sendable {
    func disposition(for type: EventType) -> EventDisposition
    /// Applies events not seen before, in order, inside the transaction that records them in the inbox.
    /// Throw `EventRejection` (or `EventRejections`, naming every bad event found) for events that must
    /// be dead-lettered: the batch is rolled back and applied again without them. Any other error is
    /// treated as transient and the whole batch is retried.
    func apply(_ events: [InboundEvent], on connection: PostgresConnection, logger: Logger) async throws
    /// Work that needs no database (decoding and checking records), kept in each event's `prepared`.
    /// The consumer runs it for the next batch while the current one is being written, so the two
    /// cores share the load; `apply` must still work on events that were not prepared.
    func prepare(_ events: [InboundEvent]) -> [InboundEvent]
}

extension InboxHandler {
    public func prepare(_ events: [InboundEvent]) -> [InboundEvent] { events }
}

/// Consumes a topic into a service: each batch is applied and its event ids recorded in the inbox in
/// one PostgreSQL transaction, and only then are the offsets committed. A redelivered event finds its
/// id in the inbox and is skipped, so every event takes effect exactly once.
///
/// On graceful shutdown it finishes the batch in flight, commits, and leaves the group.
public final class InboxConsumer: Service, Sendable {
    public struct Configuration: Sendable {
        public var batchSize: Int = 500
        public var pollTimeout: Duration = .milliseconds(250)
        /// A batch taking longer is abandoned and retried (the inbox drops what was already applied).
        public var batchTimeout: Duration = .seconds(120)
        /// How long the batch in flight may still run once graceful shutdown began.
        public var shutdownGrace: Duration = .seconds(10)
        /// Fault-injection point for drills: called after a batch is durable and before its offsets are committed.
        public var afterApply: (@Sendable (Int) async -> Void)?

        public init() {}
    }

    private let database: Database
    private let consumer: KafkaConsumer
    private let deadLetters: DeadLetterPublisher
    private let handler: any InboxHandler
    private let configuration: Configuration
    private let logger: Logger
    private let counts = Mutex(InboxStatistics())
    private let duplicatesSkipped: Counter
    private let eventsIgnored: Counter
    private let batchTimer: Metrics.Timer

    public var statistics: InboxStatistics { counts.withLock { $0 } }

    public init(
        database: Database, consumer: KafkaConsumer, deadLetters: DeadLetterPublisher, handler: any InboxHandler,
        configuration: Configuration = .init(), logger: Logger
    ) {
        self.database = database
        self.consumer = consumer
        self.deadLetters = deadLetters
        self.handler = handler
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "kafka.group"] = "\(consumer.groupID)"
        self.logger = logger
        let group = [("group", consumer.groupID)]
        duplicatesSkipped = Counter(label: "inbox_duplicates_skipped_total", dimensions: group)
        eventsIgnored = Counter(label: "events_ignored_total", dimensions: group)
        batchTimer = Metrics.Timer(label: "consumer_batch_seconds", dimensions: group, preferredDisplayUnit: .seconds)
    }

    public func run() async throws {
        var lagReported: Set<TopicPartition> = []
        var lagDue = ContinuousClock.now
        var ready: PreparedBatch?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Also while idle: lag is what an alert watches, and an idle member may have just lost partitions.
            if ContinuousClock.now >= lagDue {
                lagReported = await recordLag(previously: lagReported)
                lagDue = ContinuousClock.now + .seconds(1)
            }
            let current: PreparedBatch
            if let ready {
                current = ready
            } else {
                guard let polled = try await poll(timeout: configuration.pollTimeout) else { break }
                guard !polled.isEmpty else { continue }
                current = Self.prepare(polled, handler: handler)
            }
            ready = nil
            // With a backlog the next batch is already fetched: take it without waiting and decode and
            // prepare it while this one is written. Without a backlog the next loop waits as usual.
            guard let next = try await poll(timeout: .zero) else {
                try await applyFinishing(current)
                break
            }
            if next.isEmpty {
                guard try await applyFinishing(current) else { return }
            } else {
                let handler = handler
                async let upcoming = OtherCore.run { Self.prepare(next, handler: handler) }
                let finished = try await applyFinishing(current)
                let prepared = await upcoming
                // Stopped with a batch polled but not applied: its offsets stay uncommitted, the next
                // member re-reads it.
                guard finished else { return }
                ready = prepared
            }
        }
        if let ready, !Task.isCancelled {
            // Shutting down with a batch already prepared: finish it rather than have it redelivered.
            try await applyFinishing(ready)
        }
        await consumer.close()
    }

    /// A poll, or `nil` once the consumer is closed. Fatal and authorisation errors stop the service so
    /// the orchestrator restarts it and alerts.
    private func poll(timeout: Duration) async throws -> [ConsumedMessage]? {
        do {
            return try await consumer.poll(maxMessages: configuration.batchSize, timeout: timeout)
        } catch .closed {
            return nil
        } catch {
            logger.critical("kafka consumer failed", metadata: ["error": "\(error)"])
            await consumer.close()
            throw error
        }
    }

    /// Applies `batch`, retrying transient failures with a growing pause, even during shutdown:
    /// stopping halfway would only cause redelivery. Returns `false` (having closed the consumer) when
    /// shutdown came while a batch kept failing: its offsets stay uncommitted for the next member.
    @discardableResult
    private func applyFinishing(_ batch: PreparedBatch) async throws -> Bool {
        var failures = 0
        while true {
            do {
                // Bounded: a query caught by a dropped database connection can hang for good.
                try await BoundedWait.limit(to: configuration.batchTimeout, graceAfterShutdown: configuration.shutdownGrace) {
                    try await self.process(batch)
                }
                return true
            } catch {
                failures += 1
                logger.error(
                    "batch not applied; retrying", metadata: ["error": "\(String(reflecting: error))", "batch.size": "\(batch.messages.count)"])
                if Task.isShuttingDownGracefully || Task.isCancelled {
                    await consumer.close()
                    return false
                }
                await ShutdownGrace.pause(.milliseconds(min(5000, 100 << min(failures, 6))))
            }
        }
    }

    /// A polled batch decoded: the events to apply (prepared by the handler), those to dead-letter
    /// without trying, and how many the service ignores.
    struct PreparedBatch: Sendable {
        var messages: [ConsumedMessage]
        var events: [InboundEvent] = []
        var dead: [(message: ConsumedMessage, reason: DeadLetterReason)] = []
        var ignored = 0
    }

    static func prepare(_ batch: [ConsumedMessage], handler: any InboxHandler) -> PreparedBatch {
        var prepared = PreparedBatch(messages: batch)
        for message in batch {
            do {
                let event = try CloudEventKafkaBinding.event(value: message.value) { message.headers.string($0) }
                switch handler.disposition(for: event.type) {
                case .apply: prepared.events.append(InboundEvent(event: event, message: message))
                case .ignore: prepared.ignored += 1
                case .unknown: prepared.dead.append((message, .unknownType(event.type.rawValue)))
                }
            } catch {
                prepared.dead.append((message, DeadLetterReason(kind: error.kind, detail: error.description)))
            }
        }
        prepared.events = handler.prepare(prepared.events)
        return prepared
    }

    /// Applies one polled batch durably and commits its offsets.
    public func process(_ batch: [ConsumedMessage]) async throws {
        try await process(Self.prepare(batch, handler: handler))
    }

    private func process(_ prepared: PreparedBatch) async throws {
        let start = ContinuousClock.now
        let batch = prepared.messages, events = prepared.events, ignored = prepared.ignored
        var dead = prepared.dead
        let (applied, rejected) = try await apply(events)
        dead += rejected.map { ($0.event.message, $0.reason) }
        // In partition order, so the dead-letter topic reads like the stream it came from.
        dead.sort { ($0.message.topic, $0.message.partition, $0.message.offset) < ($1.message.topic, $1.message.partition, $1.message.offset) }
        try await deadLetters.publish(dead)
        // Recorded only once the dead letter is on the broker: a crash in between dead-letters it twice
        // rather than not at all.
        try await recordDeadLettered(rejected.map(\.event))
        await configuration.afterApply?(batch.count)
        try await consumer.commit(batch)

        let duplicates = events.count - applied - rejected.count
        counts.withLock { stats in
            stats.consumed += batch.count
            stats.applied += applied
            stats.duplicates += duplicates
            stats.ignored += ignored
            stats.deadLettered += dead.count
            stats.batches += 1
        }
        if duplicates > 0 {
            duplicatesSkipped.increment(by: duplicates)
        }
        for (topic, count) in Dictionary(grouping: batch, by: \.topic).mapValues(\.count) {
            Counter(label: "events_consumed_total", dimensions: [("topic", topic), ("group", consumer.groupID)]).increment(by: count)
        }
        if ignored > 0 {
            eventsIgnored.increment(by: ignored)
        }
        batchTimer.record(duration: ContinuousClock.now - start)
    }

    /// Publishes the lag of every assigned partition, and zero for partitions this member no longer
    /// holds (another member reports them now), so a rebalance does not leave a stale lag behind.
    private func recordLag(previously reported: Set<TopicPartition>) async -> Set<TopicPartition> {
        let lag = await consumer.lag()
        func gauge(_ partition: TopicPartition) -> Gauge {
            Gauge(label: "consumer_lag_records", dimensions: [("group", consumer.groupID), ("topic", partition.topic), ("partition", String(partition.partition))])
        }
        for (partition, behind) in lag { gauge(partition).record(behind) }
        for partition in reported.subtracting(lag.keys) { gauge(partition).record(0) }
        return Set(lag.keys)
    }

    /// Applies the batch in one transaction. When the handler rejects events, the transaction is rolled
    /// back and the batch applied again without them (and without any later event that depended on one),
    /// until what remains applies. Returns how many were applied and the rejected events' records.
    private func apply(_ events: [InboundEvent]) async throws -> (Int, [(event: InboundEvent, reason: DeadLetterReason)]) {
        var remaining = events
        var rejected: [(event: InboundEvent, reason: DeadLetterReason)] = []
        while !remaining.isEmpty {
            let found: [EventRejection]
            do {
                return (try await applyInTransaction(remaining), rejected)
            } catch let rejection as EventRejection {
                found = [rejection]
            } catch let rejections as EventRejections {
                found = rejections.rejections
            }
            let reasons = Dictionary(found.map { ($0.eventID, $0.reason) }) { first, _ in first }
            guard remaining.contains(where: { reasons[$0.event.id] != nil }) else {
                throw EventRejections(rejections: found)  // names no event of this batch: a handler bug, retried as transient
            }
            for event in remaining {
                if let reason = reasons[event.event.id] { rejected.append((event, reason)) }
            }
            remaining.removeAll { reasons[$0.event.id] != nil }
        }
        return (0, rejected)
    }

    /// Returns how many events were new and applied.
    private func applyInTransaction(_ events: [InboundEvent]) async throws -> Int {
        let handler = handler
        let logger = logger
        return try await database.transaction { connection in
            let fresh = try await Inbox.claim(events, outcome: "applied", on: connection, logger: logger)
            guard !fresh.isEmpty else { return 0 }
            try await handler.apply(fresh, on: connection, logger: logger)
            return fresh.count
        }
    }

    /// A rejected event is recorded too, so a redelivery does not dead-letter it a second time.
    private func recordDeadLettered(_ events: [InboundEvent]) async throws {
        guard !events.isEmpty else { return }
        let logger = logger
        _ = try await database.transaction { connection in
            try await Inbox.claim(events, outcome: "dead-lettered", on: connection, logger: logger)
        }
    }
}

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
