import Foundation
import Logging
import Messaging
import Metrics
import PostgresNIO
import ServiceLifecycle
import ServiceRuntime
import Storage
import Synchronization
import VolunteerCore

/// The candidate index in memory, kept from the `volunteer` table: loaded whole at start, then every
/// `interval` (and right after this process changes a volunteer) the rows changed since the last look
/// are loaded again. The index proposes; the database decides: an offer re-checks the volunteer
/// (active, not paused, free) and the exclusion constraint refuses a double booking, so a stale
/// index can cost a poorer ranking for a moment but never a wrong booking.
public final class VolunteerDirectory: Service, Sendable {
    struct State {
        var index: CandidateIndex
        var loaded = false
        /// The database's clock at the start of the last look, and the month the figures are for.
        var watermark: Date?
        var month = ""
    }

    let database: Database
    let calendar: Calendar
    let interval: Duration
    let logger: Logger
    private let state: Mutex<State>
    /// Rows that committed a little after the last look may carry an earlier `changed_at`; look back this far.
    static let overlap: TimeInterval = 10

    public init(database: Database, timeZone: TimeZone, interval: Duration = .seconds(2), logger: Logger) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
        self.database = database
        self.interval = interval
        self.logger = logger
        self.state = Mutex(State(index: CandidateIndex(calendar: calendar)))
    }

    public var isLoaded: Bool { state.withLock { $0.loaded } }
    public var count: Int { state.withLock { $0.index.count } }

    public func run() async throws {
        await PeriodicWork.run(every: interval, logger: logger, failure: "volunteer index refresh failed") {
            try await refresh()
            return false
        }
    }

    /// The eligible candidates for `need`, best first.
    func rank(_ need: NeedProfile, limit: Int, excluding: Set<UUID>) throws(VolunteerError) -> [Match] {
        let started = ContinuousClock.now
        let matches = try state.withLock { state throws(VolunteerError) in
            guard state.loaded else { throw VolunteerError.warmingUp }
            return state.index.rank(need, limit: limit, excluding: excluding)
        }
        let elapsed = (ContinuousClock.now - started).components
        Timer(label: "volunteer_matching_rank_duration_seconds").recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
        return matches
    }

    /// Loads what changed since the last look (everything, the first time or when the month turns).
    /// Changes are applied in chunks, each under the lock for a moment, so a large import of
    /// volunteers never holds up ranking for long, and never sits in memory whole.
    public func refresh() async throws {
        let (since, month) = state.withLock { ($0.watermark.map { $0.addingTimeInterval(-Self.overlap) }, $0.month) }
        let logger = logger, calendar = calendar
        let (whole, now) = try await database.withConnection { connection in
            var now = Date()
            for try await clock in try await connection.query("SELECT clock_timestamp()", logger: logger).decode(Date.self) { now = clock }
            let currentMonth = Self.monthKey(now, calendar: calendar)
            let changedSince = currentMonth == month ? since : nil
            let busy = try await Self.busy(changedSince: changedSince, from: now, on: connection, logger: logger)
            // Asked before the rows: one connection runs one query at a time.
            var total: Int?
            if changedSince == nil {
                for try await count in try await connection.query("SELECT count(*) FROM volunteer", logger: logger).decode(Int.self) { total = count }
            }
            let rows =
                if let changedSince {
                    try await connection.query(PostgresQuery(unsafeSQL: Self.select + " WHERE changed_at > $2", binds: .of(currentMonth, changedSince)), logger: logger)
                } else {
                    try await connection.query(PostgresQuery(unsafeSQL: Self.select, binds: .of(currentMonth)), logger: logger)
                }
            guard changedSince != nil else {
                // Built aside, row by row, then swapped in whole; sized first, because a table that
                // doubles as it grows holds both copies for a moment (the start's peak memory).
                var index = CandidateIndex(calendar: calendar)
                index.reserveCapacity(total ?? 0)
                for try await row in rows {
                    guard var profile = try Self.profile(row.makeRandomAccess()) else { continue }
                    profile.busy = busy[profile.id] ?? []
                    index.upsert(profile)
                }
                index.regroup()
                return (Optional(index), now)
            }
            var chunk: [(UUID, VolunteerProfile?)] = []
            for try await row in rows {
                let row = row.makeRandomAccess()
                let id = try row["role_id"].decode(UUID.self)
                var profile = try Self.profile(row)
                profile?.busy = busy[id] ?? []
                chunk.append((id, profile))
                if chunk.count == Self.chunkSize {
                    self.apply(chunk)
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            self.apply(chunk)
            return (nil, now)
        }
        let total = state.withLock { state in
            if let whole { state.index = whole }
            state.watermark = max(state.watermark ?? now, now)
            state.month = Self.monthKey(now, calendar: calendar)
            state.loaded = true
            return state.index.count
        }
        Gauge(label: "volunteer_matching_indexed_volunteers").record(total)
        if whole != nil {
            // Building the index aside leaves freed row buffers and the index's first tables in the
            // allocator: give them back instead of keeping the whole load's peak for good.
            releaseFreeMemory()
            let bytes = state.withLock { $0.index.estimatedBytes }
            logger.info("volunteer index loaded", metadata: ["volunteers": "\(total)", "bytes": "\(bytes)"])
        }
    }

    static let chunkSize = 1000

    /// Upserts the volunteers of a chunk and removes those whose role has ended (`nil`).
    private func apply(_ chunk: [(UUID, VolunteerProfile?)]) {
        guard !chunk.isEmpty else { return }
        state.withLock { state in
            for (id, profile) in chunk {
                if let profile { state.index.upsert(profile) } else { state.index.remove(id) }
            }
        }
    }

    static let select = """
        SELECT role_id, skills, availability, district_code, street_code, community_code, grid_code, active, paused,
               CASE WHEN month_key = $1 THEN hours_this_month ELSE 0 END AS hours, completed, no_shows, rating_sum, rating_count, households
        FROM volunteer
        """

    /// A volunteer as the engine sees them, or `nil` for one whose role has ended.
    static func profile(_ row: PostgresRandomAccessRow) throws -> VolunteerProfile? {
        guard try row["active"].decode(Bool.self) else { return nil }
        let ratings = try row["rating_count"].decode(Int.self)
        return VolunteerProfile(
            id: try row["role_id"].decode(UUID.self), skills: Set(try row["skills"].decode([String].self)),
            place: Whereabouts(
                grid: try row["grid_code"].decode(String?.self), community: try row["community_code"].decode(String?.self),
                street: try row["street_code"].decode(String?.self), district: try row["district_code"].decode(String?.self)),
            availability: try row["availability"].decode([String].self).compactMap(WeeklySlot.init),
            hoursThisMonth: try row["hours"].decode(Double.self), completed: try row["completed"].decode(Int.self),
            noShows: try row["no_shows"].decode(Int.self),
            averageRating: ratings == 0 ? nil : Double(try row["rating_sum"].decode(Int.self)) / Double(ratings),
            households: Set(try row["households"].decode([UUID].self)), paused: try row["paused"].decode(Bool.self))
    }

    /// The time each volunteer (changed since the last look, or all) holds from `now` on.
    static func busy(changedSince: Date?, from now: Date, on connection: PostgresConnection, logger: Logger) async throws -> [UUID: [TimeWindow]] {
        var busy: [UUID: [TimeWindow]] = [:]
        let rows =
            if let changedSince {
                try await connection.query(
                    """
                    SELECT w.volunteer_id, w.starts_at, w.ends_at FROM assignment_window w JOIN volunteer v ON v.role_id = w.volunteer_id
                    WHERE w.held AND w.ends_at > \(now) AND v.changed_at > \(changedSince)
                    """, logger: logger)
            } else {
                try await connection.query("SELECT volunteer_id, starts_at, ends_at FROM assignment_window WHERE held AND ends_at > \(now)", logger: logger)
            }
        for try await (volunteer, start, end) in rows.decode((UUID, Date, Date).self) {
            busy[volunteer, default: []].append(TimeWindow(start: start, end: end))
        }
        return busy
    }

    static func monthKey(_ date: Date, calendar: Calendar) -> String {
        let parts = calendar.dateComponents([.year, .month], from: date)
        let month = parts.month ?? 1
        return "\(parts.year ?? 0)-\(month < 10 ? "0" : "")\(month)"
    }
}

/// glibc's `malloc_trim(0)`, looked up at run time (the C library module does not export it);
/// nothing where it does not exist.
private func releaseFreeMemory() {
    #if os(Linux)
        typealias Trim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
            _ = unsafeBitCast(symbol, to: Trim.self)(0)
        }
    #endif
}
