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
        guard problems.isEmpty, let category, let severity, let channel else { throw MediationError.invalid(problems) }
        if let before = intake.alreadyBefore {
            throw MediationError.outsideMediation("The matter is already before the \(before); people's mediation does not take it up while it is.")
        }
        let location = try await grid(intake.grid, within: actor, on: connection)
        let community = location.community ?? ""

        let id = intake.id ?? UUID.random()
        let inserted = try await connection.query(
            """
            INSERT INTO dispute_case (id, category, severity, channel, description, special_needs, grid_code, grid_version, community_code,
                                      street_code, district_code, status, level, held_by, reported_at, reported_by, source_event_id)
            VALUES (\(id), \(category.rawValue), \(severity.rawValue), \(channel.rawValue), \(description), \(intake.specialNeeds ?? []),
                    \(intake.grid), \(location.gridVersion ?? 1), \(community), \(location.street ?? ""), \(location.district), 'reported',
                    'community', \(community), \(now), \(actor.subject), \(sourceEventID))
            ON CONFLICT DO NOTHING
            RETURNING id
            """, logger: logger)
        var fresh = false
        for try await _ in inserted { fresh = true }
        guard fresh else { return nil }
        for (position, party) in intake.parties.enumerated() {
            try await connection.query(
                """
                INSERT INTO case_party (case_id, position, resident_id, organisation_id, name, contact)
                VALUES (\(id), \(position), \(party.residentId), \(party.organisationId), \(party.name), \(party.contact))
                """, logger: logger)
        }
        guard var reported = try await find(id, lock: true, on: connection) else { throw MediationError.notFound(id) }
        try await history(reported, action: "report", from: nil, actor: actor.subject, reason: nil, type: MediationEventTypes.reported, now: now, on: connection)
        reported = try await transition(reported, .accept, actor: actor.subject, reason: nil, now: now, on: connection)
        return try await route(reported, actor: actor.subject, now: now, on: connection)
    }

    /// Applies one action; illegal ones are refused with the hint. Escalations and transfers route again.
    func apply(_ action: CaseAction, to id: UUID, actor: Principal, reason: String?, now: Date, on connection: PostgresConnection) async throws -> CaseRecord {
        guard let record = try await find(id, lock: true, on: connection) else { throw MediationError.notFound(id) }
        guard actor.scope.covers(PlacePath(district: record.location.district, street: record.location.street, community: record.location.community)) else {
            throw MediationError.notFound(id)
        }
        var updated = try await transition(record, action, actor: actor.subject, reason: reason, now: now, on: connection)
        if updated.state.status == .accepted && updated.state.mediator == nil {
            updated = try await route(updated, actor: actor.subject, now: now, on: connection)
        }
        return updated
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
        if let grid, grid != record.location.grid {
            location = try await self.grid(grid, within: actor, on: connection)
        }
        guard newCategory != record.category || location != record.location else { return record }
        var updated = record
        updated.category = newCategory
        updated.location = location
        updated.state = CaseState(status: .accepted, level: .community, community: location.community ?? "", mediator: nil, agreementHolds: nil)
        updated.heldBy = location.community ?? ""
        updated.deadlineAt = try await rule(category: newCategory, severity: record.severity, level: .community, on: connection)
            .deadline(from: record.reportedAt, timeZone: timeZone)
        try await connection.query(
            """
            UPDATE dispute_case SET category = \(newCategory.rawValue), grid_code = \(location.grid ?? ""), grid_version = \(location.gridVersion ?? 1),
                community_code = \(location.community ?? ""), street_code = \(location.street ?? ""), district_code = \(location.district),
                status = 'accepted', level = 'community', held_by = \(updated.heldBy), mediator_role_id = NULL, deadline_at = \(updated.deadlineAt),
                updated_at = \(now)
            WHERE id = \(id)
            """, logger: logger)
        let change = [
            newCategory != record.category ? "category \(record.category.rawValue) → \(newCategory.rawValue)" : nil,
            location != record.location ? "grid \(record.location.grid ?? "-") → \(location.grid ?? "-")" : nil,
        ].compactMap { $0 }.joined(separator: ", ")
        try await history(updated, action: "reclassify", from: record, actor: actor.subject, reason: "\(change): \(reason)", type: MediationEventTypes.changed, now: now, on: connection)
        return try await route(updated, actor: actor.subject, now: now, on: connection)
    }

    /// A grid as the registry last drew it, which must lie in the caller's scope.
    private func grid(_ code: String, within actor: Principal, on connection: PostgresConnection) async throws -> PlaceLocation {
        var found: PlaceLocation?
        for try await (version, community, street, district) in try await connection.query(
            "SELECT version, community_code, street_code, district_code FROM known_place WHERE code = \(code) AND level = 'grid'", logger: logger
        ).decode((Int, String?, String?, String).self) {
            found = PlaceLocation(district: district, street: street, community: community, grid: code, gridVersion: version)
        }
        guard let found, found.community != nil else { throw MediationError.unknownGrid(code) }
        guard actor.scope.covers(PlacePath(district: found.district, street: found.street, community: found.community)) else {
            throw MediationError.outOfScope(scope: actor.scope.description, place: "grid \(code)")
        }
        return found
    }

    /// The least-loaded active mediator at the case's level; none there → the level above.
    private func route(_ record: CaseRecord, actor: String, now: Date, on connection: PostgresConnection) async throws -> CaseRecord {
        var current = record
        while true {
            let level = current.state.level
            let place = current.place(at: level)
            let rows = try await connection.query(
                """
                SELECT m.role_id, (SELECT count(*) FROM dispute_case c WHERE c.mediator_role_id = m.role_id
                                   AND c.status IN ('reported', 'accepted', 'assigned', 'in-mediation')) AS load
                FROM mediator m WHERE m.active AND m.level = \(level.rawValue) AND m.place_code = \(place)
                """, logger: logger)
            var loads: [MediatorLoad] = []
            for try await (id, load) in rows.decode((UUID, Int).self) {
                loads.append(MediatorLoad(id: id, level: level, place: place, openCases: load))
            }
            if let mediator = Routing.mediator(level: level, place: place, among: loads) {
                return try await transition(current, .assign(mediator: mediator), actor: actor, reason: "routed: least loaded at \(level.rawValue) \(place)", now: now, on: connection)
            }
            guard level.next != nil else { return current }  // nobody at the district either: waits for an assignment by hand
            current = try await transition(current, .escalate(reason: "no active mediator at \(level.rawValue) \(place)"), actor: actor, reason: "no active mediator at \(level.rawValue) \(place)", now: now, on: connection)
        }
    }

    /// One transition: state machine, row update, deadline, history row, event.
    func transition(_ record: CaseRecord, _ action: CaseAction, actor: String, reason: String?, now: Date, on connection: PostgresConnection) async throws -> CaseRecord {
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
            let rule = try await rule(category: updated.category, severity: updated.severity, level: next.level, on: connection)
            // The first deadline runs from the report; later ones (escalated, transferred, reopened) from now.
            let start = record.state.status == .reported ? record.reportedAt : now
            updated.deadlineAt = rule.deadline(from: start, timeZone: timeZone)
        }
        try await connection.query(
            """
            UPDATE dispute_case SET status = \(next.status.rawValue), level = \(next.level.rawValue), held_by = \(updated.heldBy),
                mediator_role_id = \(next.mediator), agreement_holds = \(next.agreementHolds), agreement = \(updated.agreement),
                community_code = \(updated.location.community ?? ""), deadline_at = \(updated.deadlineAt), updated_at = \(now)
            WHERE id = \(record.id)
            """, logger: logger)
        let type: EventType =
            switch action {
            case .assign: MediationEventTypes.assigned
            case .escalate: MediationEventTypes.escalated
            case .reachAgreement: MediationEventTypes.resolved
            case .fail: MediationEventTypes.failed
            case .close: MediationEventTypes.closed
            default: MediationEventTypes.changed
            }
        try await history(updated, action: action.name, from: record, actor: actor, reason: reason ?? action.reason, type: type, now: now, on: connection)
        return updated
    }

    /// The history row and the event of a transition.
    private func history(
        _ record: CaseRecord, action: String, from previous: CaseRecord?, actor: String, reason: String?, type: EventType, now: Date,
        on connection: PostgresConnection
    ) async throws {
        try await connection.query(
            """
            INSERT INTO case_transition (case_id, action, from_status, to_status, from_level, to_level, actor, reason, at)
            VALUES (\(record.id), \(action), \(previous?.state.status.rawValue), \(record.state.status.rawValue), \(previous?.state.level.rawValue),
                    \(record.state.level.rawValue), \(actor), \(reason), \(now))
            """, logger: logger)
        let key = record.id.uuidString.lowercased()
        let event = CloudEvent(
            source: "/mediation", type: type, subject: key, time: now,
            data: try EventCoding.encode(CaseTransitioned(case: record.snapshot, action: action, actor: actor, reason: reason)))
        try await Outbox.append([OutboxEntry(topic: Topic.mediationEvents.name, key: key, event: event)], on: connection, logger: logger)
        Counter(label: "mediation_case_transitions_total", dimensions: [("action", action), ("level", record.state.level.rawValue)]).increment()
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
