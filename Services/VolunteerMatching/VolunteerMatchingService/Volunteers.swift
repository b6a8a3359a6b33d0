import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceRuntime
import Storage
import VolunteerCore

/// A volunteer as this service shows them: the registry's facts and the service's own figures.
struct VolunteerView: Codable, Sendable {
    var id: UUID
    var residentId: UUID
    var name: String
    var skills: [String]
    var availability: [String]
    var location: PlaceLocation?
    var active: Bool
    var paused: Bool
    var pausedReason: String?
    var hoursThisMonth: Double
    var completed: Int
    var noShows: Int
    var averageRating: Double?

    var place: PlacePath { PlacePath(district: location?.district, street: location?.street, community: location?.community) }
}

/// One-to-one pairing on a service contact card (服务联系卡, 一帮一, 004).
struct Pairing: Codable, Sendable {
    var id: UUID
    var volunteerId: UUID
    var householdId: UUID
    var kind: String
    var schedule: [String]
    var startsOn: String
    var endsOn: String?
    var active: Bool
    var endReason: String?
    /// The card: who to call and where. Only for the volunteer on it and staff.
    var volunteerName: String?
    var householdAddress: String?
}

/// Volunteers' own state here (pause) and pairings.
struct Volunteers: Sendable {
    let logger: Logger

    func find(_ id: UUID, on connection: PostgresConnection) async throws -> VolunteerView? {
        let rows = try await connection.query(
            """
            SELECT role_id, resident_id, name, skills, availability, district_code, street_code, community_code, grid_code, active, paused, paused_reason,
                   hours_this_month, month_key, completed, no_shows, rating_sum, rating_count
            FROM volunteer WHERE role_id = \(id)
            """, logger: logger)
        for try await row in rows {
            let row = row.makeRandomAccess()
            let district = try row["district_code"].decode(String?.self)
            let ratings = try row["rating_count"].decode(Int.self)
            return VolunteerView(
                id: id, residentId: try row["resident_id"].decode(UUID.self), name: try row["name"].decode(String.self),
                skills: try row["skills"].decode([String].self), availability: try row["availability"].decode([String].self),
                location: district.map {
                    PlaceLocation(
                        district: $0, street: try? row["street_code"].decode(String.self), community: try? row["community_code"].decode(String.self),
                        grid: try? row["grid_code"].decode(String.self))
                },
                active: try row["active"].decode(Bool.self), paused: try row["paused"].decode(Bool.self),
                pausedReason: try row["paused_reason"].decode(String?.self), hoursThisMonth: try row["hours_this_month"].decode(Double.self),
                completed: try row["completed"].decode(Int.self), noShows: try row["no_shows"].decode(Int.self),
                averageRating: ratings == 0 ? nil : Double(try row["rating_sum"].decode(Int.self)) / Double(ratings))
        }
        return nil
    }

    /// The volunteer, for themselves or for staff whose scope covers them.
    func visible(_ id: UUID, to actor: Principal, on connection: PostgresConnection) async throws -> VolunteerView {
        guard let volunteer = try await find(id, on: connection) else { throw VolunteerError.notFound("volunteer", id) }
        if actor.role == .volunteer {
            guard Access.volunteer(actor) == id else { throw VolunteerError.notFound("volunteer", id) }
        } else if !(Access.readers.contains(actor.role) && actor.scope.covers(volunteer.place)) {
            throw VolunteerError.notFound("volunteer", id)
        }
        return volunteer
    }

    /// Stops (or resumes) all offers to a volunteer. Pausing withdraws the offers waiting for an answer;
    /// confirmed assignments stand until cancelled one by one.
    func setPaused(_ id: UUID, paused: Bool, reason: String?, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> VolunteerView {
        var volunteer = try await visible(id, to: actor, on: connection)
        guard actor.role == .volunteer || Access.staff.contains(actor.role) else { throw VolunteerError.notFound("volunteer", id) }
        try await connection.query(
            """
            UPDATE volunteer SET paused = \(paused), paused_reason = \(paused ? reason : nil), changed_at = clock_timestamp() WHERE role_id = \(id)
            """, logger: logger)
        if paused {
            try await OfferDesk(logger: logger).withdrawPending(
                volunteer: id, reason: "volunteer paused", now: now, on: connection)
        }
        volunteer.paused = paused
        volunteer.pausedReason = paused ? reason : nil
        return volunteer
    }

    struct PairingRequest: Codable, Sendable {
        var volunteerId: UUID
        var householdId: UUID
        var kind: String
        var schedule: [String]
        var startsOn: String
        var endsOn: String?
    }

    func pair(_ request: PairingRequest, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> Pairing {
        var problems: [ProblemDetails.FieldProblem] = []
        if ServiceKind(rawValue: request.kind) == nil {
            problems.append(.init(field: "kind", problem: "must be one of \(ServiceKind.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        if request.schedule.isEmpty { problems.append(.init(field: "schedule", problem: "name at least one weekly slot such as 'tue 14:00-16:00'")) }
        for (index, slot) in request.schedule.enumerated() where WeeklySlot(slot) == nil {
            problems.append(.init(field: "schedule[\(index)]", problem: "must read like 'tue 14:00-16:00'"))
        }
        if NeedStore.day(request.startsOn) == nil { problems.append(.init(field: "startsOn", problem: "must be a day as YYYY-MM-DD")) }
        if let ends = request.endsOn, NeedStore.day(ends) == nil || ends < request.startsOn {
            problems.append(.init(field: "endsOn", problem: "must be a day as YYYY-MM-DD, not before startsOn"))
        }
        guard problems.isEmpty else { throw VolunteerError.invalid(problems) }
        var household: (address: String, place: PlacePath)?
        for try await (address, district, street, community) in try await connection.query(
            "SELECT address, district_code, street_code, community_code FROM known_household WHERE id = \(request.householdId)", logger: logger
        ).decode((String, String, String?, String?).self) { household = (address, PlacePath(district: district, street: street, community: community)) }
        guard let household else {
            throw VolunteerError.unknownReference(field: "householdId", detail: "Household \(request.householdId.uuidString.lowercased()) is not known")
        }
        guard Access.staff.contains(actor.role), actor.scope.covers(household.place) else {
            throw VolunteerError.outOfScope(scope: actor.scope.description, place: "the household")
        }
        guard let volunteer = try await find(request.volunteerId, on: connection), volunteer.active else {
            throw VolunteerError.unknownReference(field: "volunteerId", detail: "No active volunteer \(request.volunteerId.uuidString.lowercased())")
        }
        let pairing = Pairing(
            id: UUID.random(), volunteerId: volunteer.id, householdId: request.householdId, kind: request.kind, schedule: request.schedule,
            startsOn: request.startsOn, endsOn: request.endsOn, active: true, endReason: nil, volunteerName: volunteer.name,
            householdAddress: household.address)
        let inserted = try await connection.query(
            """
            INSERT INTO pairing (id, volunteer_id, household_id, kind, schedule, starts_on, ends_on, created_by, created_at)
            VALUES (\(pairing.id), \(volunteer.id), \(request.householdId), \(request.kind), \(request.schedule), \(request.startsOn)::date,
                    \(request.endsOn)::date, \(actor.subject), \(now))
            ON CONFLICT DO NOTHING RETURNING id
            """, logger: logger)
        var fresh = false
        for try await _ in inserted { fresh = true }
        guard fresh else { throw VolunteerError.conflict("This volunteer is paired with this household already") }
        // A pairing is continuity: the volunteer is asked first for this household's other needs.
        try await OfferDesk(logger: logger).touch(volunteer: volunteer.id, serving: request.householdId, on: connection)
        return pairing
    }

    func pairing(_ id: UUID, actor: Principal, on connection: PostgresConnection) async throws -> (Pairing, PlacePath) {
        let rows = try await connection.query(
            """
            SELECT p.id, p.volunteer_id, p.household_id, p.kind, p.schedule, p.starts_on::text, p.ends_on::text, p.active, p.end_reason, v.name,
                   h.address, h.district_code, h.street_code, h.community_code
            FROM pairing p JOIN volunteer v ON v.role_id = p.volunteer_id JOIN known_household h ON h.id = p.household_id WHERE p.id = \(id)
            """, logger: logger)
        for try await row in rows.decode((UUID, UUID, UUID, String, [String], String, String?, Bool, String?, String, String, String, String?, String?).self) {
            let place = PlacePath(district: row.11, street: row.12, community: row.13)
            if actor.role == .volunteer {
                guard Access.volunteer(actor) == row.1 else { break }
            } else if !(Access.readers.contains(actor.role) && actor.scope.covers(place)) {
                break
            }
            let pairing = Pairing(
                id: row.0, volunteerId: row.1, householdId: row.2, kind: row.3, schedule: row.4, startsOn: row.5, endsOn: row.6, active: row.7,
                endReason: row.8, volunteerName: row.9, householdAddress: row.10)
            return (pairing, place)
        }
        throw VolunteerError.notFound("pairing", id)
    }

    func endPairing(_ id: UUID, reason: String, actor: Principal, on connection: PostgresConnection) async throws -> Pairing {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw VolunteerError.invalid([.init(field: "reason", problem: "say why")]) }
        var (pairing, _) = try await self.pairing(id, actor: actor, on: connection)
        guard pairing.active else { throw VolunteerError.conflict("The pairing has ended already") }
        try await connection.query(
            "UPDATE pairing SET active = false, end_reason = \(reason), ends_on = coalesce(ends_on, current_date) WHERE id = \(id)", logger: logger)
        pairing.active = false
        pairing.endReason = reason
        return pairing
    }
}
