import Contracts
import Foundation
import Logging
import MediationCore
import Messaging
import Metrics
import PostgresNIO
import ServiceLifecycle
import ServiceRuntime
import Storage

/// Escalates cases whose deadline passed: records the miss against the level that held the case,
/// publishes `deadline-missed`, and moves the case one level up (where routing runs again). Deadlines
/// are columns, not timers: a restart loses none, and a round is one transaction, so a crash in the
/// middle escalates nothing twice. Replicas share the work (`FOR UPDATE SKIP LOCKED`).
public final class DeadlineWatcher: Service, Sendable {
    let database: Database
    let store: CaseStore
    let clock: @Sendable () -> Date
    let interval: Duration
    let batchSize: Int
    let logger: Logger
    /// Fault-injection point for drills: called after each case of a round is escalated, inside the
    /// round's transaction. Throwing aborts the round as a crash would.
    let afterEach: (@Sendable (Int) async throws -> Void)?
    static let system = Principal(subject: "deadline-watcher", role: .cityAdmin, scope: .city, name: "Deadline watcher")

    public init(
        database: Database, timeZone: TimeZone, clock: @escaping @Sendable () -> Date = Date.init, interval: Duration = .seconds(30),
        batchSize: Int = 500, logger: Logger, afterEach: (@Sendable (Int) async throws -> Void)? = nil
    ) {
        self.afterEach = afterEach
        self.database = database
        self.store = CaseStore(logger: logger, timeZone: timeZone)
        self.clock = clock
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        await PeriodicWork.run(every: interval, logger: logger, failure: "deadline round failed") {
            if try await escalateOverdue() == batchSize { return true }  // more are waiting
            try await recordBacklog(now: clock())
            return false
        }
    }

    /// One round: up to `batchSize` overdue cases. Returns how many were handled.
    @discardableResult
    public func escalateOverdue() async throws -> Int {
        let now = clock()
        let store = store, limit = batchSize, logger = logger, afterEach = afterEach
        let handled: [(UUID, String, Bool)] = try await database.transaction { connection in
            let rows = try await connection.query(
                """
                SELECT id FROM dispute_case WHERE deadline_at < \(now)
                ORDER BY deadline_at LIMIT \(limit) FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var ids: [UUID] = []
            for try await id in rows.decode(UUID.self) { ids.append(id) }
            var handled: [(UUID, String, Bool)] = []
            for id in ids {
                guard let record = try await store.find(id, on: connection), let deadline = record.deadlineAt else { continue }
                let level = record.state.level
                try await connection.query(
                    """
                    INSERT INTO deadline_miss (case_id, level, held_by, deadline_at, detected_at)
                    VALUES (\(id), \(level.rawValue), \(record.heldBy), \(deadline), \(now))
                    """, logger: logger)
                try await store.missed(record, now: now, on: connection)
                if level.next != nil {
                    _ = try await store.apply(.escalate(reason: "deadline missed at \(level.rawValue) \(record.heldBy)"), to: id, actor: Self.system, reason: nil, now: now, on: connection)
                } else {
                    // Nowhere higher to go: the miss is on record; stop re-detecting it.
                    try await connection.query("UPDATE dispute_case SET deadline_at = NULL, updated_at = \(now) WHERE id = \(id)", logger: logger)
                }
                handled.append((id, level.rawValue, level.next != nil))
                try await afterEach?(handled.count)
            }
            return handled
        }
        for (id, level, escalated) in handled {
            Counter(label: "mediation_deadlines_missed_total", dimensions: [("level", level)]).increment()
            logger.info("deadline missed", metadata: ["aggregate.id": "\(id)", "level": "\(level)", "escalated": "\(escalated)"])
        }
        return handled.count
    }

    /// Open cases per level and those past their deadline: the backlog an operator watches.
    func recordBacklog(now: Date) async throws {
        let logger = logger
        let counts = try await database.withConnection { connection in
            var counts: [(String, Int, Int)] = []
            let rows = try await connection.query(
                """
                SELECT level, count(*)::int8, (count(*) FILTER (WHERE deadline_at < \(now)))::int8 FROM dispute_case
                WHERE status IN ('reported', 'accepted', 'assigned', 'in-mediation') GROUP BY level
                """, logger: logger)
            for try await row in rows.decode((String, Int, Int).self) { counts.append(row) }
            return counts
        }
        for level in MediationLevel.allCases {
            let row = counts.first { $0.0 == level.rawValue }
            Gauge(label: "mediation_open_cases", dimensions: [("level", level.rawValue)]).record(row?.1 ?? 0)
            Gauge(label: "mediation_overdue_cases", dimensions: [("level", level.rawValue)]).record(row?.2 ?? 0)
        }
    }
}

extension CaseStore {
    /// The `deadline-missed` event and history row, before the escalation that follows it.
    func missed(_ record: CaseRecord, now: Date, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO case_transition (case_id, action, from_status, to_status, from_level, to_level, actor, reason, at)
            VALUES (\(record.id), 'deadline-missed', \(record.state.status.rawValue), \(record.state.status.rawValue),
                    \(record.state.level.rawValue), \(record.state.level.rawValue), 'deadline-watcher', \(record.deadlineAt.map { "deadline was \($0)" }), \(now))
            """, logger: logger)
        let key = record.id.uuidString.lowercased()
        let event = CloudEvent(
            source: "/mediation", type: MediationEventTypes.deadlineMissed, subject: key, time: now,
            data: try EventCoding.encode(CaseTransitioned(case: record.snapshot, action: "deadline-missed", actor: "deadline-watcher", reason: nil)))
        try await Outbox.append([OutboxEntry(topic: Topic.mediationEvents.name, key: key, event: event)], on: connection, logger: logger)
    }
}
