import BiddingCore
import Contracts
import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceRuntime
import Storage

/// A contract with its milestones and payments.
public struct ContractView: Codable, Sendable {
    public struct Milestone: Codable, Sendable {
        public var id: UUID
        public var position: Int
        public var title: String
        public var deliverable: String
        public var dueOn: String
        public var amountFen: Int
        public var status: String
        public var deliveryNote: String?
        public var deliveredAt: Date?
        public var reviewNote: String?
        public var acceptedAt: Date?
        public var paidAt: Date?
    }

    public var id: UUID
    public var tenderId: UUID
    public var organisationId: UUID
    public var valueFen: Int
    public var paidFen: Int
    public var signedOn: String
    public var milestones: [Milestone]
    public var performance: PerformanceEvaluated?
}

/// After the award: the contract, deliveries, acceptance, payments, and the final evaluation.
struct ContractDesk: Sendable {
    let logger: Logger
    let store: TenderStore

    func sign(
        _ tenderID: UUID, signedOn: String, milestones: [MilestonePlan], actor: Principal, now: Date, on connection: PostgresConnection
    ) async throws -> ContractView {
        let tender = try await store.visible(tenderID, to: actor, lock: true, on: connection)
        try tender.requirePurchaser(actor, action: "sign contracts")
        guard tender.status == .awarded, let value = tender.awardedFen, let organisation = tender.awardedOrganisationId else {
            throw BiddingError.illegal(IllegalTenderTransition(action: "sign-contract", status: tender.status, hint: TenderState.hint(for: tender.status)))
        }
        var issues = ContractRules.issues(milestones, contractValueFen: value)
        if !ContractRules.isCalendarDay(signedOn) { issues.append(FieldIssue("signedOn", "must be a date YYYY-MM-DD")) }
        guard issues.isEmpty else { throw BiddingError.invalid(issues) }
        let contractID = UUID.random()
        try await connection.query(
            """
            INSERT INTO contract (id, tender_id, organisation_id, value_fen, signed_on, signed_by, created_at)
            VALUES (\(contractID), \(tenderID), \(organisation), \(value), \(signedOn)::date, \(actor.subject), \(now))
            """, logger: logger)
        for (position, milestone) in milestones.enumerated() {
            try await connection.query(
                """
                INSERT INTO milestone (id, contract_id, position, title, deliverable, due_on, amount_fen, status)
                VALUES (\(UUID.random()), \(contractID), \(position + 1), \(milestone.title), \(milestone.deliverable), \(milestone.dueOn)::date, \(milestone.amountFen), 'pending')
                """, logger: logger)
        }
        try await store.transition(
            tender, .signContract, actor: actor.subject, reason: "\(milestones.count) milestones, \(value) fen", now: now, on: connection)
        return try await contract(of: tenderID, on: connection)!
    }

    func contract(of tenderID: UUID, lock: Bool = false, on connection: PostgresConnection) async throws -> ContractView? {
        var found: ContractView?
        for try await (id, organisation, value, paid, signed) in try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT id, organisation_id, value_fen, paid_fen, signed_on::text FROM contract WHERE tender_id = $1\(lock ? " FOR UPDATE" : "")",
                binds: .of(tenderID)), logger: logger
        ).decode((UUID, UUID, Int, Int, String).self) {
            found = ContractView(id: id, tenderId: tenderID, organisationId: organisation, valueFen: value, paidFen: paid, signedOn: signed, milestones: [])
        }
        guard var contract = found else { return nil }
        contract.milestones = try await connection.query(
            """
            SELECT id, position, title, deliverable, due_on::text AS due_on, amount_fen, status, delivery_note, delivered_at, review_note, accepted_at, paid_at
            FROM milestone WHERE contract_id = \(contract.id) ORDER BY position
            """, logger: logger
        ).collect { row in
            ContractView.Milestone(
                id: try row["id"].decode(UUID.self), position: try row["position"].decode(Int.self), title: try row["title"].decode(String.self),
                deliverable: try row["deliverable"].decode(String.self), dueOn: try row["due_on"].decode(String.self),
                amountFen: try row["amount_fen"].decode(Int.self), status: try row["status"].decode(String.self),
                deliveryNote: try row["delivery_note"].decode(String?.self), deliveredAt: try row["delivered_at"].decode(Date?.self),
                reviewNote: try row["review_note"].decode(String?.self), acceptedAt: try row["accepted_at"].decode(Date?.self),
                paidAt: try row["paid_at"].decode(Date?.self))
        }
        contract.performance = try await performance(of: contract.id, tenderID: tenderID, on: connection)
        return contract
    }

    /// The contract and one milestone, both locked, for a step on the milestone.
    private func milestone(
        _ milestoneID: UUID, of tenderID: UUID, actor: Principal, on connection: PostgresConnection
    ) async throws -> (TenderRecord, ContractView, ContractView.Milestone) {
        let tender = try await store.visible(tenderID, to: actor, lock: true, on: connection)
        guard let contract = try await contract(of: tenderID, lock: true, on: connection),
            let milestone = contract.milestones.first(where: { $0.id == milestoneID })
        else { throw BiddingError.notFound(what: "milestone", id: milestoneID) }
        return (tender, contract, milestone)
    }

    /// The organisation hands in a milestone's deliverable.
    func deliver(_ milestoneID: UUID, of tenderID: UUID, note: String, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> ContractView {
        let organisation = try BiddingAccess.organisation(of: actor)
        let (tender, contract, milestone) = try await milestone(milestoneID, of: tenderID, actor: actor, on: connection)
        guard contract.organisationId == organisation else { throw ProblemDetails.forbidden("Only the contracted organisation delivers its milestones.") }
        guard tender.status == .contracted else { throw BiddingError.conflict("the contract is \(tender.status.rawValue); nothing more is delivered") }
        guard milestone.status == MilestoneStatus.pending.rawValue || milestone.status == MilestoneStatus.returned.rawValue else {
            throw BiddingError.conflict("milestone \(milestone.position) is \(milestone.status); only a pending or returned milestone is delivered")
        }
        let note = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !note.isEmpty, note.count <= 10_000 else { throw BiddingError.invalid([FieldIssue("note", "describe what is delivered (1 to 10,000 characters)")]) }
        try await connection.query(
            "UPDATE milestone SET status = 'delivered', delivery_note = \(note), delivered_at = \(now) WHERE id = \(milestoneID)", logger: logger)
        try await store.history(tender, action: "deliver-milestone", from: tender, actor: actor.subject, reason: "milestone \(milestone.position): \(milestone.title)", now: now, on: connection)
        return try await self.contract(of: tenderID, on: connection)!
    }

    /// The purchaser accepts a deliverable (its payment becomes due) or returns it with reasons.
    func review(
        _ milestoneID: UUID, of tenderID: UUID, accepted: Bool, note: String?, actor: Principal, now: Date, on connection: PostgresConnection
    ) async throws -> ContractView {
        let (tender, contract, milestone) = try await milestone(milestoneID, of: tenderID, actor: actor, on: connection)
        try tender.requirePurchaser(actor, action: "review deliverables")
        guard milestone.status == MilestoneStatus.delivered.rawValue else {
            throw BiddingError.conflict("milestone \(milestone.position) is \(milestone.status); only a delivered milestone is reviewed")
        }
        let note = note?.trimmingCharacters(in: .whitespacesAndNewlines)
        if !accepted && (note ?? "").isEmpty { throw BiddingError.invalid([FieldIssue("note", "say why the deliverable is returned")]) }
        if accepted {
            try await connection.query(
                "UPDATE milestone SET status = 'accepted', review_note = \(note), accepted_at = \(now) WHERE id = \(milestoneID)", logger: logger)
            try await BiddingEvents.append(
                BiddingEventTypes.milestoneAccepted, tender: tenderID,
                MilestoneAccepted(tenderId: tenderID, contractId: contract.id, milestoneId: milestoneID, title: milestone.title, amountFen: milestone.amountFen, acceptedAt: now),
                now: now, on: connection, logger: logger)
        } else {
            try await connection.query("UPDATE milestone SET status = 'returned', review_note = \(note) WHERE id = \(milestoneID)", logger: logger)
        }
        try await store.history(
            tender, action: accepted ? "accept-milestone" : "return-milestone", from: tender, actor: actor.subject,
            reason: "milestone \(milestone.position)" + (note.map { ": \($0)" } ?? ""), now: now, on: connection)
        return try await self.contract(of: tenderID, on: connection)!
    }

    /// Releases an accepted milestone's payment. The contract row lock and the database's own check
    /// keep the total at or under the award; the last payment completes the tender.
    func pay(_ milestoneID: UUID, of tenderID: UUID, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> ContractView {
        let (tender, contract, milestone) = try await milestone(milestoneID, of: tenderID, actor: actor, on: connection)
        try tender.requirePurchaser(actor, action: "release payments")
        if let refusal = ContractRules.paymentRefusal(
            status: MilestoneStatus(rawValue: milestone.status) ?? .pending, amountFen: milestone.amountFen, paidFen: contract.paidFen,
            contractValueFen: contract.valueFen)
        {
            throw BiddingError.conflict("no payment for milestone \(milestone.position): \(refusal)")
        }
        // `paymentRefusal` has checked the sum; this keeps it checked where it is used.
        guard let paidTotal = Money.adding(contract.paidFen, milestone.amountFen) else {
            throw BiddingError.conflict("no payment for milestone \(milestone.position): the total paid would overflow")
        }
        try await connection.query(
            """
            INSERT INTO payment (id, milestone_id, contract_id, amount_fen, released_by, released_at)
            VALUES (\(UUID.random()), \(milestoneID), \(contract.id), \(milestone.amountFen), \(actor.subject), \(now))
            """, logger: logger)
        try await connection.query("UPDATE milestone SET status = 'paid', paid_at = \(now) WHERE id = \(milestoneID)", logger: logger)
        try await connection.query("UPDATE contract SET paid_fen = paid_fen + \(milestone.amountFen) WHERE id = \(contract.id)", logger: logger)
        try await BiddingEvents.append(
            BiddingEventTypes.paymentReleased, tender: tenderID,
            PaymentReleased(
                tenderId: tenderID, contractId: contract.id, milestoneId: milestoneID, organisationId: contract.organisationId, amountFen: milestone.amountFen,
                paidTotalFen: paidTotal, contractValueFen: contract.valueFen, releasedAt: now),
            now: now, on: connection, logger: logger)
        try await store.history(tender, action: "release-payment", from: tender, actor: actor.subject, reason: "milestone \(milestone.position): \(milestone.amountFen) fen", now: now, on: connection)
        Counter(label: "bidding_payments_released_fen_total").increment(by: milestone.amountFen)
        let unpaid = contract.milestones.filter { $0.id != milestoneID && $0.status != MilestoneStatus.paid.rawValue }
        if unpaid.isEmpty {
            try await store.transition(tender, .complete, actor: actor.subject, reason: "every milestone paid", now: now, on: connection)
        }
        return try await self.contract(of: tenderID, on: connection)!
    }

    /// The final performance evaluation against the project's standards; it joins the organisation's record.
    func evaluatePerformance(
        _ tenderID: UUID, score: Int, standards: [StandardAssessment], summary: String, actor: Principal, now: Date, on connection: PostgresConnection
    ) async throws -> PerformanceEvaluated {
        let tender = try await store.visible(tenderID, to: actor, lock: true, on: connection)
        try tender.requirePurchaser(actor, action: "evaluate performance")
        guard tender.status == .completed, let contract = try await contract(of: tenderID, on: connection) else {
            throw BiddingError.illegal(IllegalTenderTransition(action: "evaluate-performance", status: tender.status, hint: TenderState.hint(for: tender.status)))
        }
        let expected = try await store.project(tender.projectId, on: connection)?.plan.standards.map(\.name) ?? []
        var issues: [FieldIssue] = []
        if !(0...100).contains(score) { issues.append(FieldIssue("score", "must be 0 to 100")) }
        let summary = summary.trimmingCharacters(in: .whitespacesAndNewlines)
        if summary.isEmpty || summary.count > 10_000 { issues.append(FieldIssue("summary", "must be 1 to 10,000 characters")) }
        let given = standards.map(\.standard)
        if given.sorted() != expected.sorted() {
            issues.append(FieldIssue("standards", "assess each of the project's standards once: \(expected.joined(separator: ", "))"))
        }
        guard issues.isEmpty else { throw BiddingError.invalid(issues) }
        let met = standards.filter(\.met).count
        try await connection.query(
            """
            INSERT INTO performance (contract_id, tender_id, organisation_id, score, standards, summary, evaluated_by, evaluated_at)
            VALUES (\(contract.id), \(tenderID), \(contract.organisationId), \(score), \(String(decoding: try JSONEncoder.api.encode(standards), as: UTF8.self))::jsonb,
                    \(summary), \(actor.subject), \(now))
            """, logger: logger)
        try await store.transition(tender, .evaluatePerformance, actor: actor.subject, reason: "score \(score), \(met)/\(standards.count) standards met", now: now, announce: false, on: connection)
        let event = PerformanceEvaluated(
            tenderId: tenderID, contractId: contract.id, organisationId: contract.organisationId, score: score, standardsMet: met,
            standardsTotal: standards.count, summary: summary, evaluatedAt: now)
        try await BiddingEvents.append(BiddingEventTypes.performanceEvaluated, tender: tenderID, event, now: now, on: connection, logger: logger)
        return event
    }

    func performance(of contractID: UUID, tenderID: UUID, on connection: PostgresConnection) async throws -> PerformanceEvaluated? {
        for try await (organisation, score, standards, summary, at) in try await connection.query(
            "SELECT organisation_id, score, standards::text, summary, evaluated_at FROM performance WHERE contract_id = \(contractID)", logger: logger
        ).decode((UUID, Int, String, String, Date).self) {
            let assessed = try JSONDecoder().decode([StandardAssessment].self, from: Data(standards.utf8))
            return PerformanceEvaluated(
                tenderId: tenderID, contractId: contractID, organisationId: organisation, score: score, standardsMet: assessed.filter(\.met).count,
                standardsTotal: assessed.count, summary: summary, evaluatedAt: at)
        }
        return nil
    }
}
