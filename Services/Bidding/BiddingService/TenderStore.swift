import BiddingCore
import Contracts
import Foundation
import Logging
import Messaging
import Metrics
import PostgresNIO
import ServiceRuntime
import Storage

/// A project as stored and shown.
public struct ProjectView: Codable, Sendable {
    public var id: UUID
    public var plan: ProjectPlan
    public var location: PlaceLocation
    public var estimateFen: Int
    public var createdBy: String
    public var createdAt: Date
}

/// A tender as it is proposed for a project.
public struct TenderProposal: Codable, Sendable {
    public struct Panel: Codable, Sendable {
        public var fields: [String]
        public var size: Int
    }

    public var id: UUID?
    public var title: String?
    public var biddingDeadline: Date
    public var panel: Panel
    public var weights: ScoreWeights?
    public var purchaserOrganisationId: UUID?
    public var thirdPartyOrganisationId: UUID?
}

/// Projects and tenders: creation, every transition recorded with its event, complaints and
/// clarifications.
struct TenderStore: Sendable {
    let logger: Logger

    // MARK: projects

    func createProject(_ plan: ProjectPlan, id: UUID, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> ProjectView {
        let issues = plan.issues()
        guard issues.isEmpty else { throw BiddingError.invalid(issues) }
        // `issues()` refuses an estimate that does not add up within `Int`; this only keeps the compiler sure.
        guard let estimateFen = plan.estimateFen else { throw BiddingError.invalid([FieldIssue("costEstimate", "adds up to more than any ceiling")]) }
        let location = try await place(plan.placeCode, within: actor, on: connection)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let inserted = try await connection.exists(
            """
            INSERT INTO project (id, title, service_kind, place_code, district_code, street_code, community_code, assessment, standards,
                                 cost_estimate, estimate_fen, ceiling_fen, created_by, created_at)
            VALUES (\(id), \(plan.title), \(plan.serviceKind), \(plan.placeCode), \(location.district), \(location.street), \(location.community),
                    \(String(decoding: try encoder.encode(plan.needsAssessment), as: UTF8.self))::jsonb,
                    \(String(decoding: try encoder.encode(plan.standards), as: UTF8.self))::jsonb,
                    \(String(decoding: try encoder.encode(plan.costEstimate), as: UTF8.self))::jsonb,
                    \(estimateFen), \(plan.budgetCeilingFen), \(actor.subject), \(now))
            ON CONFLICT (id) DO NOTHING RETURNING 1
            """, logger: logger)
        guard inserted else { throw BiddingError.conflict("project \(id.uuidString.lowercased()) exists already") }
        return ProjectView(id: id, plan: plan, location: location, estimateFen: estimateFen, createdBy: actor.subject, createdAt: now)
    }

    static let projectColumns = """
        id, title, service_kind, place_code, district_code, street_code, community_code, assessment::text AS assessment, standards::text AS standards,
        cost_estimate::text AS cost_estimate, estimate_fen, ceiling_fen, created_by, created_at
        """

    static func project(row: PostgresRandomAccessRow) throws -> ProjectView {
        let decoder = JSONDecoder()
        let plan = ProjectPlan(
            title: try row["title"].decode(String.self), serviceKind: try row["service_kind"].decode(String.self),
            placeCode: try row["place_code"].decode(String.self),
            needsAssessment: try decoder.decode(NeedsAssessment.self, from: Data(try row["assessment"].decode(String.self).utf8)),
            standards: try decoder.decode([ServiceStandard].self, from: Data(try row["standards"].decode(String.self).utf8)),
            costEstimate: try decoder.decode([CostItem].self, from: Data(try row["cost_estimate"].decode(String.self).utf8)),
            budgetCeilingFen: try row["ceiling_fen"].decode(Int.self))
        return ProjectView(
            id: try row["id"].decode(UUID.self), plan: plan,
            location: PlaceLocation(
                district: try row["district_code"].decode(String.self), street: try row["street_code"].decode(String?.self),
                community: try row["community_code"].decode(String?.self)),
            estimateFen: try row["estimate_fen"].decode(Int.self), createdBy: try row["created_by"].decode(String.self),
            createdAt: try row["created_at"].decode(Date.self))
    }

    func project(_ id: UUID, on connection: PostgresConnection) async throws -> ProjectView? {
        try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(Self.projectColumns) FROM project WHERE id = $1", binds: .of(id)), logger: logger
        ).collect(Self.project).first
    }

    /// A district, street or community the registry published, which must lie in the caller's scope.
    private func place(_ code: String, within actor: Principal, on connection: PostgresConnection) async throws -> PlaceLocation {
        var found: (level: String, location: PlaceLocation)?
        for try await (level, district, street, community) in try await connection.query(
            "SELECT level, district_code, street_code, community_code FROM known_place WHERE code = \(code)", logger: logger
        ).decode((String, String, String?, String?).self) {
            found = (level, PlaceLocation(district: district, street: street, community: community))
        }
        guard let found else { throw BiddingError.unknownPlace(code) }
        guard ["district", "street", "community"].contains(found.level) else {
            throw BiddingError.invalid([FieldIssue("placeCode", "must be a district, street or community, not a \(found.level)")])
        }
        let path = PlacePath(district: found.location.district, street: found.location.street, community: found.location.community)
        guard actor.scope.covers(path) else { throw BiddingError.outOfScope(scope: actor.scope.description, place: "place \(code)") }
        return found.location
    }

    // MARK: tenders

    func createTender(
        _ proposal: TenderProposal, project projectID: UUID, actor: Principal, now: Date, on connection: PostgresConnection
    ) async throws -> TenderRecord {
        guard let project = try await project(projectID, on: connection),
            actor.scope.covers(PlacePath(district: project.location.district, street: project.location.street, community: project.location.community))
        else { throw BiddingError.notFound(what: "project", id: projectID) }
        let plan = TenderPlan(
            title: proposal.title ?? project.plan.title, biddingDeadline: proposal.biddingDeadline,
            panelFields: proposal.panel.fields.map { $0.lowercased() }, panelSize: proposal.panel.size, weights: proposal.weights ?? .standard,
            purchaserOrganisationId: proposal.purchaserOrganisationId, thirdPartyOrganisationId: proposal.thirdPartyOrganisationId)
        let issues = plan.issues(now: now)
        guard issues.isEmpty else { throw BiddingError.invalid(issues) }
        let id = proposal.id ?? UUID.random()
        let weights = String(decoding: try JSONEncoder().encode(plan.weights), as: UTF8.self)
        let inserted = try await connection.exists(
            """
            INSERT INTO tender (id, project_id, title, status, deadline_at, weights, panel_fields, panel_size, purchaser_organisation_id,
                                third_party_organisation_id, created_by, created_at, updated_at)
            VALUES (\(id), \(projectID), \(plan.title), 'draft', \(plan.biddingDeadline), \(weights)::jsonb, \(plan.panelFields), \(plan.panelSize),
                    \(plan.purchaserOrganisationId), \(plan.thirdPartyOrganisationId), \(actor.subject), \(now), \(now))
            ON CONFLICT (id) DO NOTHING RETURNING 1
            """, logger: logger)
        guard inserted, let record = try await find(id, on: connection) else {
            throw BiddingError.conflict("tender \(id.uuidString.lowercased()) exists already")
        }
        try await history(record, action: "create", from: nil, actor: actor.subject, reason: nil, now: now, on: connection)
        return record
    }

    /// The tender; with `lock`, its row locked for the transaction. `skippingIfLocked` (with a status)
    /// is for the scheduler: a tender another replica holds, or that moved on, comes back `nil`.
    func find(
        _ id: UUID, lock: Bool = false, skippingIfLocked status: TenderStatus? = nil, on connection: PostgresConnection
    ) async throws -> TenderRecord? {
        let clause =
            if let status { " AND t.status = '\(status.rawValue)' FOR UPDATE OF t SKIP LOCKED" } else if lock { " FOR UPDATE OF t" } else { "" }
        return try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(TenderRecord.columns) FROM \(TenderRecord.from) WHERE t.id = $1\(clause)", binds: .of(id)),
            logger: logger
        ).collect(TenderRecord.init).first
    }

    /// The tender, locked, if the caller may see it.
    func visible(_ id: UUID, to principal: Principal, lock: Bool = false, on connection: PostgresConnection) async throws -> TenderRecord {
        guard let record = try await find(id, lock: lock, on: connection), record.visible(to: principal) else {
            throw BiddingError.notFound(what: "tender", id: id)
        }
        return record
    }

    /// One transition: the state machine, the row, the history row and (unless the caller publishes a
    /// richer one) the `changed` or `published` event.
    @discardableResult
    func transition(
        _ record: TenderRecord, _ action: TenderAction, actor: String, reason: String?, now: Date, announce: Bool = true,
        on connection: PostgresConnection
    ) async throws -> TenderRecord {
        let next: TenderState
        do {
            next = try record.state.applying(action)
        } catch {
            throw BiddingError.illegal(error)
        }
        var updated = record
        updated.state = next
        updated.updatedAt = now
        switch action {
        case .publish:
            updated.publishedAt = now
        case .complain:
            updated.suspendedAt = now
        case .decideComplaint:
            // Bidders get back the time the suspension took.
            if next.status == .published, let since = record.suspendedAt {
                updated.deadlineAt = record.deadlineAt.addingTimeInterval(now.timeIntervalSince(since))
            }
            updated.suspendedAt = nil
        case .cancel:
            updated.suspendedAt = nil
        default:
            break
        }
        try await connection.query(
            """
            UPDATE tender SET status = \(next.status.rawValue), suspended_from = \(next.suspendedFrom?.rawValue), suspended_at = \(updated.suspendedAt),
                deadline_at = \(updated.deadlineAt), published_at = \(updated.publishedAt), updated_at = \(now)
            WHERE id = \(record.id)
            """, logger: logger)
        try await history(updated, action: action.name, from: record, actor: actor, reason: reason, now: now, on: connection)
        if announce {
            let type = action == .publish ? BiddingEventTypes.published : BiddingEventTypes.changed
            try await BiddingEvents.append(
                type, tender: record.id,
                TenderTransitioned(tender: updated.snapshot, action: action.name, fromStatus: record.status.rawValue, actor: actor, reason: reason),
                now: now, on: connection, logger: logger)
        }
        Counter(label: "bidding_tender_transitions_total", dimensions: [("action", action.name)]).increment()
        logger.info(
            "tender transition",
            metadata: ["aggregate.id": "\(record.id)", "action": "\(action.name)", "from": "\(record.status.rawValue)", "to": "\(next.status.rawValue)"])
        return updated
    }

    /// A history row that changes nothing in the state (a bid disqualified, a question answered).
    func history(
        _ record: TenderRecord, action: String, from previous: TenderRecord?, actor: String, reason: String?, now: Date,
        on connection: PostgresConnection
    ) async throws {
        try await connection.query(
            """
            INSERT INTO tender_transition (tender_id, action, from_status, to_status, actor, reason, at)
            VALUES (\(record.id), \(action), \(previous?.status.rawValue), \(record.status.rawValue), \(actor), \(reason), \(now))
            """, logger: logger)
    }

    // MARK: complaints

    struct ComplaintView: Codable, Sendable {
        var id: UUID
        var organisationId: UUID
        var grounds: String
        var filedAt: Date
        var upheld: Bool?
        var decisionNote: String?
        var decidedAt: Date?
    }

    /// A bidder's complaint suspends the tender. Before the deadline any eligible organisation may
    /// complain about the terms; afterwards only those who bid.
    func complain(
        about id: UUID, grounds: String, organisation: UUID, actor: Principal, now: Date, on connection: PostgresConnection
    ) async throws -> (TenderRecord, ComplaintView) {
        let grounds = grounds.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !grounds.isEmpty, grounds.count <= 10_000 else { throw BiddingError.invalid([FieldIssue("grounds", "say what the complaint is about (1 to 10,000 characters)")]) }
        let record = try await visible(id, to: actor, lock: true, on: connection)
        if record.status != .published {
            let bid = try await connection.exists("SELECT 1 FROM bid WHERE tender_id = \(id) AND organisation_id = \(organisation)", logger: logger)
            guard bid else { throw BiddingError.conflict("after bidding closes only an organisation that bid may complain") }
        }
        let complaint = ComplaintView(id: UUID.random(), organisationId: organisation, grounds: grounds, filedAt: now)
        let suspended = try await transition(record, .complain, actor: actor.subject, reason: grounds, now: now, on: connection)
        try await connection.query(
            "INSERT INTO complaint (id, tender_id, organisation_id, grounds, filed_at) VALUES (\(complaint.id), \(id), \(organisation), \(grounds), \(now))",
            logger: logger)
        return (suspended, complaint)
    }

    /// The decision resumes the tender where it stood; upheld against the evaluation, the panel scores again.
    func decide(
        complaint complaintID: UUID, of id: UUID, upheld: Bool, note: String, actor: Principal, now: Date, on connection: PostgresConnection
    ) async throws -> TenderRecord {
        let record = try await visible(id, to: actor, lock: true, on: connection)
        try record.requirePurchaser(actor, action: "decide complaints", roles: BiddingAccess.complaintDeciders)
        let note = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !note.isEmpty else { throw BiddingError.invalid([FieldIssue("note", "give the reasons for the decision")]) }
        let open = try await connection.exists(
            "SELECT 1 FROM complaint WHERE id = \(complaintID) AND tender_id = \(id) AND upheld IS NULL", logger: logger)
        guard open else { throw BiddingError.notFound(what: "undecided complaint", id: complaintID) }
        let resumed = try await transition(
            record, .decideComplaint(upheld: upheld), actor: actor.subject, reason: "\(upheld ? "upheld" : "dismissed"): \(note)", now: now, on: connection)
        try await connection.query(
            "UPDATE complaint SET upheld = \(upheld), decision_note = \(note), decided_by = \(actor.subject), decided_at = \(now) WHERE id = \(complaintID)",
            logger: logger)
        if upheld && record.state.suspendedFrom == .evaluated {
            try await connection.query("DELETE FROM score_sheet WHERE tender_id = \(id)", logger: logger)
            try await connection.query("DELETE FROM score WHERE tender_id = \(id)", logger: logger)
        }
        return resumed
    }

    // MARK: clarifications

    struct Clarification: Codable, Sendable {
        var id: UUID
        var question: String
        var askedAt: Date
        var answer: String?
        var answeredAt: Date?
    }

    func ask(_ question: String, about id: UUID, organisation: UUID, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> Clarification {
        let question = question.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !question.isEmpty, question.count <= 5000 else { throw BiddingError.invalid([FieldIssue("question", "must be 1 to 5,000 characters")]) }
        let record = try await visible(id, to: actor, on: connection)
        guard record.status == .published, now < record.deadlineAt else {
            throw BiddingError.conflict("questions are taken while bidding is open, before the deadline")
        }
        let clarification = Clarification(id: UUID.random(), question: question, askedAt: now)
        try await connection.query(
            "INSERT INTO clarification (id, tender_id, question, asked_by, asked_at) VALUES (\(clarification.id), \(id), \(question), \(organisation), \(now))",
            logger: logger)
        return clarification
    }

    func answer(_ questionID: UUID, of id: UUID, answer: String, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> Clarification {
        let answer = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !answer.isEmpty, answer.count <= 10_000 else { throw BiddingError.invalid([FieldIssue("answer", "must be 1 to 10,000 characters")]) }
        let record = try await visible(id, to: actor, lock: true, on: connection)
        try record.requirePurchaser(actor, action: "answer questions")
        guard record.status == .published || record.status == .suspended else {
            throw BiddingError.conflict("questions are answered while bidding is open")
        }
        var answered: Clarification?
        for try await (question, asked) in try await connection.query(
            """
            UPDATE clarification SET answer = \(answer), answered_by = \(actor.subject), answered_at = \(now)
            WHERE id = \(questionID) AND tender_id = \(id) RETURNING question, asked_at
            """, logger: logger
        ).decode((String, Date).self) {
            answered = Clarification(id: questionID, question: question, askedAt: asked, answer: answer, answeredAt: now)
        }
        guard let answered else { throw BiddingError.notFound(what: "question", id: questionID) }
        try await history(record, action: "answer-question", from: record, actor: actor.subject, reason: answered.question, now: now, on: connection)
        return answered
    }
}
