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

/// Consumes a topic into a service: each batch is applied and its event ids recorded in the inbox in
/// one PostgreSQL transaction, and only then are the offsets committed. A redelivered event finds its
/// id in the inbox and is skipped, so every event takes effect exactly once.
///
/// Failures (see `ConsumerFailure`): a transient one (the database or broker away) retries the same
/// batch with a growing pause, losing nothing. One that comes from the input is isolated: the batch is
/// split and its halves applied on their own until the record that fails alone is found; that record
/// is dead-lettered with its reason and the rest applied, in order, within the same batch. Records an
/// operator parked are dead-lettered as `parked`. Every wait and failure is visible in
/// `ConsumerHealth` (readiness, metrics).
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
        /// The longest pause between two tries of a batch that fails as transient.
        public var maximumBackoff: Duration = .seconds(5)
        /// Failed tries of a batch (as transient) before it is applied in halves to find the record that
        /// holds it up, so that what precedes that record applies and `ConsumerHealth` names its offset.
        public var triesBeforeProbing = 3
        /// How often the parked records are read again (and at once before a failed batch is retried).
        public var parkedRefresh: Duration = .seconds(2)
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
    private let health: ConsumerHealth
    private let parkedRecords: ParkedRecordRepository
    private let parked = Mutex<[ParkedRecord.Place: ParkedRecord]>([:])
    private let counts = Mutex(InboxStatistics())
    private let duplicatesSkipped: Counter
    private let eventsIgnored: Counter
    private let batchTimer: Metrics.Timer

    public var statistics: InboxStatistics { counts.withLock { $0 } }
    private var group: String { consumer.groupID }

    public init(
        database: Database, consumer: KafkaConsumer, deadLetters: DeadLetterPublisher, handler: any InboxHandler,
        configuration: Configuration = .init(), health: ConsumerHealth = ConsumerHealth(), logger: Logger
    ) {
        self.database = database
        self.consumer = consumer
        self.deadLetters = deadLetters
        self.handler = handler
        self.configuration = configuration
        self.health = health
        self.parkedRecords = ParkedRecordRepository(database: database)
        var logger = logger
        logger[metadataKey: "kafka.group"] = "\(consumer.groupID)"
        self.logger = logger
        let group = [("group", consumer.groupID)]
        duplicatesSkipped = Counter(label: "inbox_duplicates_skipped_total", dimensions: group)
        eventsIgnored = Counter(label: "events_ignored_total", dimensions: group)
        batchTimer = Metrics.Timer(label: "consumer_batch_seconds", dimensions: group, preferredDisplayUnit: .seconds)
    }

    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            // Beside the consume loop, so that a batch that keeps failing still shows in the gauges.
            tasks.addTask { await self.report() }
            defer { tasks.cancelAll() }
            try await consume()
        }
    }

    /// Every second: lag and stall gauges; every `parkedRefresh`: the parked records.
    private func report() async {
        var parkedDue = ContinuousClock.now
        while !Task.isCancelled {
            health.brokerLag(await consumer.lag(), group: group)
            health.recordGauges(group: group)
            if ContinuousClock.now >= parkedDue {
                await refreshParked()
                parkedDue = ContinuousClock.now + configuration.parkedRefresh
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func refreshParked() async {
        do {
            let found = try await parkedRecords.pending(for: group)
            parked.withLock { $0 = found }
        } catch {
            logger.debug("parked records not read", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    private func consume() async throws {
        var ready: PreparedBatch?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
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
                guard finished else {
                    health.released(next, group: group)
                    return
                }
                ready = prepared
            }
        }
        if let ready {
            if Task.isCancelled {
                health.released(ready.messages, group: group)
            } else {
                // Shutting down with a batch already prepared: finish it rather than have it redelivered.
                try await applyFinishing(ready)
            }
        }
        await consumer.close()
    }

    /// A poll, or `nil` once the consumer is closed. Fatal and authorisation errors stop the service so
    /// the orchestrator restarts it and alerts.
    private func poll(timeout: Duration) async throws -> [ConsumedMessage]? {
        do {
            let polled = try await consumer.poll(maxMessages: configuration.batchSize, timeout: timeout)
            if !polled.isEmpty { health.hold(polled, group: group) }
            return polled
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
                // After a few tries, look for the record that holds the batch up: what precedes it applies.
                let probing = failures >= configuration.triesBeforeProbing
                try await BoundedWait.limit(to: configuration.batchTimeout, graceAfterShutdown: configuration.shutdownGrace) {
                    try await self.process(batch, probing: probing)
                }
                health.applied(batch.messages, group: group)
                return true
            } catch {
                failures += 1
                let failure = ConsumerFailure.classify(error)
                let place = batch.messages.first.map { "\($0.topic)/\($0.partition)/\($0.offset)" } ?? "-"
                health.failed(batch.messages, group: group, failure: failure, error: ConsumerFailure.describe(error))
                logger.error(
                    "batch not applied; retrying",
                    metadata: [
                        "error": "\(String(reflecting: error))", "failure": "\(failure.label)", "batch.size": "\(batch.messages.count)",
                        "batch.first": "\(place)", "batch.tries": "\(failures)",
                    ])
                if Task.isShuttingDownGracefully || Task.isCancelled {
                    health.released(batch.messages, group: group)
                    await consumer.close()
                    return false
                }
                let pause = min(configuration.maximumBackoff, .milliseconds(100) * (1 << min(failures, 10)))
                await ShutdownGrace.pause(pause)
                // An operator may have parked a record of this batch meanwhile.
                await refreshParked()
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
                case .apply:
                    // Refused before any statement runs: the database would refuse it on every try.
                    if let problem = event.unstorableText {
                        prepared.dead.append((message, .unstorable(problem)))
                    } else {
                        prepared.events.append(InboundEvent(event: event, message: message))
                    }
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
        try await process(Self.prepare(batch, handler: handler), probing: false)
    }

    private func process(_ prepared: PreparedBatch, probing: Bool) async throws {
        let start = ContinuousClock.now
        let batch = prepared.messages, ignored = prepared.ignored
        var events = prepared.events
        var dead = prepared.dead
        let (parkedEvents, parkedPlaces) = setAsideParked(events: &events, dead: &dead)
        let (applied, rejected) = try await applyIsolating(events, probing: probing)
        dead += rejected.map { ($0.event.message, $0.reason) }
        // In partition order, so the dead-letter topic reads like the stream it came from.
        dead.sort { ($0.message.topic, $0.message.partition, $0.message.offset) < ($1.message.topic, $1.message.partition, $1.message.offset) }
        try await deadLetters.publish(dead)
        // Recorded only once the dead letter is on the broker: a crash in between dead-letters it twice
        // rather than not at all.
        try await recordDeadLettered(rejected.map(\.event) + parkedEvents)
        try await parkedRecords.markDeadLettered(parkedPlaces)
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
            Counter(label: "events_consumed_total", dimensions: [("topic", topic), ("group", group)]).increment(by: count)
        }
        if !parkedPlaces.isEmpty {
            for (topic, count) in Dictionary(grouping: parkedPlaces, by: \.topic).mapValues(\.count) {
                Counter(label: "consumer_records_parked_total", dimensions: [("group", group), ("topic", topic)]).increment(by: count)
            }
        }
        if ignored > 0 {
            eventsIgnored.increment(by: ignored)
        }
        batchTimer.record(duration: ContinuousClock.now - start)
    }

    /// Moves the records an operator parked out of the batch and into its dead letters. Returns the
    /// parked events (recorded in the inbox like any dead-lettered one) and the places met.
    private func setAsideParked(
        events: inout [InboundEvent], dead: inout [(message: ConsumedMessage, reason: DeadLetterReason)]
    ) -> ([InboundEvent], [ParkedRecord.Place]) {
        let parked = parked.withLock { $0 }
        guard !parked.isEmpty else { return ([], []) }
        func record(_ message: ConsumedMessage) -> ParkedRecord? {
            parked[ParkedRecord.Place(topic: message.topic, partition: message.partition, offset: message.offset)]
        }
        var places: [ParkedRecord.Place] = []
        var parkedEvents: [InboundEvent] = []
        events.removeAll { event in
            guard let found = record(event.message) else { return false }
            parkedEvents.append(event)
            dead.append((event.message, found.deadLetterReason))
            places.append(found.place)
            return true
        }
        for index in dead.indices {
            if let found = record(dead[index].message), dead[index].reason.kind != "parked" {
                dead[index].reason = found.deadLetterReason
                places.append(found.place)
            }
        }
        return (parkedEvents, places)
    }

    /// Applies `events`, setting aside those that cannot be applied: a failure that comes from the
    /// input splits the events in two halves applied one after the other (each committing on its own),
    /// down to the single record that fails alone, which is rejected with the failure as its reason.
    /// A transient failure is thrown: the caller retries, and the inbox skips what already committed.
    /// When `probing`, a transient failure splits the events too: the first half is applied before the
    /// second is tried, so everything before the record that fails applies, and the failure is thrown
    /// from that record (its partition waits on it; the rest of the batch is tried again later).
    private func applyIsolating(
        _ events: [InboundEvent], probing: Bool
    ) async throws -> (Int, [(event: InboundEvent, reason: DeadLetterReason)]) {
        do {
            return try await apply(events)
        } catch {
            guard case .poison(let kind) = ConsumerFailure.classify(error) else {
                guard probing, events.count > 1 else { throw error }
                let half = events.count / 2
                let (firstApplied, firstRejected) = try await applyIsolating(Array(events[..<half]), probing: true)
                health.progressed(events[..<half].map(\.message), group: group)
                let (secondApplied, secondRejected) = try await applyIsolating(Array(events[half...]), probing: true)
                return (firstApplied + secondApplied, firstRejected + secondRejected)
            }
            health.failed(events.map(\.message), group: group, failure: .poison(kind: kind), error: ConsumerFailure.describe(error))
            guard events.count > 1 else {
                let event = events[0]
                logger.warning(
                    "record fails on its own; dead-lettering it",
                    metadata: [
                        "event.id": "\(event.event.id)", "aggregate.id": "\(event.event.subject ?? event.message.keyString ?? "-")",
                        "kafka.topic": "\(event.message.topic)", "kafka.partition": "\(event.message.partition)",
                        "kafka.offset": "\(event.message.offset)", "error": "\(String(reflecting: error))",
                    ])
                return (0, [(event, DeadLetterReason(kind: kind, detail: ConsumerFailure.describe(error)))])
            }
            let half = events.count / 2
            let (firstApplied, firstRejected) = try await applyIsolating(Array(events[..<half]), probing: probing)
            let (secondApplied, secondRejected) = try await applyIsolating(Array(events[half...]), probing: probing)
            return (firstApplied + secondApplied, firstRejected + secondRejected)
        }
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
