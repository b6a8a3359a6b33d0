import Contracts
import Foundation
import Logging
import MediationCore
import Messaging
import Metrics
import PostgresNIO
import ServiceRuntime
import Storage

/// Why the mediation service refused a request; nothing was written.
public enum MediationError: Error, ProblemConvertible, CustomStringConvertible, Sendable {
    case invalid([ProblemDetails.FieldProblem])
    case unknownGrid(String)
    case notFound(UUID)
    case outOfScope(scope: String, place: String)
    /// A matter already before a court or the police is not for people's mediation.
    case outsideMediation(String)
    case illegal(IllegalTransition)

    /// The reason a district report carrying this error is dead-lettered with.
    public var deadLetterReason: DeadLetterReason {
        let kind =
            switch self {
            case .invalid: "invalid"
            case .unknownGrid, .notFound: "unknown_reference"
            case .outOfScope: "out_of_scope"
            case .outsideMediation: "outside_mediation"
            case .illegal: "conflict"
            }
        return DeadLetterReason(kind: kind, detail: description)
    }

    public var description: String {
        switch self {
        case .invalid(let problems): problems.map { "\($0.field): \($0.problem)" }.joined(separator: "; ")
        case .unknownGrid(let code): "grid \(code) is not known (the registry has not published it)"
        case .notFound(let id): "no case \(id.uuidString.lowercased())"
        case .outOfScope(let scope, let place): "\(place) is outside \(scope)"
        case .outsideMediation(let reason): reason
        case .illegal(let transition): transition.description
        }
    }

    public var problem: ProblemDetails {
        switch self {
        case .invalid(let problems): .badRequest("The case breaks \(problems.count) rule\(problems.count == 1 ? "" : "s"); see errors.", errors: problems)
        case .unknownGrid: .unknownReference(description.prefix(1).uppercased() + description.dropFirst() + ".", errors: [.init(field: "grid", problem: "unknown")])
        case .notFound: .notFound("There is \(description), or it is outside your scope.")
        case .outOfScope: .forbidden("Not allowed: \(description).")
        case .outsideMediation(let reason):
            ProblemDetails(
                type: ProblemDetails.typeBase + "outside-mediation", title: "Not a matter for people's mediation", status: .unprocessableContent,
                detail: reason)
        case .illegal(let transition):
            ProblemDetails(type: ProblemDetails.typeBase + "illegal-transition", title: "Not possible in this state", status: .conflict, detail: transition.description + ".")
        }
    }
}

/// A case as stored.
struct CaseRecord: Sendable {
    var id: UUID
    var category: DisputeCategory
    var severity: Severity
    var channel: IntakeChannel
    var description: String
    var specialNeeds: [String]
    var location: PlaceLocation
    var state: CaseState
    var heldBy: String
    var agreement: String?
    var reportedAt: Date
    var deadlineAt: Date?

    static let columns = """
        id, category, severity, channel, description, special_needs, grid_code, grid_version, community_code, street_code, district_code,
        status, level, held_by, mediator_role_id, agreement_holds, agreement, reported_at, deadline_at
        """

    var snapshot: CaseSnapshot {
        CaseSnapshot(
            id: id, category: category.rawValue, severity: severity.rawValue, channel: channel.rawValue, status: state.status.rawValue,
            level: state.level.rawValue, heldBy: heldBy, location: location, mediatorId: state.mediator, reportedAt: reportedAt,
            deadlineAt: deadlineAt, specialNeeds: specialNeeds)
    }

    /// The code of the place that holds the case at `level`.
    func place(at level: MediationLevel) -> String {
        switch level {
        case .community: location.community ?? ""
        case .street: location.street ?? ""
        case .district: location.district
        }
    }
}

extension CaseRecord {
    init(row: PostgresRandomAccessRow) throws {
        id = try row["id"].decode(UUID.self)
        category = DisputeCategory(rawValue: try row["category"].decode(String.self)) ?? .other
        severity = Severity(rawValue: try row["severity"].decode(String.self)) ?? .major
        channel = IntakeChannel(rawValue: try row["channel"].decode(String.self)) ?? .resident
        description = try row["description"].decode(String.self)
        specialNeeds = try row["special_needs"].decode([String].self)
        location = PlaceLocation(
            district: try row["district_code"].decode(String.self), street: try row["street_code"].decode(String.self),
            community: try row["community_code"].decode(String.self), grid: try row["grid_code"].decode(String.self),
            gridVersion: try row["grid_version"].decode(Int.self))
        state = CaseState(
            status: CaseStatus(rawValue: try row["status"].decode(String.self)) ?? .reported,
            level: MediationLevel(rawValue: try row["level"].decode(String.self)) ?? .community,
            community: location.community ?? "", mediator: try row["mediator_role_id"].decode(UUID?.self),
            agreementHolds: try row["agreement_holds"].decode(Bool?.self))
        heldBy = try row["held_by"].decode(String.self)
        agreement = try row["agreement"].decode(String?.self)
        reportedAt = try row["reported_at"].decode(Date.self)
        deadlineAt = try row["deadline_at"].decode(Date?.self)
    }
}

/// A party to a dispute: a resident or organisation by registry id, or an outsider by name and contact.
public struct CaseParty: Codable, Sendable, Hashable {
    public var residentId: UUID?
    public var organisationId: UUID?
    public var name: String
    public var contact: String?
}

/// A new case as reported.
public struct CaseIntake: Codable, Sendable {
    public var id: UUID?
    public var grid: String
    public var category: String
    public var severity: String
    public var channel: String
    public var description: String
    public var specialNeeds: [String]?
    public var parties: [CaseParty]
    /// `court` or `police` when the matter is already before them: refused with the reason.
    public var alreadyBefore: String?
}

/// Dispute cases: intake, routing, every transition recorded, deadlines stored with the case.
struct CaseStore: Sendable {
    let logger: Logger
    let timeZone: TimeZone

    func find(_ id: UUID, lock: Bool = false, on connection: PostgresConnection) async throws -> CaseRecord? {
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(CaseRecord.columns) FROM dispute_case WHERE id = $1\(lock ? " FOR UPDATE" : "")", binds: .of(id)),
            logger: logger)
        for try await row in rows { return try CaseRecord(row: row.makeRandomAccess()) }
        return nil
    }

    /// Records a reported case, accepts it and routes it: to the least-loaded mediator of its community,
    /// else up a level. Returns `nil` when the case id or `sourceEventID` was recorded before (a report
    /// sent again).
    func report(
        _ intake: CaseIntake, actor: Principal, sourceEventID: UUID? = nil, now: Date, on connection: PostgresConnection
    ) async throws -> CaseRecord? {
        let report = try await plan([ReportRequest(intake: intake, actor: actor, sourceEventID: sourceEventID)], now: now, on: connection)[0].get()
        return try await write([report], now: now, on: connection)[0]
    }

    /// Reports worked out in memory, nothing written yet: each checked, accepted and routed. Their
    /// grids, the communities' mediators with their loads and the deadline rules are read in one query
    /// for all of them. A report's own refusal is its result; a database error throws.
    func plan(_ requests: [ReportRequest], now: Date, on connection: PostgresConnection) async throws -> [Result<CaseReport, MediationError>] {
        let checked = requests.map { request in Result { () throws(MediationError) in try CheckedIntake(request.intake) } }
        var sites = try await sites(of: checked.compactMap { try? $0.get() }.map { ($0.grid, $0.category, $0.severity) }, on: connection).makeIterator()
        // The kept loads learn of this transaction's cases only at commit; without this count every
        // case of a batch would go to the same mediator.
        var routedHere: [UUID: Int] = [:]
        var plans: [Result<CaseReport, MediationError>] = []
        for (request, check) in zip(requests, checked) {
            do throws(any Error) {
                let intake = try check.get()
                guard let site = sites.next() ?? nil else { throw MediationError.unknownGrid(intake.grid) }
                try site.require(within: request.actor)
                let report = try await plan(intake, site: site, request: request, now: now, routedInBatch: routedHere, on: connection)
                if let mediator = report.final.state.mediator { routedHere[mediator, default: 0] += 1 }
                plans.append(.success(report))
            } catch let refusal as MediationError {
                plans.append(.failure(refusal))
            }
        }
        return plans
    }

    /// One report: recorded, accepted and routed, in memory.
    private func plan(
        _ intake: CheckedIntake, site: CaseSite, request: ReportRequest, now: Date, routedInBatch: [UUID: Int], on connection: PostgresConnection
    ) async throws -> CaseReport {
        let community = site.location.community ?? ""
        let reported = CaseRecord(
            id: request.intake.id ?? UUID.random(), category: intake.category, severity: intake.severity, channel: intake.channel,
            description: intake.description, specialNeeds: request.intake.specialNeeds ?? [], location: site.location,
            state: CaseState(status: .reported, level: .community, community: community, mediator: nil, agreementHolds: nil),
            heldBy: community, agreement: nil, reportedAt: now, deadlineAt: nil)
        let rules = RuleBook(store: self, category: intake.category, severity: intake.severity, known: [.community: site.communityRule], connection: connection)
        var changes = [CaseChange(record: reported, action: "report", previous: nil, reason: nil, type: MediationEventTypes.reported)]
        changes.append(try await advance(reported, .accept, reason: nil, now: now, rules: rules))
        changes += try await routed(
            changes[changes.count - 1].record, actor: request.actor.subject, now: now, rules: rules, communityLoads: site.mediators,
            routedInBatch: routedInBatch, on: connection)
        return CaseReport(changes: changes, parties: request.intake.parties, actor: request.actor.subject, sourceEventID: request.sourceEventID)
    }

    /// Writes planned reports in one statement however many there are: the cases with their parties,
    /// history rows and events. A report whose case id or source event was recorded before, or comes
    /// twice, writes nothing and answers `nil`.
    func write(_ reports: [CaseReport], now: Date, on connection: PostgresConnection) async throws -> [CaseRecord?] {
        let unique = ReportRequest.firsts(ids: reports.map(\.final.id), sources: reports.map(\.sourceEventID))
        let fresh = zip(reports, unique).filter(\.1).map(\.0)
        let cases = fresh.map(\.final)
        let parties = fresh.flatMap { report in report.parties.enumerated().map { (report.final.id, $0.offset, $0.element) } }
        let steps = fresh.flatMap { report in report.changes.map { CaseStep(change: $0, actor: report.actor) } }
        // One statement for the cases, their parties, history and events: a report that was recorded
        // before is left out by the conflict, and its history and events with it.
        let statement: PostgresQuery = """
            WITH new_case AS (
                INSERT INTO dispute_case (id, category, severity, channel, description, special_needs, grid_code, grid_version, community_code,
                                          street_code, district_code, status, level, held_by, mediator_role_id, reported_at, deadline_at,
                                          reported_by, source_event_id, updated_at)
                SELECT c.id, c.category, c.severity, c.channel, c.description, ARRAY(SELECT json_array_elements_text(c.special_needs::json)),
                       c.grid, c.grid_version, c.community, c.street, c.district, c.status, c.level, c.held_by, NULLIF(c.mediator, '')::uuid,
                       \(now), to_timestamp(NULLIF(c.deadline_at, 'NaN')), c.reported_by, NULLIF(c.source_event_id, '')::uuid, \(now)
                FROM unnest(\(cases.map(\.id))::uuid[], \(cases.map(\.category.rawValue))::text[], \(cases.map(\.severity.rawValue))::text[],
                            \(cases.map(\.channel.rawValue))::text[], \(cases.map(\.description))::text[], \(cases.map { NestedList.json($0.specialNeeds) })::text[],
                            \(cases.map { $0.location.grid ?? "" })::text[], \(cases.map { $0.location.gridVersion ?? 1 })::int4[],
                            \(cases.map { $0.location.community ?? "" })::text[], \(cases.map { $0.location.street ?? "" })::text[],
                            \(cases.map(\.location.district))::text[], \(cases.map(\.state.status.rawValue))::text[], \(cases.map(\.state.level.rawValue))::text[],
                            \(cases.map(\.heldBy))::text[], \(cases.map { $0.state.mediator?.uuidString ?? "" })::text[],
                            \(cases.map { $0.deadlineAt?.timeIntervalSince1970 ?? .nan })::float8[], \(fresh.map(\.actor))::text[],
                            \(fresh.map { $0.sourceEventID?.uuidString ?? "" })::text[])
                     AS c(id, category, severity, channel, description, special_needs, grid, grid_version, community, street, district, status,
                          level, held_by, mediator, deadline_at, reported_by, source_event_id)
                -- The load trigger locks each mediator's row at commit in the order the cases went in:
                -- every batch in mediator order, so two batches never wait for each other in a circle.
                ORDER BY c.mediator
                ON CONFLICT DO NOTHING
                RETURNING id),
            parties AS (
                INSERT INTO case_party (case_id, position, resident_id, organisation_id, name, contact)
                SELECT p.case_id, p.position, NULLIF(p.resident_id, '')::uuid, NULLIF(p.organisation_id, '')::uuid, p.name, NULLIF(p.contact, '')
                FROM unnest(\(parties.map(\.0))::uuid[], \(parties.map(\.1))::int4[], \(parties.map { $0.2.residentId?.uuidString ?? "" })::text[],
                            \(parties.map { $0.2.organisationId?.uuidString ?? "" })::text[], \(parties.map(\.2.name))::text[],
                            \(parties.map { $0.2.contact ?? "" })::text[])
                     AS p(case_id, position, resident_id, organisation_id, name, contact)
                JOIN new_case ON new_case.id = p.case_id)
            """
        var builder = QueryBuilder(after: statement)
        let recorded = try Self.recording(steps, now: now, binding: &builder, keptBy: "new_case")
        let inserted = try await connection.query(builder.query(statement.sql + ", \(recorded) SELECT id FROM new_case"), logger: logger)
        var written: Set<UUID> = []
        for try await id in inserted.decode(UUID.self) { written.insert(id) }
        Self.count(steps.filter { written.contains($0.change.record.id) })
        return zip(reports, unique).map { report, unique in unique && written.contains(report.final.id) ? report.final : nil }
    }

    /// Applies one action; illegal ones are refused with the hint. Escalations and transfers route again.
    func apply(_ action: CaseAction, to id: UUID, actor: Principal, reason: String?, now: Date, on connection: PostgresConnection) async throws -> CaseRecord {
        guard let record = try await find(id, lock: true, on: connection) else { throw MediationError.notFound(id) }
        guard actor.scope.covers(PlacePath(district: record.location.district, street: record.location.street, community: record.location.community)) else {
            throw MediationError.notFound(id)
        }
        let rules = RuleBook(store: self, category: record.category, severity: record.severity, connection: connection)
        var changes = [try await advance(record, action, reason: reason, now: now, rules: rules)]
        if changes[0].record.state.status == .accepted && changes[0].record.state.mediator == nil {
            changes += try await routed(changes[0].record, actor: actor.subject, now: now, rules: rules, on: connection)
        }
        return try await save(changes, actor: actor.subject, now: now, on: connection)
    }

    /// A new category or grid: recorded as a transition with its reason, and routing runs again from
    /// the community (the right mediator depends on both).
    func reclassify(
        _ id: UUID, category: String?, grid: String?, reason: String, actor: Principal, now: Date, on connection: PostgresConnection
    ) async throws -> CaseRecord {
        guard let record = try await find(id, lock: true, on: connection),
            actor.scope.covers(PlacePath(district: record.location.district, street: record.location.street, community: record.location.community))
        else { throw MediationError.notFound(id) }
        guard record.state.status.isOpen else {
            throw MediationError.illegal(IllegalTransition(action: "reclassify", status: record.state.status, hint: "only an open case is reclassified; reopen it first"))
        }
        var problems: [ProblemDetails.FieldProblem] = []
        let newCategory = category.map { DisputeCategory(rawValue: $0) } ?? record.category
        if newCategory == nil { problems.append(.init(field: "category", problem: "unknown category")) }
        if reason.trimmingCharacters(in: .whitespaces).isEmpty { problems.append(.init(field: "reason", problem: "say why the case is reclassified")) }
        guard problems.isEmpty, let newCategory else { throw MediationError.invalid(problems) }
        var location = record.location
        var communityLoads: [MediatorLoad]?
        let rules = RuleBook(store: self, category: newCategory, severity: record.severity, connection: connection)
        if let grid, grid != record.location.grid {
            let site = try await site(of: grid, category: newCategory, severity: record.severity, within: actor, on: connection)
            location = site.location
            communityLoads = site.mediators
            rules.learn(.community, site.communityRule)
        }
        guard newCategory != record.category || location != record.location else { return record }
        var updated = record
        updated.category = newCategory
        updated.location = location
        updated.state = CaseState(status: .accepted, level: .community, community: location.community ?? "", mediator: nil, agreementHolds: nil)
        updated.heldBy = location.community ?? ""
        updated.deadlineAt = try await rules.rule(at: .community).deadline(from: record.reportedAt, timeZone: timeZone)
        let change = [
            newCategory != record.category ? "category \(record.category.rawValue) → \(newCategory.rawValue)" : nil,
            location != record.location ? "grid \(record.location.grid ?? "-") → \(location.grid ?? "-")" : nil,
        ].compactMap { $0 }.joined(separator: ", ")
        var changes = [CaseChange(record: updated, action: "reclassify", previous: record, reason: "\(change): \(reason)", type: MediationEventTypes.changed)]
        changes += try await routed(updated, actor: actor.subject, now: now, rules: rules, communityLoads: communityLoads, on: connection)
        return try await save(changes, actor: actor.subject, now: now, on: connection)
    }

    /// What a case filed on a grid needs to know before anything is written: the grid as the registry
    /// last drew it (which must lie in the caller's scope), the active mediators of its community with
    /// their open cases, and the community's deadline rule for the case's kind.
    private func site(
        of code: String, category: DisputeCategory, severity: Severity, within actor: Principal, on connection: PostgresConnection
    ) async throws -> CaseSite {
        guard let site = try await sites(of: [(code, category, severity)], on: connection)[0] else {
            throw MediationError.unknownGrid(code)
        }
        try site.require(within: actor)
        return site
    }

    /// The sites of many cases in one round trip, in order; `nil` for a grid that is not known.
    private func sites(of cases: [(grid: String, category: DisputeCategory, severity: Severity)], on connection: PostgresConnection) async throws -> [CaseSite?] {
        guard !cases.isEmpty else { return [] }
        let rows = try await connection.query(
            """
            SELECT q.position, g.version, g.community_code, g.street_code, g.district_code, m.role_id, COALESCE(l.open_cases, 0)::int8,
                   r.kind, r.hours, r.late_after_hour
            FROM unnest(\(cases.map(\.grid))::text[], \(cases.map(\.category.rawValue))::text[], \(cases.map(\.severity.rawValue))::text[])
                 WITH ORDINALITY AS q(grid, category, severity, position)
            JOIN known_place g ON g.code = q.grid AND g.level = 'grid'
            LEFT JOIN mediator m ON m.active AND m.level = 'community' AND m.place_code = g.community_code
            LEFT JOIN mediator_load l ON l.role_id = m.role_id
            LEFT JOIN deadline_rule r ON r.category = q.category AND r.severity = q.severity AND r.level = 'community'
            """, logger: logger)
        var sites = [CaseSite?](repeating: nil, count: cases.count)
        for try await (position, version, community, street, district, mediator, load, kind, hours, lateAfter) in rows.decode(
            (Int, Int, String?, String?, String, UUID?, Int, String?, Int?, Int?).self)
        {
            let index = position - 1, wanted = cases[index]
            var site = sites[index] ?? CaseSite(
                location: PlaceLocation(district: district, street: street, community: community, grid: wanted.grid, gridVersion: version),
                mediators: [], communityRule: DefaultDeadlines.rule(category: wanted.category, severity: wanted.severity, level: .community))
            if let mediator { site.mediators.append(MediatorLoad(id: mediator, level: .community, place: community ?? "", openCases: load)) }
            if let kind, let hours, let lateAfter {
                site.communityRule = DeadlineRule(kind: DeadlineRule.Kind(rawValue: kind) ?? .within, hours: hours, lateAfterHour: lateAfter)
            }
            sites[index] = site
        }
        return sites.map { site in site?.location.community == nil ? nil : site }
    }

    /// Where routing takes a case, worked out without writing: the least-loaded active mediator at the
    /// case's level; none there → the level above. `communityLoads` are the community's mediators when
    /// they were read already.
    private func routed(
        _ record: CaseRecord, actor: String, now: Date, rules: RuleBook, communityLoads: [MediatorLoad]? = nil, routedInBatch: [UUID: Int] = [:],
        on connection: PostgresConnection
    ) async throws -> [CaseChange] {
        var current = record
        var changes: [CaseChange] = []
        while true {
            let level = current.state.level
            let place = current.place(at: level)
            var loads: [MediatorLoad]
            if level == .community, let communityLoads, place == record.location.community {
                loads = communityLoads
            } else {
                loads = try await mediators(at: level, place: place, on: connection)
            }
            for index in loads.indices { loads[index].openCases += routedInBatch[loads[index].id] ?? 0 }
            if let mediator = Routing.mediator(level: level, place: place, among: loads) {
                changes.append(try await advance(current, .assign(mediator: mediator), reason: "routed: least loaded at \(level.rawValue) \(place)", now: now, rules: rules))
                return changes
            }
            guard level.next != nil else { return changes }  // nobody at the district either: waits for an assignment by hand
            let why = "no active mediator at \(level.rawValue) \(place)"
            changes.append(try await advance(current, .escalate(reason: why), reason: why, now: now, rules: rules))
            current = changes[changes.count - 1].record
        }
    }

    /// The active mediators of one committee with their open cases.
    private func mediators(at level: MediationLevel, place: String, on connection: PostgresConnection) async throws -> [MediatorLoad] {
        let rows = try await connection.query(
            """
            SELECT m.role_id, COALESCE(l.open_cases, 0)::int8
            FROM mediator m LEFT JOIN mediator_load l ON l.role_id = m.role_id
            WHERE m.active AND m.level = \(level.rawValue) AND m.place_code = \(place)
            """, logger: logger)
        var loads: [MediatorLoad] = []
        for try await (id, load) in rows.decode((UUID, Int).self) {
            loads.append(MediatorLoad(id: id, level: level, place: place, openCases: load))
        }
        return loads
    }

    /// One transition worked out in memory: the state machine's answer, who holds the case, its deadline.
    private func advance(_ record: CaseRecord, _ action: CaseAction, reason: String?, now: Date, rules: RuleBook) async throws -> CaseChange {
        let next: CaseState
        do {
            next = try record.state.applying(action)
        } catch {
            throw MediationError.illegal(error)
        }
        var updated = record
        updated.state = next
        updated.heldBy = record.place(at: next.level)
        if case .transfer(.community(let community), _) = action {
            updated.location.community = community
            updated.heldBy = community
        }
        if case .reachAgreement(let document) = action { updated.agreement = document }
        if !next.status.isOpen {
            updated.deadlineAt = nil
        } else if next.level != record.state.level || record.deadlineAt == nil || updated.location.community != record.location.community {
            // The first deadline runs from the report; later ones (escalated, transferred, reopened) from now.
            let start = record.state.status == .reported ? record.reportedAt : now
            updated.deadlineAt = try await rules.rule(at: next.level).deadline(from: start, timeZone: timeZone)
        }
        let type: EventType =
            switch action {
            case .assign: MediationEventTypes.assigned
            case .escalate: MediationEventTypes.escalated
            case .reachAgreement: MediationEventTypes.resolved
            case .fail: MediationEventTypes.failed
            case .close: MediationEventTypes.closed
            default: MediationEventTypes.changed
            }
        return CaseChange(record: updated, action: action.name, previous: record, reason: reason ?? action.reason, type: type)
    }

    /// Writes a case's changes: its row as the last change left it, then their history and events.
    private func save(_ changes: [CaseChange], actor: String, now: Date, on connection: PostgresConnection) async throws -> CaseRecord {
        guard let updated = changes.last?.record else { preconditionFailure("save needs at least one change") }
        try await connection.query(
            """
            UPDATE dispute_case SET category = \(updated.category.rawValue), grid_code = \(updated.location.grid ?? ""),
                grid_version = \(updated.location.gridVersion ?? 1), community_code = \(updated.location.community ?? ""),
                street_code = \(updated.location.street ?? ""), district_code = \(updated.location.district),
                status = \(updated.state.status.rawValue), level = \(updated.state.level.rawValue), held_by = \(updated.heldBy),
                mediator_role_id = \(updated.state.mediator), agreement_holds = \(updated.state.agreementHolds), agreement = \(updated.agreement),
                deadline_at = \(updated.deadlineAt), updated_at = \(now)
            WHERE id = \(updated.id)
            """, logger: logger)
        try await record(changes, actor: actor, now: now, on: connection)
        return updated
    }

    /// The history rows and the events of a case's changes, in one statement however many changes.
    private func record(_ changes: [CaseChange], actor: String, now: Date, on connection: PostgresConnection) async throws {
        guard !changes.isEmpty else { return }
        let steps = changes.map { CaseStep(change: $0, actor: actor) }
        var builder = QueryBuilder()
        let recorded = try Self.recording(steps, now: now, binding: &builder)
        try await connection.query(builder.query("WITH \(recorded) SELECT 1"), logger: logger)
        Self.count(steps)
    }

    /// The history rows and the events of `steps`, in their order, as the `WITH` parts `history` and
    /// `events` of one statement, bound in `builder`; with `keptBy`, only those of the cases that part
    /// returned (as in `Outbox.insert`).
    private static func recording(_ steps: [CaseStep], now: Date, binding builder: inout QueryBuilder, keptBy part: String? = nil) throws -> String {
        let changes = steps.map(\.change)
        let history = """
            INSERT INTO case_transition (case_id, action, from_status, to_status, from_level, to_level, actor, reason, at)
            SELECT t.case_id, t.action, NULLIF(t.from_status, ''), t.to_status, NULLIF(t.from_level, ''), t.to_level, t.actor,
                   NULLIF(t.reason, ''), \(builder.bind(now))
            FROM unnest(\(builder.bind(changes.map(\.record.id)))::uuid[], \(builder.bind(changes.map(\.action)))::text[],
                        \(builder.bind(changes.map { $0.previous?.state.status.rawValue ?? "" }))::text[],
                        \(builder.bind(changes.map(\.record.state.status.rawValue)))::text[],
                        \(builder.bind(changes.map { $0.previous?.state.level.rawValue ?? "" }))::text[],
                        \(builder.bind(changes.map(\.record.state.level.rawValue)))::text[],
                        \(builder.bind(changes.map { $0.reason ?? "" }))::text[], \(builder.bind(steps.map(\.actor)))::text[]) WITH ORDINALITY
                 AS t(case_id, action, from_status, to_status, from_level, to_level, reason, actor, position)\(part.map { " JOIN \($0) kept ON kept.id = t.case_id" } ?? "")
            ORDER BY t.position
            """
        let events = Outbox.insert(try Self.events(steps, now: now), binding: &builder, keptBy: part.map { ($0, changes.map(\.record.id)) })
        return "history AS (\(history)), events AS (\(events))"
    }

    /// One `mediation.events` entry for each step, keyed by the case.
    private static func events(_ steps: [CaseStep], now: Date) throws -> [OutboxEntry] {
        try steps.map { change, actor in
            let key = change.record.id.uuidString.lowercased()
            let event = CloudEvent(
                source: "/mediation", type: change.type, subject: key, time: now,
                data: try EventCoding.encode(CaseTransitioned(case: change.record.snapshot, action: change.action, actor: actor, reason: change.reason)))
            return OutboxEntry(topic: Topic.mediationEvents.name, key: key, event: event)
        }
    }

    private static func count(_ steps: [CaseStep]) {
        for (change, _) in steps {
            Counter(label: "mediation_case_transitions_total", dimensions: [("action", change.action), ("level", change.record.state.level.rawValue)]).increment()
        }
    }

    func rule(category: DisputeCategory, severity: Severity, level: MediationLevel, on connection: PostgresConnection) async throws -> DeadlineRule {
        let rows = try await connection.query(
            """
            SELECT kind, hours, late_after_hour FROM deadline_rule
            WHERE category = \(category.rawValue) AND severity = \(severity.rawValue) AND level = \(level.rawValue)
            """, logger: logger)
        for try await (kind, hours, lateAfter) in rows.decode((String, Int, Int).self) {
            return DeadlineRule(kind: DeadlineRule.Kind(rawValue: kind) ?? .within, hours: hours, lateAfterHour: lateAfter)
        }
        return DefaultDeadlines.rule(category: category, severity: severity, level: level)
    }
}

/// A change with who made it, as its history row and event record it.
typealias CaseStep = (change: CaseChange, actor: String)

/// One recorded step of a case: the case after it, and what its history row and event say.
struct CaseChange: Sendable {
    var record: CaseRecord
    var action: String
    var previous: CaseRecord?
    var reason: String?
    var type: EventType
}

/// A case reported by a caller.
typealias ReportRequest = Reported<CaseIntake>

/// A report's fields, checked before anything is read.
struct CheckedIntake: Sendable {
    var grid: String
    var category: DisputeCategory
    var severity: Severity
    var channel: IntakeChannel
    var description: String

    init(_ intake: CaseIntake) throws(MediationError) {
        var problems: [ProblemDetails.FieldProblem] = []
        let category = DisputeCategory(rawValue: intake.category)
        if category == nil { problems.append(.init(field: "category", problem: "must be one of \(DisputeCategory.allCases.map(\.rawValue).joined(separator: ", "))")) }
        let severity = Severity(rawValue: intake.severity)
        if severity == nil { problems.append(.init(field: "severity", problem: "must be minor or major")) }
        let channel = IntakeChannel(rawValue: intake.channel)
        if channel == nil { problems.append(.init(field: "channel", problem: "must be one of \(IntakeChannel.allCases.map(\.rawValue).joined(separator: ", "))")) }
        let description = intake.description.trimmingCharacters(in: .whitespacesAndNewlines)
        if description.isEmpty || description.count > 4000 { problems.append(.init(field: "description", problem: "say what the dispute is about (1 to 4,000 characters)")) }
        if intake.parties.isEmpty { problems.append(.init(field: "parties", problem: "name at least one party")) }
        for (index, party) in intake.parties.enumerated() where party.name.trimmingCharacters(in: .whitespaces).isEmpty {
            problems.append(.init(field: "parties[\(index)].name", problem: "must not be empty"))
        }
        if let before = intake.alreadyBefore, before != "court", before != "police" {
            problems.append(.init(field: "alreadyBefore", problem: "must be court or police when given"))
        }
        guard problems.isEmpty, let category, let severity, let channel else { throw .invalid(problems) }
        if let before = intake.alreadyBefore {
            throw .outsideMediation("The matter is already before the \(before); people's mediation does not take it up while it is.")
        }
        (grid, self.category, self.severity, self.channel, self.description) = (intake.grid, category, severity, channel, description)
    }
}

/// A reported case worked out in memory, to be written with others (`CaseStore.write`).
struct CaseReport: Sendable {
    /// Report, acceptance and routing, in order; the last is the case as it is stored.
    var changes: [CaseChange]
    var parties: [CaseParty]
    var actor: String
    var sourceEventID: UUID?

    var final: CaseRecord { changes[changes.count - 1].record }
}

/// A grid a case is filed on, with what routing and the first deadline need from its community.
struct CaseSite: Sendable {
    var location: PlaceLocation
    var mediators: [MediatorLoad]
    var communityRule: DeadlineRule

    /// Throws unless the grid lies in the caller's scope.
    func require(within actor: Principal) throws(MediationError) {
        guard actor.scope.covers(PlacePath(district: location.district, street: location.street, community: location.community)) else {
            throw .outOfScope(scope: actor.scope.description, place: "grid \(location.grid ?? "")")
        }
    }
}

/// The deadline rules of one kind of case, each level read at most once per request.
final class RuleBook {
    private let store: CaseStore
    private let category: DisputeCategory
    private let severity: Severity
    private let connection: PostgresConnection
    private var known: [MediationLevel: DeadlineRule]

    init(store: CaseStore, category: DisputeCategory, severity: Severity, known: [MediationLevel: DeadlineRule] = [:], connection: PostgresConnection) {
        self.store = store
        self.category = category
        self.severity = severity
        self.known = known
        self.connection = connection
    }

    func learn(_ level: MediationLevel, _ rule: DeadlineRule) { known[level] = rule }

    func rule(at level: MediationLevel) async throws -> DeadlineRule {
        if let rule = known[level] { return rule }
        let rule = try await store.rule(category: category, severity: severity, level: level, on: connection)
        known[level] = rule
        return rule
    }
}

extension CaseAction {
    /// The reason an action carries, for the history row.
    var reason: String? {
        switch self {
        case .refuse(let reason), .fail(let reason), .referToLegal(let reason), .withdraw(let reason), .escalate(let reason), .reopen(let reason):
            reason
        case .transfer(_, let reason): reason
        case .followUp(_, let note): note
        default: nil
        }
    }
}
