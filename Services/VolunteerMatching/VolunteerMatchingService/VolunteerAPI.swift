import Contracts
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceRuntime
import Storage
import VolunteerCore

/// The volunteer-matching API under `/api/v1`: needs, offers, assignments, service records, volunteers, pairings.
struct VolunteerAPI: Sendable {
    let database: Database
    let directory: VolunteerDirectory
    let logger: Logger
    let clock: @Sendable () -> Date
    /// Needs reported together share a transaction (see `GroupCommit`).
    let reports: GroupCommit<NeedRequest, NeedCreated>

    init(database: Database, directory: VolunteerDirectory, logger: Logger, clock: @escaping @Sendable () -> Date) {
        self.database = database
        self.directory = directory
        self.logger = logger
        self.clock = clock
        let needs = NeedStore(logger: logger, calendar: directory.calendar), desk = OfferDesk(logger: logger)
        // Households and candidates are read, then everything is written in one statement (`NeedStore.insert`).
        reports = GroupCommit(name: "service-need", database: database, atomicity: .oneStatement, logger: logger) { requests, connection in
            try await Self.open(requests, needs: needs, desk: desk, directory: directory, now: clock(), on: connection)
        }
    }

    var calendar: Calendar { directory.calendar }
    var needs: NeedStore { NeedStore(logger: logger, calendar: calendar) }
    var desk: OfferDesk { OfferDesk(logger: logger) }
    var log: ServiceLog { ServiceLog(logger: logger, calendar: calendar) }
    var volunteers: Volunteers { Volunteers(logger: logger) }

    func register(on api: RouterGroup<AppContext>) {
        let needs = api.group("needs")
        needs.post(use: report)
        needs.get(use: list)
        needs.get(":id", use: detail)
        needs.get(":id/candidates", use: candidates)
        needs.post(":id/cancel", use: cancelNeed)
        api.post("offers/:id/accept", use: accept)
        api.post("offers/:id/decline", use: decline)
        let assignments = api.group("assignments")
        assignments.get(":id", use: assignment)
        assignments.post(":id/cancel", use: cancelAssignment)
        assignments.post(":id/check-in", use: checkIn)
        assignments.post(":id/check-out", use: checkOut)
        assignments.post(":id/absences", use: absence)
        api.get("service-records/:id", use: serviceRecord)
        api.post("service-records/:id/verification", use: verify)
        api.post("service-records/:id/ratings", use: rate)
        let volunteers = api.group("volunteers")
        volunteers.get(":id", use: volunteer)
        volunteers.get(":id/offers", use: volunteerOffers)
        volunteers.get(":id/hours", use: hours)
        volunteers.post(":id/pause", use: pause)
        volunteers.post(":id/resume", use: resume)
        api.post("pairings", use: pair)
        api.get("pairings/:id", use: pairing)
        api.post("pairings/:id/end", use: endPairing)
    }

    /// Asks candidates for a need after the change that freed its seats has committed. A failure here
    /// is only logged: the offer dispatcher looks at every open need again within seconds.
    private func dispatch(_ need: UUID) async -> [OfferSnapshot] {
        do {
            let desk = desk, directory = directory, now = clock()
            return try await database.transaction { connection in try await desk.dispatch(need: need, directory: directory, now: now, on: connection) }
        } catch {
            logger.warning("dispatch after change failed; the dispatcher will retry", metadata: ["aggregate.id": "\(need)", "error": "\(error)"])
            return []
        }
    }

    struct NeedCreated: Codable, Sendable {
        var need: NeedSnapshot
        var offers: [OfferSnapshot]
    }

    @Sendable func report(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.reporters, action: "report service needs")
        let body = try await request.collectBody()
        let intake = try decodeJSON(NeedIntake.self, from: body)
        // A plain report may share its transaction with others; one with a key to record is written alone.
        let needRequest = NeedRequest(intake: intake, actor: principal)
        guard request.headers[IdempotentWrite.header] != nil else {
            return try APIResult(.created, try await reports.submit(needRequest)).response()
        }
        let needs = needs, desk = desk, directory = directory, clock = clock
        return try await IdempotentWrite.run(request, body: body, subject: principal.subject, database: database, logger: logger) { connection in
            try APIResult(.created, try await Self.open([needRequest], needs: needs, desk: desk, directory: directory, now: clock(), on: connection)[0].get())
        }
    }

    /// Records needs and makes their first offers, which go out with them, so each reporter sees who
    /// is asked: three statements however many needs (places, free candidates, the write).
    private static func open(
        _ requests: [NeedRequest], needs: NeedStore, desk: OfferDesk, directory: VolunteerDirectory, now: Date, on connection: PostgresConnection
    ) async throws -> [Result<NeedCreated, any Error>] {
        let planned = try await needs.plan(requests, now: now, on: connection)
        var accepted = planned.compactMap { try? $0.get() }
        // The first offers are chosen before the needs are written, so that each need goes in with
        // them and with when the dispatcher should next look at it, all in one statement.
        let first = try await desk.firstOffers(for: accepted.map(\.record), directory: directory, now: now, on: connection)
        for index in accepted.indices { accepted[index].first = first[index] }
        let written = try await needs.insert(accepted, now: now, on: connection)
        let created = zip(written, first).map { record, first in record.map { NeedCreated(need: $0.snapshot, offers: first.offers) } }
        return NeedRequest.answers(planned, written: created, recordedBefore: "This need was recorded already.")
    }

    @Sendable func list(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.readers, action: "read service needs")
        let query = request.queryValues
        let page = try PageRequest(query)
        var builder = QueryBuilder()
        try builder.placeFilters(scope: principal.scope, query: query, listing: "service needs")
        builder.filter(query["grid"]) { "grid_code = \($0)" }
        builder.filter(query["status"]) { "status = \($0)" }
        builder.filter(query["kind"]) { "kind = \($0)" }
        builder.filter(query["household"].flatMap(UUID.init(uuidString:))) { "household_id = \($0)" }
        let order = builder.keyset(after: page.after.flatMap(UUID.init(uuidString:)), column: "id", limit: page.limit)
        let logger = logger
        let records = try await database.withConnection { connection in
            let rows = try await connection.query(
                builder.query("SELECT \(NeedRecord.columns) FROM service_need \(builder.whereClause) \(order)"), logger: logger)
            return try await rows.collect { try NeedRecord($0).snapshot }
        }
        return try APIResult(.ok, Page(fetched: records, limit: page.limit) { $0.id.uuidString }).response()
    }

    struct NeedView: Codable, Sendable {
        var need: NeedSnapshot
        /// Only for staff, and for a volunteer whose assignment on the need is confirmed.
        var contact: ServiceContact?
        var notes: String?
        var offers: [OfferSnapshot]?
        var assignments: [AssignmentSnapshot]?
    }

    @Sendable func detail(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let desk = desk, logger = logger
        let view = try await database.withConnection { connection in
            guard let need = try await NeedRecord.find(id, on: connection, logger: logger) else { throw VolunteerError.notFound("need", id) }
            var assignments: [AssignmentSnapshot] = []
            for try await assignment in try await connection.query("SELECT id FROM assignment WHERE need_id = \(id) ORDER BY confirmed_at", logger: logger)
                .decode(UUID.self)
            {
                if let found = try await desk.findAssignment(assignment, on: connection) { assignments.append(found) }
            }
            if let volunteer = Access.volunteer(principal) {
                let confirmed = assignments.contains { $0.volunteerId == volunteer && $0.status == "confirmed" }
                let offered = try await desk.offers(need: id, on: connection).contains { $0.volunteerId == volunteer }
                guard confirmed || offered else { throw VolunteerError.notFound("need", id) }
                // Before the volunteer is confirmed they see what, where and when; not who or at which door.
                return NeedView(need: need.snapshot, contact: confirmed ? need.contact : nil, notes: confirmed ? need.notes : nil)
            }
            guard Access.readers.contains(principal.role), principal.scope.covers(need.place) else { throw VolunteerError.notFound("need", id) }
            return NeedView(
                need: need.snapshot, contact: need.contact, notes: need.notes, offers: try await desk.offers(need: id, on: connection), assignments: assignments)
        }
        return try APIResult(.ok, view).response()
    }

    struct Candidate: Codable, Sendable {
        var volunteerId: UUID
        var score: ScoreParts
    }

    /// The ranked candidates for a need as the engine sees them now, each with its score's parts.
    @Sendable func candidates(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.staff, action: "see candidates")
        let id = try context.uuidParameter()
        let limit = min(max(Int(request.queryValues["limit"] ?? "") ?? 10, 1), 50)
        let logger = logger
        let need = try await database.withConnection { connection in try await NeedRecord.find(id, on: connection, logger: logger) }
        guard let need, principal.scope.covers(need.place) else { throw VolunteerError.notFound("need", id) }
        let matches = try directory.rank(need.profile, limit: limit, excluding: [])
        return try APIResult(
            .ok,
            matches.map { Candidate(volunteerId: $0.volunteer, score: ScoreParts($0.score)) }
        ).response()
    }

    struct Reason: Codable, Sendable {
        var reason: String?
    }

    /// `{reason}` when a body was sent.
    private func optionalReason(_ request: Request) async throws -> String? {
        let body = try await request.collectBody()
        return body.readableBytes == 0 ? nil : try decodeJSON(Reason.self, from: body).reason
    }

    private func reason(_ request: Request) async throws -> String {
        guard let reason = try await optionalReason(request), !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ProblemDetails.badRequest("Say why.", errors: [.init(field: "reason", problem: "required")])
        }
        return reason
    }

    @Sendable func cancelNeed(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.staff, action: "cancel service needs")
        let id = try context.uuidParameter()
        let reason = try await reason(request)
        let needs = needs, now = clock()
        let record = try await database.transaction { connection in try await needs.cancel(id, reason: reason, actor: principal, now: now, on: connection) }
        return try APIResult(.ok, record.snapshot).response()
    }

    @Sendable func accept(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.staff.union([.volunteer]), action: "answer offers")
        let id = try context.uuidParameter()
        let desk = desk, now = clock()
        let assignment = try await database.transaction { connection in try await desk.accept(id, actor: principal, now: now, on: connection) }
        return try APIResult(.created, assignment).response()
    }

    @Sendable func decline(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.staff.union([.volunteer]), action: "answer offers")
        let id = try context.uuidParameter()
        let reason = try await optionalReason(request)
        let desk = desk, now = clock()
        let offer = try await database.transaction { connection in try await desk.decline(id, reason: reason, actor: principal, now: now, on: connection) }
        _ = await dispatch(offer.needId)
        return try APIResult(.ok, offer).response()
    }

    @Sendable func assignment(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let desk = desk, logger = logger
        let assignment = try await database.withConnection { connection in
            guard let assignment = try await desk.findAssignment(id, on: connection), let need = try await NeedRecord.find(assignment.needId, on: connection, logger: logger) else {
                throw VolunteerError.notFound("assignment", id)
            }
            if Access.volunteer(principal) == assignment.volunteerId { return assignment }
            guard principal.role != .volunteer, Access.readers.contains(principal.role), principal.scope.covers(need.place) else {
                throw VolunteerError.notFound("assignment", id)
            }
            return assignment
        }
        return try APIResult(.ok, assignment).response()
    }

    @Sendable func cancelAssignment(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.staff.union([.volunteer]), action: "cancel assignments")
        let id = try context.uuidParameter()
        let reason = try await reason(request)
        let desk = desk, now = clock()
        let cancelled = try await database.transaction { connection in
            try await desk.cancel(assignment: id, reason: reason, actor: principal, now: now, on: connection)
        }
        _ = await dispatch(cancelled.needId)
        return try APIResult(.ok, cancelled).response()
    }

    struct CheckIn: Codable, Sendable {
        var windowStart: Date?
    }

    @Sendable func checkIn(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.staff.union([.volunteer]), action: "check in")
        let id = try context.uuidParameter()
        let body = try await request.collectBody()
        let asked = body.readableBytes == 0 ? CheckIn() : try decodeJSON(CheckIn.self, from: body)
        let log = log, now = clock()
        let record = try await database.transaction { connection in
            try await log.checkIn(assignment: id, windowStart: asked.windowStart, actor: principal, now: now, on: connection)
        }
        return try APIResult(.created, record).response()
    }

    @Sendable func checkOut(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.staff.union([.volunteer]), action: "check out")
        let id = try context.uuidParameter()
        let log = log, now = clock()
        let record = try await database.transaction { connection in try await log.checkOut(assignment: id, actor: principal, now: now, on: connection) }
        return try APIResult(.ok, record).response()
    }

    struct Absence: Codable, Sendable {
        var windowStart: Date
        var excused: Bool
        var reason: String?
    }

    @Sendable func absence(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.staff, action: "record absences")
        let id = try context.uuidParameter()
        let asked = try decodeJSON(Absence.self, from: try await request.collectBody())
        let log = log, now = clock()
        let absence = try await database.transaction { connection in
            try await log.recordAbsence(
                assignment: id, windowStart: asked.windowStart, excused: asked.excused, reason: asked.reason, actor: principal, now: now, on: connection)
        }
        return try APIResult(.created, absence).response()
    }

    @Sendable func serviceRecord(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let log = log, logger = logger
        let record = try await database.withConnection { connection in
            guard let record = try await log.find(id, on: connection), let need = try await NeedRecord.find(record.needId, on: connection, logger: logger) else {
                throw VolunteerError.notFound("service record", id)
            }
            let own = Access.volunteer(principal) == record.volunteerId
            guard own || (principal.role != .volunteer && Access.readers.contains(principal.role) && principal.scope.covers(need.place)) else {
                throw VolunteerError.notFound("service record", id)
            }
            return record
        }
        return try APIResult(.ok, record).response()
    }

    struct Decision: Codable, Sendable {
        var decision: String
        var note: String?
    }

    static let onBehalfOf = HTTPFields.Element.Name("X-On-Behalf-Of")!

    @Sendable func verify(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.verifiers, action: "verify hours")
        let id = try context.uuidParameter()
        let asked = try decodeJSON(Decision.self, from: try await request.collectBody())
        guard asked.decision == "approve" || asked.decision == "reject" else {
            throw ProblemDetails.badRequest("decision must be approve or reject.", errors: [.init(field: "decision", problem: "approve or reject")])
        }
        let onBehalfOf = request.headers[Self.onBehalfOf]
        let log = log, now = clock()
        let record = try await database.transaction { connection in
            try await log.verify(id, approve: asked.decision == "approve", note: asked.note, actor: principal, onBehalfOf: onBehalfOf, now: now, on: connection)
        }
        return try APIResult(.ok, record).response()
    }

    struct Rating: Codable, Sendable {
        /// `recipient` (entered by staff for the household) or `volunteer`.
        var from: String
        var stars: Int
        var comment: String?
    }

    @Sendable func rate(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.staff.union([.volunteer]), action: "rate services")
        let id = try context.uuidParameter()
        let asked = try decodeJSON(Rating.self, from: try await request.collectBody())
        guard asked.from == "recipient" || asked.from == "volunteer" else {
            throw ProblemDetails.badRequest("from must be recipient or volunteer.", errors: [.init(field: "from", problem: "recipient or volunteer")])
        }
        let log = log, now = clock()
        let record = try await database.transaction { connection in
            try await log.rate(id, byRecipient: asked.from == "recipient", stars: asked.stars, comment: asked.comment, actor: principal, now: now, on: connection)
        }
        return try APIResult(.ok, record).response()
    }

    @Sendable func volunteer(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let volunteers = volunteers
        let view = try await database.withConnection { connection in try await volunteers.visible(id, to: principal, on: connection) }
        return try APIResult(.ok, view).response()
    }

    @Sendable func volunteerOffers(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let status = request.queryValues["status"] ?? "pending"
        let volunteers = volunteers, logger = logger
        let offers = try await database.withConnection { connection in
            _ = try await volunteers.visible(id, to: principal, on: connection)
            let rows = try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT \(OfferDesk.offerColumns) FROM offer WHERE volunteer_id = $1 AND status = $2 ORDER BY offered_at DESC LIMIT 100",
                    binds: .of(id, status)), logger: logger)
            let offers = try await rows.collect(OfferDesk.offer)
            return offers
        }
        return try APIResult(.ok, offers).response()
    }

    @Sendable func hours(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let now = clock()
        let year = try request.queryValues["year"].map { text in
            guard let year = Int(text), (2000...2100).contains(year) else {
                throw ProblemDetails.badRequest("year must be a year such as 2026.", errors: [.init(field: "year", problem: "a year")])
            }
            return year
        } ?? calendar.component(.year, from: now)
        let volunteers = volunteers, log = log
        let report = try await database.withConnection { connection in
            _ = try await volunteers.visible(id, to: principal, on: connection)
            return try await log.hours(volunteer: id, year: year, on: connection)
        }
        return try APIResult(.ok, report).response()
    }

    @Sendable func pause(_ request: Request, context: AppContext) async throws -> Response {
        try await setPaused(true, request, context)
    }

    @Sendable func resume(_ request: Request, context: AppContext) async throws -> Response {
        try await setPaused(false, request, context)
    }

    private func setPaused(_ paused: Bool, _ request: Request, _ context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.staff.union([.volunteer]), action: "pause offers")
        let id = try context.uuidParameter()
        let reason = try await optionalReason(request)
        let volunteers = volunteers, now = clock()
        let view = try await database.transaction { connection in
            try await volunteers.setPaused(id, paused: paused, reason: reason, actor: principal, now: now, on: connection)
        }
        try? await directory.refresh()
        return try APIResult(.ok, view).response()
    }

    @Sendable func pair(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.staff, action: "pair volunteers with households")
        let asked = try decodeJSON(Volunteers.PairingRequest.self, from: try await request.collectBody())
        let volunteers = volunteers, now = clock()
        let pairing = try await database.transaction { connection in try await volunteers.pair(asked, actor: principal, now: now, on: connection) }
        return try APIResult(.created, pairing).response()
    }

    @Sendable func pairing(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let volunteers = volunteers
        let (pairing, _) = try await database.withConnection { connection in try await volunteers.pairing(id, actor: principal, on: connection) }
        return try APIResult(.ok, pairing).response()
    }

    @Sendable func endPairing(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: Access.staff, action: "end pairings")
        let id = try context.uuidParameter()
        let reason = try await reason(request)
        let volunteers = volunteers
        let pairing = try await database.transaction { connection in try await volunteers.endPairing(id, reason: reason, actor: principal, on: connection) }
        return try APIResult(.ok, pairing).response()
    }
}
