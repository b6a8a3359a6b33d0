import Contracts
import Foundation
import Logging
import Messaging
import Metrics
import PostgresNIO
import ServiceLifecycle
import ServiceRuntime
import Storage
import VolunteerCore

/// Keeps every open need asked: expires offers nobody answered in time, then asks the next candidates
/// for each need with open seats and too few pending offers. Offers and needs are rows, not timers, so
/// a restart loses nothing; replicas share the work (`FOR UPDATE SKIP LOCKED`).
///
/// A round reads only the needs due (`dispatch_after`, see `OfferDesk`): a need asked enough is
/// parked until its earliest pending offer expires, so a city with many open needs does not have each
/// of them counted every few seconds.
public final class OfferDispatcher: Service, Sendable {
    let database: Database
    let directory: VolunteerDirectory
    let clock: @Sendable () -> Date
    let interval: Duration
    let batchSize: Int
    let logger: Logger

    public init(
        database: Database, directory: VolunteerDirectory, clock: @escaping @Sendable () -> Date = Date.init, interval: Duration = .seconds(5),
        batchSize: Int = 200, logger: Logger
    ) {
        self.database = database
        self.directory = directory
        self.clock = clock
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        await PeriodicWork.run(every: interval, logger: logger, failure: "offer round failed") {
            let round = try await round()
            try await recordBacklog(now: clock())
            return round.asked == batchSize || round.parked == Self.parkingLimit
        }
    }

    /// How many due needs one round reads at most.
    static let parkingLimit = 5000

    /// One round: expire, park the needs asked enough, then ask for the others. Returns how many
    /// needs were asked for and how many parked.
    @discardableResult
    public func round() async throws -> (asked: Int, parked: Int) {
        guard directory.isLoaded else { return (0, 0) }
        let desk = OfferDesk(logger: logger), now = clock(), limit = batchSize, logger = logger
        let expired = try await database.transaction { connection in try await desk.expire(now: now, limit: limit, on: connection) }
        for need in expired { logger.info("offers expired; asking the next candidates", metadata: ["aggregate.id": "\(need)"]) }
        let (waiting, parked) = try await due(now: now)
        let directory = directory
        for need in waiting {
            try await database.transaction { connection in
                // Another replica may hold this need; it will ask for it.
                for try await _ in try await connection.query("SELECT 1 FROM service_need WHERE id = \(need) FOR UPDATE SKIP LOCKED", logger: logger) {
                    _ = try await desk.dispatch(need: need, directory: directory, now: now, on: connection)
                }
            }
        }
        return (waiting.count, parked)
    }

    /// The due needs, in one statement: those short of pending offers, earliest service first, to be
    /// asked for; the others parked. A need asked enough waits for its earliest pending offer to
    /// expire; a need whose first window has begun is not asked for again. A need changed since it
    /// was read (an answer, a cancellation) keeps its place, and the next round reads it again.
    func due(now: Date) async throws -> (waiting: [UUID], parked: Int) {
        let retry = now.addingTimeInterval(OfferDesk.retryAfter), limit = batchSize, logger = logger
        return try await database.withConnection { connection in
            var waiting: [UUID] = [], parked = 0
            for try await (id, count) in try await connection.query(
                """
                WITH due AS MATERIALIZED (
                    SELECT n.id, n.xmin AS seen, n.first_start, n.first_start <= \(now) AS begun, p.next_expiry,
                           p.pending >= (n.volunteers - n.confirmed) * CASE n.urgency WHEN 'urgent' THEN 3 WHEN 'soon' THEN 2 ELSE 1 END AS asked_enough
                    FROM service_need n
                    CROSS JOIN LATERAL (
                        SELECT count(*) AS pending, min(o.expires_at) AS next_expiry FROM offer o WHERE o.need_id = n.id AND o.status = 'pending') p
                    WHERE n.status = 'open' AND n.dispatch_after <= \(now)
                    ORDER BY n.dispatch_after LIMIT \(Self.parkingLimit)
                ), parked AS (
                    UPDATE service_need n SET dispatch_after = CASE WHEN d.begun THEN 'infinity' ELSE coalesce(d.next_expiry, \(retry)) END
                    FROM due d WHERE n.id = d.id AND n.xmin = d.seen AND (d.begun OR d.asked_enough)
                    RETURNING 1
                )
                SELECT w.id, p.parked
                FROM (SELECT count(*)::int8 AS parked FROM parked) p
                LEFT JOIN LATERAL (
                    SELECT d.id, d.first_start FROM due d WHERE NOT d.begun AND NOT d.asked_enough ORDER BY d.first_start LIMIT \(limit)) w ON true
                ORDER BY w.first_start
                """, logger: logger
            ).decode((UUID?, Int).self) {
                parked = count
                if let id { waiting.append(id) }
            }
            return (waiting, parked)
        }
    }

    /// Open needs, pending offers, and needs still short of volunteers a day before they start.
    func recordBacklog(now: Date) async throws {
        let logger = logger
        let (open, pending, short) = try await database.withConnection { connection in
            var figures = (0, 0, 0)
            for try await row in try await connection.query(
                """
                SELECT (SELECT count(*) FROM service_need WHERE status = 'open')::int8,
                       (SELECT count(*) FROM offer WHERE status = 'pending')::int8,
                       (SELECT count(*) FROM service_need WHERE status = 'open' AND first_start < \(now.addingTimeInterval(86400)) AND last_end > \(now))::int8
                """, logger: logger
            ).decode((Int, Int, Int).self) { figures = row }
            return figures
        }
        Gauge(label: "volunteer_matching_open_needs").record(open)
        Gauge(label: "volunteer_matching_pending_offers").record(pending)
        Gauge(label: "volunteer_matching_needs_short_within_day").record(short)
    }
}

/// Publishes `volunteer.reminder.due.v1` once for each confirmed service window starting within the
/// lead time, for the notification system to tell the volunteer. Marked in the same transaction, so a
/// reminder is published once even across restarts.
public final class ReminderScheduler: Service, Sendable {
    let database: Database
    let clock: @Sendable () -> Date
    let lead: TimeInterval
    let interval: Duration
    let logger: Logger

    public init(
        database: Database, lead: TimeInterval, clock: @escaping @Sendable () -> Date = Date.init, interval: Duration = .seconds(30), logger: Logger
    ) {
        self.database = database
        self.clock = clock
        self.lead = lead
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await PeriodicWork.run(every: interval, logger: logger, failure: "reminder round failed") { try await remind() == Self.batchSize }
    }

    static let batchSize = 500

    @discardableResult
    public func remind() async throws -> Int {
        let now = clock(), until = now.addingTimeInterval(lead), logger = logger
        let sent = try await database.transaction { connection in
            var due: [ReminderDue] = []
            for try await row in try await connection.query(
                """
                SELECT w.assignment_id, a.need_id, w.volunteer_id, n.kind, w.starts_at, w.ends_at, n.district_code, n.street_code, n.community_code, n.grid_code
                FROM assignment_window w JOIN assignment a ON a.id = w.assignment_id JOIN service_need n ON n.id = a.need_id
                WHERE w.held AND w.reminded_at IS NULL AND w.starts_at > \(now) AND w.starts_at <= \(until)
                ORDER BY w.starts_at LIMIT \(Self.batchSize) FOR UPDATE OF w SKIP LOCKED
                """, logger: logger
            ).decode((UUID, UUID, UUID, String, Date, Date, String, String, String, String).self) {
                due.append(
                    ReminderDue(
                        assignmentId: row.0, needId: row.1, volunteerId: row.2, kind: row.3, window: ServiceWindow(start: row.4, end: row.5),
                        location: PlaceLocation(district: row.6, street: row.7, community: row.8, grid: row.9)))
            }
            for reminder in due {
                try await connection.query(
                    "UPDATE assignment_window SET reminded_at = \(now) WHERE assignment_id = \(reminder.assignmentId) AND starts_at = \(reminder.window.start)",
                    logger: logger)
                try await VolunteerEvents.append(VolunteerEventTypes.reminderDue, key: reminder.volunteerId, reminder, now: now, on: connection, logger: logger)
            }
            return due.count
        }
        Counter(label: "volunteer_matching_reminders_total").increment(by: sent)
        return sent
    }
}
