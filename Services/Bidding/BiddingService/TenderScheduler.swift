import BiddingCore
import Foundation
import Logging
import Messaging
import Metrics
import PostgresNIO
import ServiceLifecycle
import Storage

/// The time-based steps of a tender: at the deadline bidding closes (the key is released, the bids
/// are opened), then the panel is drawn. Deadlines are columns, not timers: after a restart the first
/// round catches up on every tender whose deadline passed while the service was down. Each tender is
/// one transaction guarded by its status, so a round that dies half-way or runs twice changes nothing
/// twice; replicas share the work (`FOR UPDATE SKIP LOCKED`).
public final class TenderScheduler: Service, Sendable {
    let database: Database
    let desk: EvaluationDesk
    let clock: @Sendable () -> Date
    let interval: Duration
    let logger: Logger

    init(database: Database, desk: EvaluationDesk, clock: @escaping @Sendable () -> Date, interval: Duration, logger: Logger) {
        self.database = database
        self.desk = desk
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await PeriodicWork.run(every: interval, logger: logger, failure: "tender round failed") {
            let (closed, _) = try await round()
            try await recordGauges(now: clock())
            return closed == Self.batchSize  // more are due
        }
    }

    static let batchSize = 100

    /// One round: closes what is due, then draws the panels of closed tenders. Returns how many of each.
    @discardableResult
    public func round() async throws -> (closed: Int, drawn: Int) {
        let closed = try await step(status: .published, due: true) { tender, now, connection in
            _ = try await self.desk.close(tender, now: now, on: connection)
        }
        let drawn = try await step(status: .biddingClosed, due: false) { tender, now, connection in
            do {
                _ = try await self.desk.drawPanel(tender, now: now, on: connection)
            } catch BiddingError.panelShortfall(let shortfall) {
                // The pool may grow (the registry publishes more experts); the next round tries again.
                Counter(label: "bidding_panel_shortfalls_total").increment()
                self.logger.warning("panel cannot be drawn yet", metadata: ["aggregate.id": "\(tender.id)", "problem": "\(shortfall.description)"])
                throw Skip()
            }
        }
        return (closed, drawn)
    }

    struct Skip: Error {}

    private func step(
        status: TenderStatus, due: Bool, _ work: @escaping @Sendable (TenderRecord, Date, PostgresConnection) async throws -> Void
    ) async throws -> Int {
        let now = clock()
        let logger = logger
        let ids: [UUID] = try await database.withConnection { connection in
            try await connection.query(
                """
                SELECT id FROM tender WHERE status = \(status.rawValue) AND (NOT \(due) OR deadline_at <= \(now))
                ORDER BY deadline_at LIMIT \(Self.batchSize)
                """, logger: logger
            ).collect { try $0["id"].decode(UUID.self) }
        }
        var done = 0
        for id in ids {
            do {
                let handled = try await database.transaction { connection in
                    // Re-read under a lock that replicas skip: another may have taken it meanwhile.
                    guard let tender = try await self.desk.store.find(id, skippingIfLocked: status, on: connection) else { return false }
                    try await work(tender, now, connection)
                    return true
                }
                if handled { done += 1 }
            } catch is Skip {
                continue
            } catch {
                // One tender's trouble must not hold up the others; the next round tries it again.
                Counter(label: "bidding_scheduler_failures_total", dimensions: [("step", status.rawValue)]).increment()
                logger.error("tender step failed", metadata: ["aggregate.id": "\(id)", "status": "\(status.rawValue)", "error": "\(error)"])
            }
        }
        return done
    }

    /// Tenders per status, and those whose deadline passed without bidding being closed: the
    /// scheduler's backlog, zero when it keeps up.
    func recordGauges(now: Date) async throws {
        let logger = logger
        let (counts, overdue) = try await database.withConnection { connection in
            let counts = try await connection.query("SELECT status, count(*)::int8 AS n FROM tender GROUP BY status", logger: logger).collect {
                (try $0["status"].decode(String.self), try $0["n"].decode(Int.self))
            }
            let overdue = try await connection.query(
                "SELECT count(*)::int8 AS n FROM tender WHERE status = 'published' AND deadline_at <= \(now)", logger: logger
            ).collect { try $0["n"].decode(Int.self) }.first ?? 0
            return (counts, overdue)
        }
        for status in TenderStatus.allCases {
            Gauge(label: "bidding_tenders", dimensions: [("status", status.rawValue)]).record(counts.first { $0.0 == status.rawValue }?.1 ?? 0)
        }
        Gauge(label: "bidding_overdue_tenders").record(overdue)
    }
}
