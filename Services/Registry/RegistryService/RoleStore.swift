import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import RegistryCore
import ServiceRuntime
import Storage

struct RoleRecord: Sendable, Equatable {
    var id: UUID
    var residentId: UUID
    var personName: String
    var role: String
    var placeCode: String?
    var path: PathColumns?
    var details: RoleDetails
    var startedOn: String
    var endedOn: String?
    var endReason: String?

    static let columns = """
        r.id, r.resident_id, p.name AS person_name, r.role, r.place_code, r.district_code, r.street_code, r.community_code, r.grid_code,
        r.details::text AS details, r.started_on::text AS started_on, r.ended_on::text AS ended_on, r.end_reason
        """
    static let from = "person_role r JOIN resident p ON p.id = r.resident_id"

    init(_ facts: RoleFacts, personName: String, path: PathColumns?) {
        id = facts.id
        residentId = facts.residentId
        self.personName = personName
        role = facts.role.rawValue
        placeCode = facts.placeCode
        self.path = path
        details = facts.details
        startedOn = facts.startedOn.description
    }

    init(row: PostgresRandomAccessRow) throws {
        id = try row.value("id")
        residentId = try row.value("resident_id")
        personName = try row.value("person_name")
        role = try row.value("role")
        placeCode = try row.value("place_code")
        let district: String? = try row.value("district_code")
        path = try district.map {
            PathColumns(district: $0, street: try row.value("street_code"), community: try row.value("community_code"), grid: try row.value("grid_code"))
        }
        details = try JSONDecoder().decode(RoleDetails.self, from: Data(try row.value("details", as: String.self).utf8))
        startedOn = try row.value("started_on")
        endedOn = try row.value("ended_on")
        endReason = try row.value("end_reason")
    }

    var snapshot: RoleSnapshot {
        RoleSnapshot(
            id: id, residentId: residentId, personName: personName, role: role, placeCode: placeCode, location: path?.location, details: details,
            active: endedOn == nil, startedOn: startedOn, endedOn: endedOn)
    }
}

/// Roles people hold: grid worker, mediator (with committee level), volunteer (skills, availability),
/// expert (fields, affiliations), social worker, community worker, building head.
struct RoleStore: Sendable {
    let logger: Logger

    func find(_ id: UUID, lock: Bool = false, on connection: PostgresConnection) async throws -> RoleRecord? {
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT \(RoleRecord.columns) FROM \(RoleRecord.from) WHERE r.id = $1\(lock ? " FOR UPDATE OF r" : "")", binds: PostgresBindings.of(id)),
            logger: logger)
        return try await rows.collect(RoleRecord.init).first
    }

    /// Assigns a role, or brings an existing assignment's place and details up to date.
    func assign(
        _ record: DistrictRole, mode: WriteMode, actor: RegistryActor, now: Date, on connection: PostgresConnection
    ) async throws -> WriteOutcome<RoleRecord> {
        let id = record.id.uuidString.lowercased()
        guard let person = try await ResidentStore.person(record.residentId, logger: logger, on: connection) else {
            throw RegistryError.unknownReference(field: "residentId", kind: "resident", id: record.residentId.uuidString.lowercased())
        }
        var place: PlaceRecord?
        if let code = record.placeCode, !code.isEmpty {
            place = try await PlaceStore(logger: logger).find(code, on: connection)
            if place == nil { throw RegistryError.unknownReference(field: "placeCode", kind: "place", id: code) }
        }
        let facts = try validated { () throws(InvalidRecord) in
            try RoleFacts(
                id: record.id, residentId: record.residentId, role: record.role, placeCode: place?.code, placeLevel: place?.level,
                details: record.details, startedOn: record.startedOn, today: CalendarDay.today(now))
        }
        if let place {
            try actor.requireScope(place.path.scopePath, kind: "place", id: place.code)
        } else if actor.scope.level != .city {
            throw RegistryError.forbidden("A role without a place is city-wide and is assigned at city level; name the place it serves.")
        }
        let affiliations = facts.details.affiliations ?? []
        let known = try await OrganisationStore(logger: logger).exists(affiliations, on: connection)
        if let missing = affiliations.first(where: { !known.contains($0) }) {
            throw RegistryError.unknownReference(field: "details.affiliations", kind: "organisation", id: missing.uuidString.lowercased())
        }
        let new = RoleRecord(facts, personName: person, path: place?.path)
        let old = try await find(record.id, lock: true, on: connection)
        try mode.check(exists: old != nil, kind: "role", id: record.id)
        if let old {
            if let path = old.path { try actor.requireScope(path.scopePath, kind: "role", id: id) }
            guard old.endedOn == nil else { throw RegistryError.conflict("Role \(id) has ended; assign a new role instead.") }
            guard old.residentId == new.residentId, old.role == new.role else {
                throw RegistryError.conflict("Role \(id) belongs to another person or is another role; assign a new role id.")
            }
            guard old != new else { return .unchanged(old) }
        }
        let details = String(decoding: try EventCoding.encode(new.details), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO person_role (id, resident_id, role, place_code, district_code, street_code, community_code, grid_code, details,
                                     started_on, created_at, updated_at)
            VALUES (\(new.id), \(new.residentId), \(new.role), \(new.placeCode), \(new.path?.district), \(new.path?.street),
                    \(new.path?.community), \(new.path?.grid), \(details)::jsonb, \(new.startedOn)::date, \(now), \(now))
            ON CONFLICT (id) DO UPDATE SET place_code = excluded.place_code, district_code = excluded.district_code,
                street_code = excluded.street_code, community_code = excluded.community_code, grid_code = excluded.grid_code,
                details = excluded.details, started_on = excluded.started_on, updated_at = excluded.updated_at
            """, logger: logger)
        let event: OutboxEntry =
            old == nil
            ? try RegistryOutbox.entry(RoleAssigned(role: new.snapshot), key: id, time: now)
            : try RegistryOutbox.entry(RoleUpdated(role: new.snapshot), key: id, time: now)
        try await Outbox.append([event], on: connection, logger: logger)
        return old == nil ? .created(new) : .updated(new)
    }

    /// Ends a role. Ending it again changes nothing.
    func end(_ id: UUID, reason: String, endedOn: String?, actor: RegistryActor, now: Date, on connection: PostgresConnection) async throws
        -> WriteOutcome<RoleRecord>
    {
        guard var role = try await find(id, lock: true, on: connection) else {
            throw RegistryError.notFound(kind: "role", id: id.uuidString.lowercased())
        }
        if let path = role.path {
            try actor.requireScope(path.scopePath, kind: "role", id: id.uuidString.lowercased())
        } else if actor.scope.level != .city {
            throw RegistryError.outOfScope(scope: actor.scope.description, kind: "role", id: id.uuidString.lowercased(), place: "the whole city")
        }
        guard role.endedOn == nil else { return .unchanged(role) }
        var issues: [FieldIssue] = []
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed.count > 200 { issues.append(FieldIssue("reason", "say why the role ends (1 to 200 characters)")) }
        let day = endedOn.map { CalendarDay($0) } ?? CalendarDay.today(now)
        if day == nil { issues.append(FieldIssue("endedOn", "must be a date written YYYY-MM-DD")) }
        if let day, let started = CalendarDay(role.startedOn), day < started { issues.append(FieldIssue("endedOn", "is before the role started")) }
        guard issues.isEmpty, let day else { throw RegistryError.invalid(issues) }
        role.endedOn = day.description
        role.endReason = trimmed
        try await connection.query(
            "UPDATE person_role SET ended_on = \(day.description)::date, end_reason = \(trimmed), updated_at = \(now) WHERE id = \(id)",
            logger: logger)
        try await Outbox.append(
            [try RegistryOutbox.entry(RoleEnded(role: role.snapshot, reason: trimmed), key: id.uuidString.lowercased(), time: now)],
            on: connection, logger: logger)
        return .updated(role)
    }

    struct Filter: Sendable {
        var place = PlacePath()
        var grid: String?
        var role: String?
        var residentId: UUID?
        var active: Bool?
        var skill: String?
        var field: String?
    }

    func list(_ filter: Filter, page: PageRequest, on connection: PostgresConnection) async throws -> Page<RoleSnapshot> {
        var query = QueryBuilder()
        query.filter(filter.place.district) { "r.district_code = \($0)" }
        query.filter(filter.place.street) { "r.street_code = \($0)" }
        query.filter(filter.place.community) { "r.community_code = \($0)" }
        query.filter(filter.grid) { "r.grid_code = \($0)" }
        query.filter(filter.role) { "r.role = \($0)" }
        query.filter(filter.residentId) { "r.resident_id = \($0)" }
        if let active = filter.active { query.filter(active ? "r.ended_on IS NULL" : "r.ended_on IS NOT NULL") }
        query.filter(filter.skill) { "r.details -> 'skills' ? \($0)" }
        query.filter(filter.field) { "r.details -> 'fields' ? \($0)" }
        let order = query.keyset(after: page.after.flatMap(UUID.init(uuidString:)), column: "r.id", limit: page.limit)
        let rows = try await connection.query(
            query.query("SELECT \(RoleRecord.columns) FROM \(RoleRecord.from) \(query.whereClause) \(order)"), logger: logger)
        return Page(fetched: try await rows.collect(RoleRecord.init).map(\.snapshot), limit: page.limit) { $0.id.uuidString }
    }
}

extension ResidentStore {
    /// The resident's name, if the resident exists.
    static func person(_ id: UUID, logger: Logger, on connection: PostgresConnection) async throws -> String? {
        let rows = try await connection.query("SELECT name FROM resident WHERE id = \(id)", logger: logger)
        for try await name in rows.decode(String.self) { return name }
        return nil
    }
}

extension CalendarDay {
    /// Today in the city's time zone.
    static func today(_ now: Date) -> CalendarDay {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        return CalendarDay(String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!))!
    }
}
