import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import ServiceRuntime
import Storage
import VolunteerCore

/// Why the volunteer-matching service refused a request; nothing was written.
public enum VolunteerError: Error, ProblemConvertible, CustomStringConvertible, Sendable {
    case invalid([ProblemDetails.FieldProblem])
    case unknownReference(field: String, detail: String)
    case notFound(String, UUID)
    case outOfScope(scope: String, place: String)
    /// The request is well formed but the record's state does not allow it (a filled need, an answered offer, ...).
    case conflict(String)
    case doubleBooked(volunteer: UUID)
    /// The candidate index is still loading after a start.
    case warmingUp

    /// The reason a district report carrying this error is dead-lettered with.
    public var deadLetterReason: DeadLetterReason {
        let kind =
            switch self {
            case .invalid: "invalid"
            case .unknownReference, .notFound: "unknown_reference"
            case .outOfScope: "out_of_scope"
            case .conflict, .doubleBooked, .warmingUp: "conflict"
            }
        return DeadLetterReason(kind: kind, detail: description)
    }

    public var description: String {
        switch self {
        case .invalid(let problems): problems.map { "\($0.field): \($0.problem)" }.joined(separator: "; ")
        case .unknownReference(_, let detail): detail
        case .notFound(let kind, let id): "no \(kind) \(id.uuidString.lowercased())"
        case .outOfScope(let scope, let place): "\(place) is outside \(scope)"
        case .conflict(let reason): reason
        case .doubleBooked(let volunteer): "volunteer \(volunteer.uuidString.lowercased()) is already booked for an overlapping time"
        case .warmingUp: "the candidate index is still loading; try again in a few seconds"
        }
    }

    public var problem: ProblemDetails {
        switch self {
        case .invalid(let problems): .badRequest("The request breaks \(problems.count) rule\(problems.count == 1 ? "" : "s"); see errors.", errors: problems)
        case .unknownReference(let field, let detail): .unknownReference(detail + ".", errors: [.init(field: field, problem: "unknown")])
        case .notFound: .notFound("There is \(description), or it is outside your scope.")
        case .outOfScope: .forbidden("Not allowed: \(description).")
        case .conflict(let reason): .conflict(reason + ".")
        case .doubleBooked:
            ProblemDetails(type: ProblemDetails.typeBase + "double-booked", title: "Already booked", status: .conflict, detail: description + ".")
        case .warmingUp:
            ProblemDetails(type: ProblemDetails.typeBase + "warming-up", title: "Starting", status: .serviceUnavailable, detail: description + ".")
        }
    }
}

/// A need as reported, through the API or by a district system.
public struct NeedIntake: Codable, Sendable {
    public var id: UUID?
    public var householdId: UUID?
    public var residentId: UUID?
    public var grid: String?
    public var kind: String
    public var skills: [String]?
    public var windows: [ServiceWindow]?
    public var schedule: ServiceSchedule?
    public var volunteers: Int?
    public var urgency: String?
    public var contact: ServiceContact?
    public var notes: String?

    init(_ record: DistrictServiceNeed) {
        id = record.id
        householdId = record.householdId
        residentId = record.residentId
        grid = record.grid
        kind = record.kind
        skills = record.skills
        windows = record.windows
        schedule = record.schedule
        volunteers = record.volunteers
        urgency = record.urgency
        contact = record.contact
        notes = record.notes
    }
}

/// A need as stored.
struct NeedRecord: Sendable {
    var id: UUID
    var kind: ServiceKind
    var skills: [String]
    var householdId: UUID?
    var residentId: UUID?
    var location: PlaceLocation
    var windows: [TimeWindow]
    var volunteers: Int
    var confirmed: Int
    var urgency: Urgency
    var status: String
    var contact: ServiceContact?
    var notes: String?
    var openedAt: Date

    static let columns = """
        id, kind, skills, household_id, resident_id, grid_code, community_code, street_code, district_code, windows::text, volunteers, confirmed,
        urgency, status, contact_name, contact_phone, contact_address, notes, opened_at
        """

    init(
        id: UUID, kind: ServiceKind, skills: [String], householdId: UUID?, residentId: UUID?, location: PlaceLocation, windows: [TimeWindow],
        volunteers: Int, confirmed: Int, urgency: Urgency, status: String, contact: ServiceContact?, notes: String?, openedAt: Date
    ) {
        (self.id, self.kind, self.skills, self.householdId, self.residentId, self.location) = (id, kind, skills, householdId, residentId, location)
        (self.windows, self.volunteers, self.confirmed, self.urgency, self.status) = (windows, volunteers, confirmed, urgency, status)
        (self.contact, self.notes, self.openedAt) = (contact, notes, openedAt)
    }

    init(_ row: PostgresRandomAccessRow) throws {
        id = try row["id"].decode(UUID.self)
        kind = ServiceKind(rawValue: try row["kind"].decode(String.self)) ?? .other
        skills = try row["skills"].decode([String].self)
        householdId = try row["household_id"].decode(UUID?.self)
        residentId = try row["resident_id"].decode(UUID?.self)
        location = PlaceLocation(
            district: try row["district_code"].decode(String.self), street: try row["street_code"].decode(String.self),
            community: try row["community_code"].decode(String.self), grid: try row["grid_code"].decode(String.self))
        let windows = try EventCoding.decoder.decode([ServiceWindow].self, from: Data(try row["windows"].decode(String.self).utf8))
        self.windows = windows.map { TimeWindow(start: $0.start, end: $0.end) }
        volunteers = try row["volunteers"].decode(Int.self)
        confirmed = try row["confirmed"].decode(Int.self)
        urgency = Urgency(rawValue: try row["urgency"].decode(String.self)) ?? .routine
        status = try row["status"].decode(String.self)
        let name = try row["contact_name"].decode(String?.self), phone = try row["contact_phone"].decode(String?.self)
        let address = try row["contact_address"].decode(String?.self)
        // The address may come from the registry's household when the report named no contact.
        contact = name == nil && phone == nil && address == nil ? nil : ServiceContact(name: name ?? "", phone: phone, address: address)
        notes = try row["notes"].decode(String?.self)
        openedAt = try row["opened_at"].decode(Date.self)
    }

    var place: PlacePath { PlacePath(district: location.district, street: location.street, community: location.community) }

    static func find(_ id: UUID, lock: Bool = false, on connection: PostgresConnection, logger: Logger) async throws -> NeedRecord? {
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(columns) FROM service_need WHERE id = $1\(lock ? " FOR UPDATE" : "")", binds: .of(id)), logger: logger)
        return try await rows.collect(NeedRecord.init).first
    }

    /// Publishes the need as it now stands on `volunteer.events`.
    func publish(_ type: EventType, reason: String?, now: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await Outbox.append([try event(type, reason: reason, now: now)], on: connection, logger: logger)
    }

    /// The need as it now stands, as an event for `volunteer.events`.
    func event(_ type: EventType, reason: String?, now: Date) throws -> OutboxEntry {
        try VolunteerEvents.entry(type, key: id, NeedChanged(need: snapshot, reason: reason), now: now)
    }

    var snapshot: NeedSnapshot {
        NeedSnapshot(
            id: id, kind: kind.rawValue, skills: skills, location: location, householdId: householdId, residentId: residentId,
            windows: windows.map { ServiceWindow(start: $0.start, end: $0.end) }, volunteers: volunteers, urgency: urgency.rawValue, status: status,
            confirmed: confirmed, openedAt: openedAt)
    }

    var profile: NeedProfile {
        NeedProfile(
            id: id, kind: kind, skills: Set(skills),
            place: Whereabouts(grid: location.grid, community: location.community, street: location.street, district: location.district),
            windows: windows, household: householdId)
    }
}

/// Service needs: intake (API and district systems), reading, cancelling. Every change publishes on
/// `volunteer.events` through the outbox in the same transaction.
struct NeedStore: Sendable {
    let logger: Logger
    let calendar: Calendar

    init(logger: Logger, calendar: Calendar) {
        self.logger = logger
        self.calendar = calendar
    }

    /// Records a need with its `opened` event; the dispatcher asks for it. Returns `nil` when its id
    /// or `sourceEventID` was recorded before (a report sent again).
    func report(_ intake: NeedIntake, actor: Principal, sourceEventID: UUID? = nil, now: Date, on connection: PostgresConnection) async throws -> NeedRecord? {
        let need = try await plan([NeedRequest(intake: intake, actor: actor, sourceEventID: sourceEventID)], now: now, on: connection)[0].get()
        return try await insert([need], now: now, on: connection)[0]
    }

    /// Needs checked and placed in memory, nothing written: each the record it will be stored as, or
    /// its refusal. The households, residents and grids they name are read in one query for all.
    func plan(_ requests: [NeedRequest], now: Date, on connection: PostgresConnection) async throws -> [Result<PlannedNeed, VolunteerError>] {
        let checked = requests.map { request in Result { () throws(VolunteerError) in try check(request.intake, now: now) } }
        var places = try await places(of: zip(requests, checked).compactMap { request, check in (try? check.get()).map { _ in request.intake } }, on: connection)
            .makeIterator()
        return zip(requests, checked).map { request, check in
            check.flatMap { checked in
                Result { () throws(VolunteerError) in try place(checked, request: request, found: places.next()!, now: now) }
            }
        }
    }

    /// Writes planned needs in one statement with their first offers and the events of both; `nil`
    /// for one whose id or source event was recorded before, or that comes twice.
    func insert(_ needs: [PlannedNeed], now: Date, on connection: PostgresConnection) async throws -> [NeedRecord?] {
        let unique = NeedRequest.firsts(ids: needs.map(\.record.id), sources: needs.map(\.sourceEventID))
        let fresh = zip(needs, unique).filter(\.1).map(\.0)
        guard !fresh.isEmpty else { return needs.map { _ in nil } }
        let records = fresh.map(\.record)
        let windows = try records.map { String(decoding: try EventCoding.encode($0.windows.map { ServiceWindow(start: $0.start, end: $0.end) }), as: UTF8.self) }
        let statement: PostgresQuery = """
            WITH new_need AS (
            INSERT INTO service_need (id, kind, skills, household_id, resident_id, grid_code, community_code, street_code, district_code, windows,
                                      first_start, last_end, volunteers, urgency, status, contact_name, contact_phone, contact_address, notes,
                                      reported_by, source_event_id, dispatch_after, opened_at)
            SELECT n.id, n.kind, ARRAY(SELECT json_array_elements_text(n.skills::json)), NULLIF(n.household, '')::uuid, NULLIF(n.resident, '')::uuid,
                   n.grid, n.community, n.street, n.district, n.windows::jsonb, n.first_start, n.last_end, n.volunteers, n.urgency, 'open',
                   NULLIF(n.contact_name, ''), NULLIF(n.contact_phone, ''), NULLIF(n.contact_address, ''), NULLIF(n.notes, ''), n.reported_by,
                   NULLIF(n.source_event, '')::uuid, n.dispatch_after, \(now)
            FROM unnest(\(records.map(\.id))::uuid[], \(records.map(\.kind.rawValue))::text[], \(records.map { NestedList.json($0.skills) })::text[],
                        \(records.map { $0.householdId?.uuidString ?? "" })::text[], \(records.map { $0.residentId?.uuidString ?? "" })::text[],
                        \(records.map { $0.location.grid ?? "" })::text[], \(records.map { $0.location.community ?? "" })::text[],
                        \(records.map { $0.location.street ?? "" })::text[], \(records.map(\.location.district))::text[], \(windows)::text[],
                        \(records.map(\.windows[0].start))::timestamptz[], \(records.map { $0.windows.map(\.end).max()! })::timestamptz[],
                        \(records.map(\.volunteers))::int8[], \(records.map(\.urgency.rawValue))::text[],
                        \(records.map { $0.contact?.name ?? "" })::text[], \(records.map { $0.contact?.phone ?? "" })::text[],
                        \(records.map { $0.contact?.address ?? "" })::text[], \(records.map { $0.notes ?? "" })::text[],
                        \(fresh.map(\.reporter))::text[], \(fresh.map { $0.sourceEventID?.uuidString ?? "" })::text[],
                        \(fresh.map(\.first.dispatchAfter))::timestamptz[])
                 AS n(id, kind, skills, household, resident, grid, community, street, district, windows, first_start, last_end, volunteers, urgency,
                      contact_name, contact_phone, contact_address, notes, reported_by, source_event, dispatch_after)
            ON CONFLICT DO NOTHING
            RETURNING id)
            """
        // A need left out by a conflict is left out with its offers and events.
        let offers = fresh.flatMap(\.first.offers)
        let events = try records.map { try $0.event(VolunteerEventTypes.needOpened, reason: nil, now: now) } + (try OfferDesk.events(offers, now: now))
        var builder = QueryBuilder(after: statement)
        let offerInsert = try OfferDesk.insert(offers, now: now, binding: &builder, keptBy: "new_need")
        let eventInsert = Outbox.insert(events, binding: &builder, keptBy: ("new_need", records.map(\.id) + offers.map(\.needId)))
        let rows = try await connection.query(
            builder.query(statement.sql + ", offers AS (\(offerInsert)), events AS (\(eventInsert)) SELECT id FROM new_need"), logger: logger)
        var written: Set<UUID> = []
        for try await id in rows.decode(UUID.self) { written.insert(id) }
        OfferDesk.countMade(offers.filter { written.contains($0.needId) }.count)
        for record in records where written.contains(record.id) {
            logger.info("need opened", metadata: ["aggregate.id": "\(record.id)", "kind": "\(record.kind.rawValue)", "grid": "\(record.location.grid ?? "")"])
        }
        return zip(needs, unique).map { need, unique in unique && written.contains(need.record.id) ? need.record : nil }
    }

    /// A need's own fields, checked before anything is read.
    private func check(_ intake: NeedIntake, now: Date) throws(VolunteerError) -> CheckedNeed {
        var problems: [ProblemDetails.FieldProblem] = []
        let kind = ServiceKind(rawValue: intake.kind)
        if kind == nil { problems.append(.init(field: "kind", problem: "must be one of \(ServiceKind.allCases.map(\.rawValue).joined(separator: ", "))")) }
        let urgency = Urgency(rawValue: intake.urgency ?? "routine")
        if urgency == nil { problems.append(.init(field: "urgency", problem: "must be routine, soon or urgent")) }
        let volunteers = intake.volunteers ?? 1
        if !(1...50).contains(volunteers) { problems.append(.init(field: "volunteers", problem: "must be 1 to 50")) }
        let skills = Array(Set((intake.skills ?? []).map { $0.trimmingCharacters(in: .whitespaces).lowercased() })).sorted()
        for (index, skill) in skills.enumerated() where skill.isEmpty || skill.count > 60 {
            problems.append(.init(field: "skills[\(index)]", problem: "must be 1 to 60 characters"))
        }
        if skills.count > 10 { problems.append(.init(field: "skills", problem: "at most 10")) }
        if intake.householdId == nil && intake.residentId == nil {
            problems.append(.init(field: "householdId", problem: "name the household or the resident served"))
        }
        if let contact = intake.contact, contact.name.trimmingCharacters(in: .whitespaces).isEmpty {
            problems.append(.init(field: "contact.name", problem: "must not be empty"))
        }
        if (intake.notes?.count ?? 0) > 2000 { problems.append(.init(field: "notes", problem: "at most 2,000 characters")) }
        var windows: [TimeWindow] = []
        do {
            windows = try self.windows(of: intake, now: now)
        } catch {
            problems.append(.init(field: error.field, problem: error.problem))
        }
        guard problems.isEmpty, let kind, let urgency else { throw .invalid(problems) }
        return CheckedNeed(kind: kind, urgency: urgency, volunteers: volunteers, skills: skills, windows: windows)
    }

    /// Where the need is served, checked against the reporter's scope; the record it will be stored as.
    private func place(_ need: CheckedNeed, request: NeedRequest, found: FoundPlaces, now: Date) throws(VolunteerError) -> PlannedNeed {
        let intake = request.intake, actor = request.actor
        if let household = intake.householdId, found.served == nil {
            throw .unknownReference(field: "householdId", detail: "Household \(household.uuidString.lowercased()) is not known (the registry has not published it)")
        }
        if intake.householdId == nil, let resident = intake.residentId, found.served == nil {
            throw .unknownReference(field: "residentId", detail: "Resident \(resident.uuidString.lowercased()) is not known (the registry has not published them)")
        }
        let served = found.served
        guard let grid = intake.grid ?? served?.grid else {
            throw .invalid([.init(field: "grid", problem: "name the grid where the service is given (the household's is not known)")])
        }
        let location: PlaceLocation
        if grid == served?.grid, let home = served?.location {
            location = home
        } else if let named = found.grid {
            location = named
        } else {
            throw .unknownReference(field: "grid", detail: "Grid \(grid) is not known (the registry has not published it)")
        }
        let place = PlacePath(district: location.district, street: location.street, community: location.community)
        guard actor.scope.covers(place) else { throw .outOfScope(scope: actor.scope.description, place: "grid \(grid)") }
        // The household's address becomes the need's contact: it must be the reporter's to give.
        if let home = served?.location, home.grid != grid,
            !actor.scope.covers(PlacePath(district: home.district, street: home.street, community: home.community))
        {
            throw .outOfScope(scope: actor.scope.description, place: "the household served")
        }
        var contact = intake.contact
        if contact == nil, let address = served?.address { contact = ServiceContact(name: "", phone: nil, address: address) }
        if contact?.address == nil { contact?.address = served?.address }
        let record = NeedRecord(
            id: intake.id ?? UUID.random(), kind: need.kind, skills: need.skills, householdId: intake.householdId, residentId: intake.residentId,
            location: location, windows: need.windows, volunteers: need.volunteers, confirmed: 0, urgency: need.urgency, status: "open",
            contact: contact, notes: intake.notes, openedAt: now)
        return PlannedNeed(record: record, reporter: actor.subject, sourceEventID: request.sourceEventID)
    }

    /// Cancels an open or filled need: pending offers are withdrawn and confirmed assignments cancelled.
    func cancel(_ id: UUID, reason: String, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> NeedRecord {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw VolunteerError.invalid([.init(field: "reason", problem: "say why the need is cancelled")])
        }
        guard var record = try await NeedRecord.find(id, lock: true, on: connection, logger: logger), actor.scope.covers(record.place) else { throw VolunteerError.notFound("need", id) }
        guard record.status != "cancelled" else { throw VolunteerError.conflict("The need is cancelled already") }
        try await connection.query(
            "UPDATE service_need SET status = 'cancelled', cancel_reason = \(reason), updated_at = \(now) WHERE id = \(id)", logger: logger)
        record.status = "cancelled"
        let desk = OfferDesk(logger: logger)
        try await desk.withdrawPending(need: id, reason: "need cancelled: \(reason)", now: now, on: connection)
        try await desk.cancelAssignments(need: id, by: actor.subject, reason: "need cancelled: \(reason)", now: now, on: connection)
        try await record.publish(VolunteerEventTypes.needCancelled, reason: reason, now: now, on: connection, logger: logger)
        return record
    }

    private func windows(of intake: NeedIntake, now: Date) throws(WindowProblem) -> [TimeWindow] {
        if let schedule = intake.schedule {
            if intake.windows?.isEmpty == false { throw WindowProblem(field: "schedule", problem: "give windows or a schedule, not both") }
            var slots: [WeeklySlot] = []
            for (index, text) in schedule.weekly.enumerated() {
                guard let slot = WeeklySlot(text) else { throw WindowProblem(field: "schedule.weekly[\(index)]", problem: "must read like 'tue 14:00-16:00'") }
                slots.append(slot)
            }
            guard !slots.isEmpty else { throw WindowProblem(field: "schedule.weekly", problem: "name at least one weekly slot") }
            guard let from = Self.day(schedule.from) else { throw WindowProblem(field: "schedule.from", problem: "must be a day as YYYY-MM-DD") }
            guard let until = Self.day(schedule.until) else { throw WindowProblem(field: "schedule.until", problem: "must be a day as YYYY-MM-DD") }
            let expanded = try NeedWindows.expand(slots: slots, from: from, until: until, calendar: calendar)
            return try NeedWindows.validate(expanded.filter { $0.end > now }, now: now, field: "schedule")
        }
        return try NeedWindows.validate((intake.windows ?? []).map { TimeWindow(start: $0.start, end: $0.end) }, now: now)
    }

    static func day(_ text: String) -> DateComponents? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        return DateComponents(year: year, month: month, day: day)
    }

    /// For each need, in one query for all: the household (or resident) served, with its grid's place
    /// and its address, and the place of the grid the need names.
    private func places(of intakes: [NeedIntake], on connection: PostgresConnection) async throws -> [FoundPlaces] {
        var found = [FoundPlaces](repeating: FoundPlaces(), count: intakes.count)
        guard !intakes.isEmpty else { return found }
        let rows = try await connection.query(
            """
            SELECT q.position, s.found, s.grid_code, s.address, sg.district_code, sg.street_code, sg.community_code,
                   ng.district_code, ng.street_code, ng.community_code
            FROM unnest(\(intakes.map { $0.householdId?.uuidString ?? "" })::text[], \(intakes.map { $0.residentId?.uuidString ?? "" })::text[],
                        \(intakes.map { $0.grid ?? "" })::text[]) WITH ORDINALITY AS q(household, resident, grid, position)
            LEFT JOIN LATERAL (
                SELECT h.grid_code, h.address, true AS found FROM known_household h WHERE h.id = NULLIF(q.household, '')::uuid
                UNION ALL
                SELECT r.grid_code, rh.address, true FROM known_resident r LEFT JOIN known_household rh ON rh.id = r.household_id
                WHERE q.household = '' AND r.id = NULLIF(q.resident, '')::uuid
            ) s ON true
            LEFT JOIN known_place sg ON sg.code = s.grid_code AND sg.level = 'grid'
            LEFT JOIN known_place ng ON ng.code = NULLIF(q.grid, '') AND ng.level = 'grid'
            """, logger: logger)
        for try await (position, served, grid, address, district, street, community, gridDistrict, gridStreet, gridCommunity) in rows.decode(
            (Int, Bool?, String?, String?, String?, String?, String?, String?, String?, String?).self)
        {
            let index = position - 1
            if served == true { found[index].served = ServedPlace(grid: grid, address: address, district: district, street: street, community: community) }
            if let gridDistrict, let named = intakes[index].grid {
                found[index].grid = PlaceLocation(district: gridDistrict, street: gridStreet, community: gridCommunity, grid: named)
            }
        }
        return found
    }
}

/// A need reported by a caller.
typealias NeedRequest = Reported<NeedIntake>

/// A need's own fields, checked.
struct CheckedNeed: Sendable {
    var kind: ServiceKind
    var urgency: Urgency
    var volunteers: Int
    var skills: [String]
    var windows: [TimeWindow]
}

/// A need worked out in memory, to be written with others (`NeedStore.insert`).
struct PlannedNeed: Sendable {
    var record: NeedRecord
    var reporter: String
    var sourceEventID: UUID?
    /// Its first offers and when the dispatcher first looks at the need, when they were chosen before
    /// it was written (`OfferDesk.firstOffers`); otherwise none, and the dispatcher looks at once.
    var first = FirstOffers(offers: [], dispatchAfter: .distantPast)
}

/// What a need's household, resident and grid turned out to be.
struct FoundPlaces: Sendable {
    /// The household or resident served, when known.
    var served: ServedPlace?
    /// The grid the need names, when known.
    var grid: PlaceLocation?
}

/// Where the household or resident a need serves lives.
struct ServedPlace: Sendable {
    var grid: String?
    var address: String?
    /// The grid's place, when the grid is known.
    var location: PlaceLocation?

    init(grid: String?, address: String?, district: String?, street: String?, community: String?) {
        self.grid = grid
        self.address = address
        location = district.map { PlaceLocation(district: $0, street: street, community: community, grid: grid) }
    }
}

/// Appends an event to `volunteer.events` through the outbox.
enum VolunteerEvents {
    static func append<Payload: Encodable>(
        _ type: EventType, key: UUID, _ payload: Payload, now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await Outbox.append([try entry(type, key: key, payload, now: now)], on: connection, logger: logger)
    }

    static func entry<Payload: Encodable>(_ type: EventType, key: UUID, _ payload: Payload, now: Date) throws -> OutboxEntry {
        let subject = key.uuidString.lowercased()
        let event = CloudEvent(source: "/volunteer-matching", type: type, subject: subject, time: now, data: try EventCoding.encode(payload))
        return OutboxEntry(topic: Topic.volunteerEvents.name, key: subject, event: event)
    }
}
