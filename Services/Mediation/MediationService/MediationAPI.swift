import Contracts
import Foundation
import Hummingbird
import Logging
import MediationCore
import PostgresNIO
import ServiceRuntime
import Storage

/// The mediation API under `/api/v1`: cases, their transitions, and the deadline rules.
struct MediationAPI: Sendable {
    let database: Database
    let store: CaseStore
    let logger: Logger
    let clock: @Sendable () -> Date
    /// Reports that arrive together share a transaction (see `GroupCommit`).
    let reports: GroupCommit<ReportRequest, CaseSnapshot>

    init(database: Database, store: CaseStore, logger: Logger, clock: @escaping @Sendable () -> Date) {
        self.database = database
        self.store = store
        self.logger = logger
        self.clock = clock
        // The sites are read, then everything is written in one statement (`CaseStore.write`).
        reports = GroupCommit(name: "dispute-case", database: database, atomicity: .oneStatement, logger: logger) { requests, connection in
            let now = clock()
            let planned = try await store.plan(requests, now: now, on: connection)
            let written = try await store.write(planned.compactMap { try? $0.get() }, now: now, on: connection)
            return ReportRequest.answers(planned, written: written.map { $0?.snapshot }, recordedBefore: "This report was recorded already.")
        }
    }

    static let reporters: Set<Role> = [.cityAdmin, .districtOperator, .streetOperator, .communityWorker, .gridWorker, .mediator, .districtIntegrator]
    static let handlers: Set<Role> = [.cityAdmin, .districtOperator, .streetOperator, .communityWorker, .mediator]
    static let readers: Set<Role> = handlers.union([.gridWorker, .auditor, .districtIntegrator])

    func register(on api: RouterGroup<AppContext>) {
        let cases = api.group("cases")
        cases.post(use: report)
        cases.get(use: list)
        cases.get(":id", use: detail)
        cases.patch(":id", use: reclassify)
        cases.post(":id/transitions", use: transition)
        cases.post(":id/meetings", use: scheduleMeeting)
        cases.post(":id/meetings/:meeting/minutes", use: recordMinutes)
        api.get("statistics", use: statistics)
        api.get("deadline-rules", use: rules)
        api.put("deadline-rules", use: setRule)
    }

    private func principal(_ context: AppContext, _ roles: Set<Role>, _ action: String) throws -> Principal {
        try context.requirePrincipal(roles: roles, action: action)
    }

    private func caseID(_ context: AppContext) throws -> UUID { try context.uuidParameter() }

    @Sendable func report(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try principal(context, Self.reporters, "report disputes")
        let body = try await request.collectBody()
        let intake = try decodeJSON(CaseIntake.self, from: body)
        // A plain report may share its transaction with others; one with a key to record is written alone.
        guard request.headers[IdempotentWrite.header] != nil else {
            return try APIResult(.created, try await reports.submit(ReportRequest(intake: intake, actor: principal))).response()
        }
        let store = store, clock = clock
        return try await IdempotentWrite.run(request, body: body, subject: principal.subject, database: database, logger: logger) { connection in
            guard let record = try await store.report(intake, actor: principal, now: clock(), on: connection) else {
                throw ProblemDetails.conflict("This report was recorded already.")
            }
            return try APIResult(.created, record.snapshot)
        }
    }

    struct TransitionRequest: Codable, Sendable {
        var action: String
        var reason: String?
        var mediatorId: UUID?
        var document: String?
        var holds: Bool?
        var note: String?
        var toCommunity: String?
        var toBody: String?

        func caseAction() throws -> CaseAction {
            func required(_ value: String?, _ field: String) throws -> String {
                guard let value, !value.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ProblemDetails.badRequest("\(action) needs \(field).", errors: [.init(field: field, problem: "required for \(action)")])
                }
                return value
            }
            switch action {
            case "accept": return .accept
            case "refuse": return .refuse(reason: try required(reason, "reason"))
            case "assign":
                guard let mediatorId else { throw ProblemDetails.badRequest("assign needs mediatorId.", errors: [.init(field: "mediatorId", problem: "required for assign")]) }
                return .assign(mediator: mediatorId)
            case "start-mediation": return .startMediation
            case "reach-agreement": return .reachAgreement(document: try required(document, "document"))
            case "fail": return .fail(reason: try required(reason, "reason"))
            case "refer-to-legal": return .referToLegal(reason: try required(reason, "reason"))
            case "withdraw": return .withdraw(reason: try required(reason, "reason"))
            case "escalate": return .escalate(reason: try required(reason, "reason"))
            case "transfer":
                let why = try required(reason, "reason")
                if let community = toCommunity { return .transfer(to: .community(community), reason: why) }
                return .transfer(to: .outside(body: try required(toBody, "toBody")), reason: why)
            case "follow-up":
                guard let holds else { throw ProblemDetails.badRequest("follow-up needs holds.", errors: [.init(field: "holds", problem: "required for follow-up")]) }
                return .followUp(holds: holds, note: note ?? "")
            case "close": return .close
            case "reopen": return .reopen(reason: try required(reason, "reason"))
            default:
                throw ProblemDetails.badRequest(
                    "Unknown action '\(action.prefix(40))'.", errors: [.init(field: "action", problem: "one of accept, refuse, assign, start-mediation, reach-agreement, fail, refer-to-legal, withdraw, escalate, transfer, follow-up, close, reopen")])
            }
        }
    }

    @Sendable func transition(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try principal(context, Self.handlers, "handle cases")
        let id = try caseID(context)
        let body = try await request.collectBody()
        let asked = try decodeJSON(TransitionRequest.self, from: body)
        let action = try asked.caseAction()
        let store = store, clock = clock
        let record = try await database.transaction { connection in
            if case .assign(let mediator) = action {
                let rows = try await connection.query("SELECT 1 FROM mediator WHERE role_id = \(mediator) AND active", logger: logger)
                var known = false
                for try await _ in rows { known = true }
                guard known else { throw ProblemDetails.unknownReference("No active mediator \(mediator.uuidString.lowercased()).", errors: [.init(field: "mediatorId", problem: "unknown or inactive")]) }
            }
            return try await store.apply(action, to: id, actor: principal, reason: nil, now: clock(), on: connection)
        }
        return try APIResult(.ok, record.snapshot).response()
    }

    struct Reclassification: Codable, Sendable {
        var category: String?
        var grid: String?
        var reason: String
    }

    @Sendable func reclassify(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try principal(context, Self.handlers, "reclassify cases")
        let id = try caseID(context)
        let change = try decodeJSON(Reclassification.self, from: try await request.collectBody())
        let store = store, clock = clock
        let record = try await database.transaction { connection in
            try await store.reclassify(id, category: change.category, grid: change.grid, reason: change.reason, actor: principal, now: clock(), on: connection)
        }
        return try APIResult(.ok, record.snapshot).response()
    }

    @Sendable func list(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try principal(context, Self.readers, "read cases")
        let query = request.queryValues
        let page = try PageRequest(query)
        var builder = QueryBuilder()
        try builder.placeFilters(scope: principal.scope, query: query, listing: "cases")
        builder.filter(query["status"]) { "status = \($0)" }
        builder.filter(query["level"]) { "level = \($0)" }
        builder.filter(query["mediator"].flatMap(UUID.init(uuidString:))) { "mediator_role_id = \($0)" }
        let order = builder.keyset(after: page.after.flatMap(UUID.init(uuidString:)), column: "id", limit: page.limit)
        let records = try await database.withConnection { connection in
            let rows = try await connection.query(
                builder.query("SELECT \(CaseRecord.columns) FROM dispute_case \(builder.whereClause) \(order)"), logger: logger)
            return try await rows.collect { try CaseRecord(row: $0).snapshot }
        }
        return try APIResult(.ok, Page(fetched: records, limit: page.limit) { $0.id.uuidString }).response()
    }

    struct TransitionView: Codable, Sendable {
        var action: String
        var fromStatus: String?
        var toStatus: String
        var fromLevel: String?
        var toLevel: String
        var actor: String
        var reason: String?
        var at: Date
    }

    struct CaseView: Codable, Sendable {
        var `case`: CaseSnapshot
        var description: String
        var agreement: String?
        var parties: [CaseParty]
        var transitions: [TransitionView]
        var meetings: [Meeting]
    }

    @Sendable func detail(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try principal(context, Self.readers, "read cases")
        let id = try caseID(context)
        let view = try await database.withConnection { connection in
            guard let record = try await store.find(id, on: connection),
                principal.scope.covers(PlacePath(district: record.location.district, street: record.location.street, community: record.location.community))
            else { throw MediationError.notFound(id) }
            var parties: [CaseParty] = []
            for try await (resident, organisation, name, contact) in try await connection.query(
                "SELECT resident_id, organisation_id, name, contact FROM case_party WHERE case_id = \(id) ORDER BY position", logger: logger
            ).decode((UUID?, UUID?, String, String?).self) {
                parties.append(CaseParty(residentId: resident, organisationId: organisation, name: name, contact: contact))
            }
            var transitions: [TransitionView] = []
            for try await (action, fromStatus, toStatus, fromLevel, toLevel, actor, reason, at) in try await connection.query(
                "SELECT action, from_status, to_status, from_level, to_level, actor, reason, at FROM case_transition WHERE case_id = \(id) ORDER BY id",
                logger: logger
            ).decode((String, String?, String, String?, String, String, String?, Date).self) {
                transitions.append(TransitionView(action: action, fromStatus: fromStatus, toStatus: toStatus, fromLevel: fromLevel, toLevel: toLevel, actor: actor, reason: reason, at: at))
            }
            let meetings = try await MeetingStore(logger: logger).list(caseID: id, on: connection)
            return CaseView(
                case: record.snapshot, description: record.description, agreement: record.agreement, parties: parties, transitions: transitions,
                meetings: meetings)
        }
        return try APIResult(.ok, view).response()
    }

    struct MeetingRequest: Codable, Sendable {
        var kind: String
        var scheduledAt: Date
        var place: String
        var participants: [Meeting.Participant]
    }

    /// The case, locked and within the caller's scope.
    private func visibleCase(_ id: UUID, principal: Principal, on connection: PostgresConnection) async throws -> CaseRecord {
        guard let record = try await store.find(id, lock: true, on: connection),
            principal.scope.covers(PlacePath(district: record.location.district, street: record.location.street, community: record.location.community))
        else { throw MediationError.notFound(id) }
        return record
    }

    @Sendable func scheduleMeeting(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try principal(context, Self.handlers, "schedule meetings")
        let id = try caseID(context)
        let asked = try decodeJSON(MeetingRequest.self, from: try await request.collectBody())
        let meeting = try await database.transaction { connection in
            _ = try await visibleCase(id, principal: principal, on: connection)
            return try await MeetingStore(logger: logger).schedule(
                caseID: id, kind: asked.kind, at: asked.scheduledAt, place: asked.place, participants: asked.participants, by: principal.subject, on: connection)
        }
        return try APIResult(.created, meeting).response()
    }

    struct Minutes: Codable, Sendable {
        var minutes: String
    }

    @Sendable func recordMinutes(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try principal(context, Self.handlers, "record minutes")
        let id = try caseID(context)
        let meetingID = try context.uuidParameter("meeting")
        let minutes = try decodeJSON(Minutes.self, from: try await request.collectBody())
        let clock = clock
        let meeting = try await database.transaction { connection in
            _ = try await visibleCase(id, principal: principal, on: connection)
            return try await MeetingStore(logger: logger).recordMinutes(caseID: id, meetingID: meetingID, minutes: minutes.minutes, now: clock(), on: connection)
        }
        return try APIResult(.ok, meeting).response()
    }

    /// Figures per place at `level` (default community), limited to the caller's scope.
    @Sendable func statistics(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try principal(context, Self.readers, "read statistics")
        let query = request.queryValues
        let level = try query["level"].map { text in
            guard let level = MediationLevel(rawValue: text) else { throw ProblemDetails.badRequest("level must be community, street or district.") }
            return level
        } ?? .community
        var filter = PlacePath(district: query["district"], street: query["street"], community: query["community"])
        switch principal.scope.level {
        case .city: break
        case .district: filter.district = principal.scope.id
        case .street: filter.street = principal.scope.id
        case .community: filter.community = principal.scope.id
        case .organisation: throw ProblemDetails.forbidden("An organisation's token does not cover statistics.")
        }
        let figures = try await database.withConnection { try await StatisticsStore(logger: logger).statistics(level: level, filter: filter, on: $0) }
        return try APIResult(.ok, ["items": figures]).response()
    }

    struct RuleView: Codable, Sendable {
        var category: String
        var severity: String
        var level: String
        var kind: String
        var hours: Int
        var lateAfterHour: Int
    }

    @Sendable func rules(_ request: Request, context: AppContext) async throws -> Response {
        _ = try principal(context, Self.readers, "read deadline rules")
        let rules = try await database.withConnection { connection in
            var rules: [RuleView] = []
            for try await (category, severity, level, kind, hours, late) in try await connection.query(
                "SELECT category, severity, level, kind, hours, late_after_hour FROM deadline_rule ORDER BY category, severity, level", logger: logger
            ).decode((String, String, String, String, Int, Int).self) {
                rules.append(RuleView(category: category, severity: severity, level: level, kind: kind, hours: hours, lateAfterHour: late))
            }
            return rules
        }
        return try APIResult(.ok, ["items": rules]).response()
    }

    /// Changes one rule. Open cases keep the deadline they have; new deadlines follow the new rule.
    @Sendable func setRule(_ request: Request, context: AppContext) async throws -> Response {
        _ = try principal(context, [.cityAdmin], "change deadline rules")
        let rule = try decodeJSON(RuleView.self, from: try await request.collectBody())
        var problems: [ProblemDetails.FieldProblem] = []
        if DisputeCategory(rawValue: rule.category) == nil { problems.append(.init(field: "category", problem: "unknown category")) }
        if Severity(rawValue: rule.severity) == nil { problems.append(.init(field: "severity", problem: "must be minor or major")) }
        if MediationLevel(rawValue: rule.level) == nil { problems.append(.init(field: "level", problem: "must be community, street or district")) }
        if let kind = DeadlineRule.Kind(rawValue: rule.kind) {
            problems += DeadlineRule(kind: kind, hours: rule.hours, lateAfterHour: rule.lateAfterHour).problems.map { .init(field: "rule", problem: $0) }
        } else {
            problems.append(.init(field: "kind", problem: "must be same-day or within"))
        }
        guard problems.isEmpty else { throw ProblemDetails.badRequest("The rule is not valid; see errors.", errors: problems) }
        _ = try await database.transaction { connection in
            try await connection.query(
                """
                UPDATE deadline_rule SET kind = \(rule.kind), hours = \(rule.hours), late_after_hour = \(rule.lateAfterHour)
                WHERE category = \(rule.category) AND severity = \(rule.severity) AND level = \(rule.level)
                """, logger: logger)
        }
        return try APIResult(.ok, rule).response()
    }
}
