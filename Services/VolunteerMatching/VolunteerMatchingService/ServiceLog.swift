import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceRuntime
import Storage
import VolunteerCore

/// Services given: check-in and check-out, hours and their verification, ratings both ways, absences,
/// and the running figures the matching score reads (hours this month, completions, no-shows, ratings).
struct ServiceLog: Sendable {
    let logger: Logger
    let calendar: Calendar

    static let columns = """
        id, assignment_id, need_id, volunteer_id, household_id, window_start, checked_in_at, checked_out_at, hours, verification, verified_by,
        recipient_rating, volunteer_rating
        """

    static func record(_ row: PostgresRandomAccessRow) throws -> ServiceRecordSnapshot {
        ServiceRecordSnapshot(
            id: try row["id"].decode(UUID.self), assignmentId: try row["assignment_id"].decode(UUID.self), needId: try row["need_id"].decode(UUID.self),
            volunteerId: try row["volunteer_id"].decode(UUID.self), householdId: try row["household_id"].decode(UUID?.self),
            windowStart: try row["window_start"].decode(Date.self), checkedInAt: try row["checked_in_at"].decode(Date.self),
            checkedOutAt: try row["checked_out_at"].decode(Date?.self), hours: try row["hours"].decode(Double?.self),
            verification: try row["verification"].decode(String.self), verifiedBy: try row["verified_by"].decode(String?.self),
            recipientRating: try row["recipient_rating"].decode(Int?.self), volunteerRating: try row["volunteer_rating"].decode(Int?.self))
    }

    func find(_ id: UUID, lock: Bool = false, on connection: PostgresConnection) async throws -> ServiceRecordSnapshot? {
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(Self.columns) FROM service_record WHERE id = $1\(lock ? " FOR UPDATE" : "")", binds: .of(id)), logger: logger)
        for try await row in rows { return try Self.record(row.makeRandomAccess()) }
        return nil
    }

    /// The assignment and its need, for a caller allowed to act on it.
    private func assignment(_ id: UUID, actor: Principal, on connection: PostgresConnection) async throws -> (AssignmentSnapshot, NeedRecord) {
        let desk = OfferDesk(logger: logger)
        guard let assignment = try await desk.findAssignment(id, lock: true, on: connection),
            let need = try await NeedRecord.find(assignment.needId, on: connection, logger: logger)
        else { throw VolunteerError.notFound("assignment", id) }
        try Access.requireVolunteerOrStaff(actor, volunteer: assignment.volunteerId, place: need.place, kind: "assignment", id: id)
        return (assignment, need)
    }

    /// The volunteer arrives. The window is the one asked for, or the one under way (from two hours
    /// before its start to its end).
    func checkIn(assignment id: UUID, windowStart: Date?, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> ServiceRecordSnapshot {
        let (assignment, _) = try await self.assignment(id, actor: actor, on: connection)
        guard assignment.status == "confirmed" else { throw VolunteerError.conflict("The assignment is \(assignment.status)") }
        let window: ServiceWindow?
        if let windowStart {
            window = assignment.windows.first { $0.start == windowStart }
            guard window != nil else { throw VolunteerError.invalid([.init(field: "windowStart", problem: "is not a window of this assignment")]) }
        } else {
            window = assignment.windows.first { $0.start.addingTimeInterval(-7200) <= now && now < $0.end }
        }
        guard let window else { throw VolunteerError.conflict("No window of this assignment is under way; name windowStart to check in for another") }
        guard window.start.addingTimeInterval(-7200) <= now else {
            throw VolunteerError.conflict("Check-in opens two hours before the window starts")
        }
        let record = ServiceRecordSnapshot(
            id: UUID.random(), assignmentId: id, needId: assignment.needId, volunteerId: assignment.volunteerId, householdId: assignment.householdId,
            windowStart: window.start, checkedInAt: now, checkedOutAt: nil, hours: nil, verification: Verification.open.rawValue, verifiedBy: nil,
            recipientRating: nil, volunteerRating: nil)
        let inserted = try await connection.query(
            """
            INSERT INTO service_record (id, assignment_id, need_id, volunteer_id, household_id, window_start, checked_in_at, verification)
            SELECT \(record.id), \(id), \(record.needId), \(record.volunteerId), \(record.householdId), \(window.start), \(now), 'open'
            WHERE NOT EXISTS (SELECT 1 FROM absence WHERE assignment_id = \(id) AND window_start = \(window.start))
            ON CONFLICT (assignment_id, window_start) DO NOTHING
            RETURNING id
            """, logger: logger)
        var fresh = false
        for try await _ in inserted { fresh = true }
        guard fresh else { throw VolunteerError.conflict("This window has a check-in or an absence on record already") }
        return record
    }

    /// The volunteer leaves: hours are computed and wait for verification.
    func checkOut(assignment id: UUID, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> ServiceRecordSnapshot {
        _ = try await self.assignment(id, actor: actor, on: connection)
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT \(Self.columns) FROM service_record WHERE assignment_id = $1 AND verification = 'open' ORDER BY window_start LIMIT 1 FOR UPDATE", binds: .of(id)),
            logger: logger)
        var open: ServiceRecordSnapshot?
        for try await row in rows { open = try Self.record(row.makeRandomAccess()) }
        guard var record = open else { throw VolunteerError.conflict("There is no check-in to check out from") }
        guard let hours = ServiceHours.between(record.checkedInAt, now) else {
            throw VolunteerError.conflict("A service runs from check-in to check-out, at most 16 hours; ask a community worker to correct it")
        }
        try await connection.query(
            "UPDATE service_record SET checked_out_at = \(now), hours = \(hours), verification = 'pending' WHERE id = \(record.id)", logger: logger)
        record.checkedOutAt = now
        record.hours = hours
        record.verification = Verification.pending.rawValue
        try await addHours(hours, volunteer: record.volunteerId, at: record.windowStart, completed: 1, on: connection)
        try await VolunteerEvents.append(
            VolunteerEventTypes.serviceCompleted, key: record.volunteerId, ServiceRecorded(record: record), now: now, on: connection, logger: logger)
        logger.info("service completed", metadata: ["aggregate.id": "\(record.needId)", "volunteer.id": "\(record.volunteerId)", "hours": "\(hours)"])
        return record
    }

    /// A community worker (for themselves or on the recipient's behalf) approves or rejects the hours.
    func verify(_ id: UUID, approve: Bool, note: String?, actor: Principal, onBehalfOf: String?, now: Date, on connection: PostgresConnection) async throws
        -> ServiceRecordSnapshot
    {
        guard var record = try await find(id, lock: true, on: connection),
            let need = try await NeedRecord.find(record.needId, on: connection, logger: logger),
            Access.verifiers.contains(actor.role), actor.scope.covers(need.place)
        else { throw VolunteerError.notFound("service record", id) }
        guard let current = Verification(rawValue: record.verification), let next = current.deciding(approve: approve) else {
            throw VolunteerError.conflict(
                record.verification == "approved" ? "Approved hours are locked" : "The volunteer has not checked out yet; hours are not known")
        }
        if !approve && (note ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw VolunteerError.invalid([.init(field: "note", problem: "say why the hours are rejected")])
        }
        let by = onBehalfOf.map { "\(actor.subject) for \($0)" } ?? actor.subject
        try await connection.query(
            """
            UPDATE service_record SET verification = \(next.rawValue), verified_by = \(by), verified_at = \(now), verification_note = \(note)
            WHERE id = \(id)
            """, logger: logger)
        // Rejected hours do not count as given; approving them again after a correction counts them back.
        if let hours = record.hours, current != next {
            try await addHours(next == .rejected ? -hours : hours, volunteer: record.volunteerId, at: record.windowStart, completed: 0, on: connection)
        }
        record.verification = next.rawValue
        record.verifiedBy = by
        try await VolunteerEvents.append(
            VolunteerEventTypes.serviceVerified, key: record.volunteerId, ServiceRecorded(record: record), now: now, on: connection, logger: logger)
        return record
    }

    /// One rating from each side, 1–5. The recipient's goes into the volunteer's reliability.
    func rate(_ id: UUID, byRecipient: Bool, stars: Int, comment: String?, actor: Principal, now: Date, on connection: PostgresConnection) async throws
        -> ServiceRecordSnapshot
    {
        guard (1...5).contains(stars) else { throw VolunteerError.invalid([.init(field: "stars", problem: "must be 1 to 5")]) }
        guard var record = try await find(id, lock: true, on: connection),
            let need = try await NeedRecord.find(record.needId, on: connection, logger: logger)
        else { throw VolunteerError.notFound("service record", id) }
        if byRecipient {
            // Recipients rate through the staff who serve them (by phone, at the door, on a form).
            guard Access.staff.contains(actor.role), actor.scope.covers(need.place) else { throw VolunteerError.notFound("service record", id) }
        } else {
            guard Access.volunteer(actor) == record.volunteerId else { throw VolunteerError.notFound("service record", id) }
        }
        guard record.checkedOutAt != nil else { throw VolunteerError.conflict("Rate a service once it is over") }
        let column = byRecipient ? "recipient" : "volunteer"
        let updated =
            byRecipient
            ? try await connection.query(
                "UPDATE service_record SET recipient_rating = \(stars), recipient_comment = \(comment) WHERE id = \(id) AND recipient_rating IS NULL RETURNING id",
                logger: logger)
            : try await connection.query(
                "UPDATE service_record SET volunteer_rating = \(stars), volunteer_comment = \(comment) WHERE id = \(id) AND volunteer_rating IS NULL RETURNING id",
                logger: logger)
        var fresh = false
        for try await _ in updated { fresh = true }
        guard fresh else { throw VolunteerError.conflict("The \(column) has rated this service already") }
        if byRecipient {
            record.recipientRating = stars
            try await connection.query(
                """
                UPDATE volunteer SET rating_sum = rating_sum + \(stars), rating_count = rating_count + 1, changed_at = clock_timestamp()
                WHERE role_id = \(record.volunteerId)
                """, logger: logger)
        } else {
            record.volunteerRating = stars
        }
        return record
    }

    /// A window the volunteer missed. Only an unexcused absence counts against reliability.
    func recordAbsence(
        assignment id: UUID, windowStart: Date, excused: Bool, reason: String?, actor: Principal, now: Date, on connection: PostgresConnection
    ) async throws -> AbsenceRecorded {
        let (assignment, need) = try await self.assignment(id, actor: actor, on: connection)
        guard Access.staff.contains(actor.role) else { throw VolunteerError.notFound("assignment", id) }
        guard assignment.windows.contains(where: { $0.start == windowStart }) else {
            throw VolunteerError.invalid([.init(field: "windowStart", problem: "is not a window of this assignment")])
        }
        guard windowStart <= now else { throw VolunteerError.conflict("The window has not started yet; cancel the assignment instead") }
        let inserted = try await connection.query(
            """
            INSERT INTO absence (assignment_id, window_start, volunteer_id, excused, reason, recorded_by, recorded_at)
            SELECT \(id), \(windowStart), \(assignment.volunteerId), \(excused), \(reason), \(actor.subject), \(now)
            WHERE NOT EXISTS (SELECT 1 FROM service_record WHERE assignment_id = \(id) AND window_start = \(windowStart))
            ON CONFLICT DO NOTHING
            RETURNING assignment_id
            """, logger: logger)
        var fresh = false
        for try await _ in inserted { fresh = true }
        guard fresh else { throw VolunteerError.conflict("This window has a check-in or an absence on record already") }
        if !excused {
            try await connection.query(
                "UPDATE volunteer SET no_shows = no_shows + 1, changed_at = clock_timestamp() WHERE role_id = \(assignment.volunteerId)", logger: logger)
        }
        let absence = AbsenceRecorded(
            assignmentId: id, needId: need.id, volunteerId: assignment.volunteerId, windowStart: windowStart, excused: excused, reason: reason,
            recordedBy: actor.subject)
        try await VolunteerEvents.append(
            excused ? VolunteerEventTypes.absenceRecorded : VolunteerEventTypes.noShow, key: assignment.volunteerId, absence, now: now, on: connection,
            logger: logger)
        return absence
    }

    /// Adds hours to the volunteer's month when the service falls in the month the figures are for (or
    /// a later one, which starts a new month); a service in a month already closed only counts as completed.
    private func addHours(_ hours: Double, volunteer: UUID, at start: Date, completed: Int, on connection: PostgresConnection) async throws {
        let month = VolunteerDirectory.monthKey(start, calendar: calendar)
        try await connection.query(
            """
            UPDATE volunteer SET completed = completed + \(completed),
                hours_this_month = CASE WHEN month_key = \(month) THEN greatest(hours_this_month + \(hours), 0)
                                        WHEN month_key < \(month) THEN greatest(\(hours), 0) ELSE hours_this_month END,
                month_key = greatest(month_key, \(month)), changed_at = clock_timestamp()
            WHERE role_id = \(volunteer)
            """, logger: logger)
    }

    struct MonthHours: Codable, Sendable {
        var month: String
        var services: Int
        var approvedHours: Double
        var pendingHours: Double
    }

    struct HoursReport: Codable, Sendable {
        var volunteerId: UUID
        var year: Int
        var months: [MonthHours]
        var approvedHours: Double
        var pendingHours: Double
    }

    /// A volunteer's hours per month of a year: approved and waiting for verification.
    func hours(volunteer: UUID, year: Int, on connection: PostgresConnection) async throws -> HoursReport {
        let zone = calendar.timeZone.identifier
        var months: [MonthHours] = []
        for try await (month, services, approved, pending) in try await connection.query(
            """
            SELECT to_char(window_start AT TIME ZONE \(zone), 'YYYY-MM') AS month, count(*)::int8,
                   coalesce(sum(hours) FILTER (WHERE verification = 'approved'), 0), coalesce(sum(hours) FILTER (WHERE verification = 'pending'), 0)
            FROM service_record
            WHERE volunteer_id = \(volunteer) AND verification IN ('approved', 'pending')
              AND extract(year FROM window_start AT TIME ZONE \(zone)) = \(year)
            GROUP BY 1 ORDER BY 1
            """, logger: logger
        ).decode((String, Int, Double, Double).self) {
            months.append(MonthHours(month: month, services: services, approvedHours: approved, pendingHours: pending))
        }
        return HoursReport(
            volunteerId: volunteer, year: year, months: months, approvedHours: months.reduce(0) { $0 + $1.approvedHours },
            pendingHours: months.reduce(0) { $0 + $1.pendingHours })
    }
}
