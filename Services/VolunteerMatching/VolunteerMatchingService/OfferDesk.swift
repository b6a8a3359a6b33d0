import Contracts
import Foundation
import Logging
import Messaging
import Metrics
import PostgresNIO
import ServiceRuntime
import Storage
import VolunteerCore

/// Offers and assignments: who is asked for a need, their answers, and the seats they hold.
///
/// Every step locks the need's row first, so two volunteers accepting the last seat at once are
/// served one after the other: the first is confirmed, the second hears the need is filled. The
/// `assignment_window` exclusion constraint refuses a double booking even if two needs race.
///
/// A need's `dispatch_after` says when the dispatcher looks at it next, and is never later than the
/// expiry of its earliest pending offer: a need asked enough waits there (a need reported through
/// the API is written with it, `OfferDispatcher` parks the others), one short of candidates waits
/// `retryAfter` at most, and a decline, a withdrawal or a cancelled assignment makes it due at once.
struct OfferDesk: Sendable {
    let logger: Logger

    /// How long a need that found too few candidates waits before the dispatcher looks again.
    static let retryAfter: TimeInterval = 300

    static let offerColumns = "id, need_id, volunteer_id, status, rank, score::text, offered_at, expires_at, answered_at, reason"

    static func offer(_ row: PostgresRandomAccessRow) throws -> OfferSnapshot {
        OfferSnapshot(
            id: try row["id"].decode(UUID.self), needId: try row["need_id"].decode(UUID.self), volunteerId: try row["volunteer_id"].decode(UUID.self),
            status: try row["status"].decode(String.self), rank: try row["rank"].decode(Int.self),
            score: try EventCoding.decoder.decode(ScoreParts.self, from: Data(try row["score"].decode(String.self).utf8)),
            offeredAt: try row["offered_at"].decode(Date.self), expiresAt: try row["expires_at"].decode(Date.self),
            answeredAt: try row["answered_at"].decode(Date?.self), reason: try row["reason"].decode(String?.self))
    }

    func findOffer(_ id: UUID, lock: Bool = false, on connection: PostgresConnection) async throws -> OfferSnapshot? {
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(Self.offerColumns) FROM offer WHERE id = $1\(lock ? " FOR UPDATE" : "")", binds: .of(id)), logger: logger)
        return try await rows.collect(Self.offer).first
    }

    func offers(need: UUID, on connection: PostgresConnection) async throws -> [OfferSnapshot] {
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(Self.offerColumns) FROM offer WHERE need_id = $1 ORDER BY rank", binds: .of(need)), logger: logger)
        return try await rows.collect(Self.offer)
    }

    /// Asks the next best candidates until the need's open seats have enough pending offers (one to
    /// three per seat, by urgency). Candidates come from the index and are checked again here.
    @discardableResult
    func dispatch(need id: UUID, directory: VolunteerDirectory, now: Date, on connection: PostgresConnection) async throws -> [OfferSnapshot] {
        guard let need = try await NeedRecord.find(id, lock: true, on: connection, logger: logger) else { return [] }
        var asked: Set<UUID> = []
        var pending = 0, lastRank = 0
        for try await (volunteer, status, rank) in try await connection.query(
            "SELECT volunteer_id, status, rank FROM offer WHERE need_id = \(id)", logger: logger
        ).decode((UUID, String, Int).self) {
            asked.insert(volunteer)
            if status == "pending" { pending += 1 }
            lastRank = max(lastRank, rank)
        }
        let round = OfferRound(need: need, asked: asked, pending: pending, lastRank: lastRank)
        return try await ask([round], directory: directory, now: now, on: connection)[0]
    }

    /// The first offers of needs about to be written: nobody has been asked yet, so only who is free
    /// is read. Each comes with when the dispatcher should look at its need next.
    func firstOffers(for needs: [NeedRecord], directory: VolunteerDirectory, now: Date, on connection: PostgresConnection) async throws -> [FirstOffers] {
        let rounds = needs.map { OfferRound(need: $0, asked: [], pending: 0, lastRank: 0) }
        let (candidates, made) = try await choose(rounds, directory: directory, now: now, on: connection)
        return rounds.indices.map {
            FirstOffers(offers: made[$0], dispatchAfter: rounds[$0].nextLook(after: made[$0], candidates: candidates[$0], now: now))
        }
    }

    /// Asks for needs already written, in three statements however many needs there are: which
    /// candidates are free, when to look again at needs short of candidates, and the offers with their
    /// events.
    private func ask(_ rounds: [OfferRound], directory: VolunteerDirectory, now: Date, on connection: PostgresConnection) async throws -> [[OfferSnapshot]] {
        let (candidates, made) = try await choose(rounds, directory: directory, now: now, on: connection)
        let short = rounds.indices.filter { made[$0].count < candidates[$0].wanted }
        if !short.isEmpty {
            // Their earlier offers may expire before the look this round sets.
            try await connection.query(
                """
                UPDATE service_need n SET dispatch_after = LEAST(s.next_look, (SELECT min(o.expires_at) FROM offer o WHERE o.need_id = n.id AND o.status = 'pending'))
                FROM unnest(\(short.map { rounds[$0].need.id })::uuid[], \(short.map { rounds[$0].nextLook(after: made[$0], candidates: candidates[$0], now: now) })::timestamptz[])
                     AS s(id, next_look)
                WHERE n.id = s.id
                """, logger: logger)
        }
        let offers = made.flatMap { $0 }
        if !offers.isEmpty {
            var builder = QueryBuilder()
            let insert = try Self.insert(offers, now: now, binding: &builder)
            let events = Outbox.insert(try Self.events(offers, now: now), binding: &builder)
            try await connection.query(builder.query("WITH offers AS (\(insert)) \(events)"), logger: logger)
            Self.countMade(offers.count)
        }
        return made
    }

    static func countMade(_ offers: Int) {
        Counter(label: "volunteer_matching_offers_total", dimensions: [("outcome", "made")]).increment(by: offers)
    }

    /// Each round's candidates, and the offers to those still free.
    private func choose(
        _ rounds: [OfferRound], directory: VolunteerDirectory, now: Date, on connection: PostgresConnection
    ) async throws -> (candidates: [OfferRound.Candidates], made: [[OfferSnapshot]]) {
        let candidates = rounds.map { $0.candidates(directory: directory, now: now) }
        let free = try await free(candidates, rounds: rounds, on: connection)
        let made = rounds.indices.map { rounds[$0].offers(among: candidates[$0], free: free[$0], now: now) }
        let without = candidates.filter { $0.wanted > 0 && $0.matches.isEmpty }.count
        if without > 0 { Counter(label: "volunteer_matching_needs_without_candidates_total").increment(by: without) }
        return (candidates, made)
    }

    /// Of each round's candidates, those still active, not paused and not booked during the need's
    /// windows (the index may be a moment behind), in one query for all rounds.
    private func free(_ candidates: [OfferRound.Candidates], rounds: [OfferRound], on connection: PostgresConnection) async throws -> [Set<UUID>] {
        var free = [Set<UUID>](repeating: [], count: rounds.count)
        let pairs = candidates.enumerated().flatMap { index, candidate in candidate.matches.map { (index, $0.volunteer) } }
        guard !pairs.isEmpty else { return free }
        let windows = rounds.enumerated().flatMap { index, round in round.need.windows.map { (index, $0) } }
        for try await (index, volunteer) in try await connection.query(
            """
            SELECT p.round, p.volunteer FROM unnest(\(pairs.map(\.0))::int8[], \(pairs.map(\.1))::uuid[]) AS p(round, volunteer)
            JOIN volunteer v ON v.role_id = p.volunteer AND v.active AND NOT v.paused
            WHERE NOT EXISTS (
                SELECT 1 FROM assignment_window w,
                       unnest(\(windows.map(\.0))::int8[], \(windows.map(\.1.start))::timestamptz[], \(windows.map(\.1.end))::timestamptz[]) AS n(round, s, e)
                WHERE n.round = p.round AND w.volunteer_id = p.volunteer AND w.held AND w.starts_at < n.e AND n.s < w.ends_at)
            """, logger: logger
        ).decode((Int, UUID).self) { free[index].insert(volunteer) }
        return free
    }

    /// The `INSERT` of the offers of any number of needs, bound in `builder`; with `keptBy`, only the
    /// offers of the needs that part of the statement returned.
    static func insert(_ offers: [OfferSnapshot], now: Date, binding builder: inout QueryBuilder, keptBy part: String? = nil) throws -> String {
        let scores = try offers.map { String(decoding: try EventCoding.encode($0.score), as: UTF8.self) }
        return """
            INSERT INTO offer (id, need_id, volunteer_id, status, rank, score, offered_at, expires_at)
            SELECT o.id, o.need_id, o.volunteer_id, 'pending', o.rank, o.score::jsonb, \(builder.bind(now)), o.expires_at
            FROM unnest(\(builder.bind(offers.map(\.id)))::uuid[], \(builder.bind(offers.map(\.needId)))::uuid[],
                        \(builder.bind(offers.map(\.volunteerId)))::uuid[], \(builder.bind(offers.map(\.rank)))::int8[], \(builder.bind(scores))::text[],
                        \(builder.bind(offers.map(\.expiresAt)))::timestamptz[])
                 AS o(id, need_id, volunteer_id, rank, score, expires_at)\(part.map { " JOIN \($0) kept ON kept.id = o.need_id" } ?? "")
            """
    }

    /// The offers' events.
    static func events(_ offers: [OfferSnapshot], now: Date) throws -> [OutboxEntry] {
        try offers.map { try VolunteerEvents.entry(VolunteerEventTypes.offerMade, key: $0.volunteerId, OfferChanged(offer: $0), now: now) }
    }

    /// A volunteer says yes: a seat is taken, or the need is filled already and nothing changes.
    func accept(_ offerID: UUID, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> AssignmentSnapshot {
        let (offer, need) = try await lockedOffer(offerID, actor: actor, now: now, on: connection)
        guard need.status == "open", need.confirmed < need.volunteers else {
            throw VolunteerError.conflict("The need has all the volunteers it asked for; thank you all the same")
        }
        var available = false
        for try await ready in try await connection.query(
            "SELECT active AND NOT paused FROM volunteer WHERE role_id = \(offer.volunteerId)", logger: logger
        ).decode(Bool.self) { available = ready }
        guard available else { throw VolunteerError.conflict("The volunteer's role has ended or their offers are paused") }
        let assignment = AssignmentSnapshot(
            id: UUID.random(), needId: need.id, volunteerId: offer.volunteerId, householdId: need.householdId, status: "confirmed",
            windows: need.windows.map { ServiceWindow(start: $0.start, end: $0.end) }, confirmedAt: now, cancelledBy: nil, cancelReason: nil)
        try await connection.query(
            """
            INSERT INTO assignment (id, need_id, volunteer_id, offer_id, status, confirmed_at)
            VALUES (\(assignment.id), \(need.id), \(offer.volunteerId), \(offer.id), 'confirmed', \(now))
            """, logger: logger)
        do {
            try await connection.query(
                """
                INSERT INTO assignment_window (assignment_id, volunteer_id, starts_at, ends_at)
                SELECT \(assignment.id), \(offer.volunteerId), s, e FROM unnest(\(need.windows.map(\.start))::timestamptz[], \(need.windows.map(\.end))::timestamptz[]) AS n(s, e)
                """, logger: logger)
        } catch where SQLState.of(error) == SQLState.exclusionViolation {
            throw VolunteerError.doubleBooked(volunteer: offer.volunteerId)
        }
        try await connection.query("UPDATE offer SET status = 'accepted', answered_at = \(now) WHERE id = \(offer.id)", logger: logger)
        let filled = need.confirmed + 1 == need.volunteers
        try await connection.query(
            """
            UPDATE service_need SET confirmed = confirmed + 1, status = \(filled ? "filled" : "open"), updated_at = \(now) WHERE id = \(need.id)
            """, logger: logger)
        try await touch(volunteer: offer.volunteerId, serving: need.householdId, on: connection)
        try await VolunteerEvents.append(
            VolunteerEventTypes.assignmentConfirmed, key: offer.volunteerId, AssignmentChanged(assignment: assignment), now: now, on: connection, logger: logger)
        if filled {
            try await withdrawPending(need: need.id, reason: "need filled", now: now, on: connection)
            var record = need
            record.confirmed += 1
            record.status = "filled"
            try await record.publish(VolunteerEventTypes.needFilled, reason: nil, now: now, on: connection, logger: logger)
        }
        Counter(label: "volunteer_matching_offers_total", dimensions: [("outcome", "accepted")]).increment()
        logger.info("assignment confirmed", metadata: ["aggregate.id": "\(need.id)", "volunteer.id": "\(offer.volunteerId)", "filled": "\(filled)"])
        return assignment
    }

    /// A volunteer says no; the next candidate is asked.
    func decline(_ offerID: UUID, reason: String?, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> OfferSnapshot {
        var (offer, _) = try await lockedOffer(offerID, actor: actor, now: now, on: connection)
        try await connection.query(
            "UPDATE offer SET status = 'declined', answered_at = \(now), reason = \(reason) WHERE id = \(offer.id)", logger: logger)
        try await Self.makeDue([offer.needId], on: connection, logger: logger)
        offer.status = "declined"
        offer.answeredAt = now
        offer.reason = reason
        try await publish(VolunteerEventTypes.offerDeclined, offer, now: now, on: connection)
        Counter(label: "volunteer_matching_offers_total", dimensions: [("outcome", "declined")]).increment()
        return offer
    }

    /// The offer, locked and still open to an answer from this caller, with its need locked too.
    private func lockedOffer(_ offerID: UUID, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> (OfferSnapshot, NeedRecord) {
        guard let peek = try await findOffer(offerID, on: connection) else { throw VolunteerError.notFound("offer", offerID) }
        // The need first, then the offer: the same order as dispatch and cancel, so no deadlock.
        guard let need = try await NeedRecord.find(peek.needId, lock: true, on: connection, logger: logger),
            let offer = try await findOffer(offerID, lock: true, on: connection)
        else { throw VolunteerError.notFound("offer", offerID) }
        try Access.requireVolunteerOrStaff(actor, volunteer: offer.volunteerId, place: need.place, kind: "offer", id: offerID)
        guard offer.status == "pending" else { throw VolunteerError.conflict("The offer was \(offer.status) already") }
        guard offer.expiresAt > now else { throw VolunteerError.conflict("The offer expired at \(offer.expiresAt)") }
        return (offer, need)
    }

    /// Pending offers past their time: expired. Returns the needs that now want another candidate;
    /// they are due already, as no need waits past its earliest pending offer.
    func expire(now: Date, limit: Int, on connection: PostgresConnection) async throws -> Set<UUID> {
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    UPDATE offer SET status = 'expired', answered_at = $1
                    WHERE id IN (SELECT id FROM offer WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                    RETURNING \(Self.offerColumns)
                    """, binds: .of(now, limit)), logger: logger)
        var needs: Set<UUID> = []
        let expired = try await rows.collect(Self.offer)
        for offer in expired {
            try await publish(VolunteerEventTypes.offerExpired, offer, now: now, on: connection)
            needs.insert(offer.needId)
        }
        Counter(label: "volunteer_matching_offers_total", dimensions: [("outcome", "expired")]).increment(by: expired.count)
        return needs
    }

    /// Withdraws the pending offers of a need that is filled or cancelled (its row locked by the caller).
    func withdrawPending(need: UUID, reason: String, now: Date, on connection: PostgresConnection) async throws {
        try await withdraw(needs: [need], reason: reason, now: now, on: connection)
    }

    /// Withdraws the pending offers of a volunteer who paused or left. Their needs are locked first,
    /// in id order, as every other step locks a need before its offers; each is then due at once.
    func withdrawPending(volunteer: UUID, reason: String, now: Date, on connection: PostgresConnection) async throws {
        var needs: [UUID] = []
        for try await need in try await connection.query(
            """
            SELECT id FROM service_need WHERE id IN (SELECT need_id FROM offer WHERE volunteer_id = \(volunteer) AND status = 'pending')
            ORDER BY id FOR UPDATE
            """, logger: logger
        ).decode(UUID.self) { needs.append(need) }
        guard !needs.isEmpty else { return }
        try await withdraw(needs: needs, volunteer: volunteer, reason: reason, now: now, on: connection)
        try await Self.makeDue(needs, on: connection, logger: logger)
    }

    /// The pending offers of `needs` (only `volunteer`'s, when given), withdrawn with their events.
    private func withdraw(needs: [UUID], volunteer: UUID? = nil, reason: String, now: Date, on connection: PostgresConnection) async throws {
        let withdrawn = try await connection.query(
            """
            UPDATE offer SET status = 'withdrawn', answered_at = \(now), reason = \(reason)
            WHERE status = 'pending' AND need_id = ANY(\(needs)) AND (\(volunteer)::uuid IS NULL OR volunteer_id = \(volunteer))
            RETURNING \(unescaped: Self.offerColumns)
            """, logger: logger
        ).collect(Self.offer)
        for offer in withdrawn { try await publish(VolunteerEventTypes.offerWithdrawn, offer, now: now, on: connection) }
        Counter(label: "volunteer_matching_offers_total", dimensions: [("outcome", "withdrawn")]).increment(by: withdrawn.count)
    }

    /// Needs the dispatcher should look at in its next round, their rows locked by the caller already.
    static func makeDue(_ needs: [UUID], on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("UPDATE service_need SET dispatch_after = '-infinity' WHERE id = ANY(\(needs)) AND status = 'open'", logger: logger)
    }

    func findAssignment(_ id: UUID, lock: Bool = false, on connection: PostgresConnection) async throws -> AssignmentSnapshot? {
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT a.id, a.need_id, a.volunteer_id, n.household_id, a.status, a.confirmed_at, a.cancelled_by, a.cancel_reason
                    FROM assignment a JOIN service_need n ON n.id = a.need_id WHERE a.id = $1\(lock ? " FOR UPDATE OF a" : "")
                    """, binds: .of(id)), logger: logger)
        var found: AssignmentSnapshot?
        for try await row in rows.decode((UUID, UUID, UUID, UUID?, String, Date, String?, String?).self) {
            found = AssignmentSnapshot(
                id: row.0, needId: row.1, volunteerId: row.2, householdId: row.3, status: row.4, windows: [], confirmedAt: row.5, cancelledBy: row.6,
                cancelReason: row.7)
        }
        guard var assignment = found else { return nil }
        for try await (start, end) in try await connection.query(
            "SELECT starts_at, ends_at FROM assignment_window WHERE assignment_id = \(id) ORDER BY starts_at", logger: logger
        ).decode((Date, Date).self) { assignment.windows.append(ServiceWindow(start: start, end: end)) }
        return assignment
    }

    /// Either side cancels with a reason: the time is freed and the seat opens again.
    func cancel(assignment id: UUID, reason: String, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> AssignmentSnapshot {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw VolunteerError.invalid([.init(field: "reason", problem: "say why")]) }
        guard let peek = try await findAssignment(id, on: connection),
            let need = try await NeedRecord.find(peek.needId, lock: true, on: connection, logger: logger)
        else { throw VolunteerError.notFound("assignment", id) }
        try Access.requireVolunteerOrStaff(actor, volunteer: peek.volunteerId, place: need.place, kind: "assignment", id: id)
        guard peek.status == "confirmed" else { throw VolunteerError.conflict("The assignment is \(peek.status) already") }
        let cancelled = try await cancelOne(peek, by: actor.subject, reason: reason, now: now, on: connection)
        if need.status == "filled" {
            var reopened = need
            reopened.status = "open"
            reopened.confirmed -= 1
            try await reopened.publish(VolunteerEventTypes.needReopened, reason: "a volunteer cancelled: \(reason)", now: now, on: connection, logger: logger)
        }
        return cancelled
    }

    /// Every confirmed assignment of a need that is being cancelled.
    func cancelAssignments(need id: UUID, by actor: String, reason: String, now: Date, on connection: PostgresConnection) async throws {
        var ids: [UUID] = []
        for try await assignment in try await connection.query(
            "SELECT id FROM assignment WHERE need_id = \(id) AND status = 'confirmed'", logger: logger
        ).decode(UUID.self) { ids.append(assignment) }
        for assignment in ids {
            guard let found = try await findAssignment(assignment, on: connection) else { continue }
            _ = try await cancelOne(found, by: actor, reason: reason, now: now, on: connection)
        }
    }

    private func cancelOne(
        _ assignment: AssignmentSnapshot, by actor: String, reason: String, now: Date, on connection: PostgresConnection
    ) async throws -> AssignmentSnapshot {
        try await connection.query(
            """
            UPDATE assignment SET status = 'cancelled', cancelled_by = \(actor), cancel_reason = \(reason), cancelled_at = \(now) WHERE id = \(assignment.id)
            """, logger: logger)
        // Services already given keep their windows on record; the rest of the time is free again.
        try await connection.query(
            "UPDATE assignment_window SET held = false WHERE assignment_id = \(assignment.id) AND ends_at > \(now)", logger: logger)
        try await connection.query(
            """
            UPDATE service_need SET confirmed = confirmed - 1, status = CASE WHEN status = 'filled' THEN 'open' ELSE status END,
                dispatch_after = '-infinity', updated_at = \(now)
            WHERE id = \(assignment.needId)
            """, logger: logger)
        try await touch(volunteer: assignment.volunteerId, serving: nil, on: connection)
        var cancelled = assignment
        cancelled.status = "cancelled"
        cancelled.cancelledBy = actor
        cancelled.cancelReason = reason
        try await VolunteerEvents.append(
            VolunteerEventTypes.assignmentCancelled, key: assignment.volunteerId, AssignmentChanged(assignment: cancelled), now: now, on: connection,
            logger: logger)
        return cancelled
    }

    /// Marks the volunteer changed for the index, remembering a household they now serve.
    func touch(volunteer: UUID, serving household: UUID?, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            UPDATE volunteer SET changed_at = clock_timestamp(),
                households = CASE WHEN \(household)::uuid IS NULL OR \(household)::uuid = ANY(households) THEN households
                                  ELSE array_append(households, \(household)::uuid) END
            WHERE role_id = \(volunteer)
            """, logger: logger)
    }

    private func publish(_ type: EventType, _ offer: OfferSnapshot, now: Date, on connection: PostgresConnection) async throws {
        try await VolunteerEvents.append(type, key: offer.volunteerId, OfferChanged(offer: offer), now: now, on: connection, logger: logger)
    }
}

extension ScoreParts {
    /// The engine's score as offers and candidate lists explain it.
    init(_ score: Score) {
        self.init(
            total: score.total, place: score.place, skills: score.skills, fairness: score.fairness, reliability: score.reliability,
            continuity: score.continuity, nearness: score.nearness.rawValue)
    }
}

/// One need's round of asking, worked out without I/O: how many more offers it wants, the candidates
/// the index ranks for it, and the offers made to those still free.
/// A need's first offers, chosen before it is written, and its first `dispatch_after`.
struct FirstOffers: Sendable {
    var offers: [OfferSnapshot]
    var dispatchAfter: Date
}

struct OfferRound: Sendable {
    var need: NeedRecord
    /// Volunteers asked before, whatever they answered: nobody is asked twice.
    var asked: Set<UUID>
    var pending: Int
    var lastRank: Int

    struct Candidates: Sendable {
        /// Offers still wanted; 0 when none are (or none can be made now).
        var wanted: Int
        var matches: [Match]
    }

    func candidates(directory: VolunteerDirectory, now: Date) -> Candidates {
        // Once the service has begun, nobody new is asked: a late volunteer helps no one.
        guard need.status == "open", need.windows[0].start > now else { return Candidates(wanted: 0, matches: []) }
        let wanted = (need.volunteers - need.confirmed) * need.urgency.offersPerSeat - pending
        guard wanted > 0 else { return Candidates(wanted: 0, matches: []) }
        // A few spare candidates: some may have been booked or paused since the index last looked.
        guard let matches = try? directory.rank(need.profile, limit: wanted + 5, excluding: asked) else {
            return Candidates(wanted: 0, matches: [])  // still loading after a start; the dispatcher comes back to every open need
        }
        return Candidates(wanted: wanted, matches: matches)
    }

    /// When the dispatcher should look at the need again after this round made `made`: at once when
    /// nothing could be worked out (the index still loading), after `OfferDesk.retryAfter` at most when
    /// too few candidates were free, and never after the offers made expire.
    func nextLook(after made: [OfferSnapshot], candidates: Candidates, now: Date) -> Date {
        let expiry = made.map(\.expiresAt).min() ?? .distantFuture
        if candidates.wanted == 0 && made.isEmpty { return .distantPast }
        if made.count < candidates.wanted { return min(expiry, now.addingTimeInterval(OfferDesk.retryAfter)) }
        return expiry
    }

    /// The offers to the best `free` candidates, ranked after the need's earlier offers.
    func offers(among candidates: Candidates, free: Set<UUID>, now: Date) -> [OfferSnapshot] {
        // An answer is no use after the service has started.
        let expiresAt = min(now.addingTimeInterval(need.urgency.offerLifetime), max(need.windows[0].start, now.addingTimeInterval(300)))
        var made: [OfferSnapshot] = []
        for match in candidates.matches where free.contains(match.volunteer) && made.count < candidates.wanted {
            made.append(
                OfferSnapshot(
                    id: UUID.random(), needId: need.id, volunteerId: match.volunteer, status: "pending", rank: lastRank + made.count + 1,
                    score: ScoreParts(match.score), offeredAt: now, expiresAt: expiresAt, answeredAt: nil, reason: nil))
        }
        return made
    }
}
