import BiddingCore
import Contracts
import Foundation
import Logging
import PostgresNIO
import ServiceRuntime
import Storage

/// The draw as recorded, for anyone to redo.
public struct PanelView: Codable, Sendable {
    public var tenderId: UUID
    public var seed: String
    public var seedMaterial: String
    public var fields: [String]
    public var candidates: [UUID]
    public var excluded: [ExcludedExpert]
    public var panel: [UUID]
    public var drawnAt: Date
    /// How to redo the draw from the above.
    public var method: String
}

/// One score as entered.
public struct ScoreEntry: Codable, Sendable {
    public var bidId: UUID
    public var quality: Int
    public var note: String?
}

/// From the deadline to the award: opening, the panel draw, the scores, the evaluation, the award.
struct EvaluationDesk: Sendable {
    let logger: Logger
    let store: TenderStore
    let bids: BidBox

    init(logger: Logger, seal: BidSeal) {
        self.logger = logger
        self.store = TenderStore(logger: logger)
        self.bids = BidBox(logger: logger, seal: seal, store: store)
    }

    static let system = "tender-scheduler"
    static let method = """
        seed = SHA-256(seedMaterial); candidates = active experts sharing a field, not affiliated with a bidder or the purchaser, \
        sorted by id; partial Fisher-Yates: for i in 0..<size, j = i + r mod (n - i), r = first 8 bytes big-endian of \
        SHA-256(seed bytes + counter as 8 bytes big-endian), counter from 0, skipping r >= 2^64 - 1 - ((2^64 - 1) mod (n - i)); \
        panel = the first size candidates
        """

    /// The deadline passed: releases the tender's key, opens the bids, and closes bidding (or fails
    /// the tender when no bid qualifies).
    func close(_ tender: TenderRecord, now: Date, on connection: PostgresConnection) async throws -> TenderRecord {
        let key = bids.seal.tenderKey(tender.id)
        let opened = try await bids.open(tender, key: key, on: connection)
        let qualified = opened.filter { $0.status == "qualified" }.count
        try await connection.query("UPDATE tender SET sealing_key = \(key.base64), closed_at = \(now) WHERE id = \(tender.id)", logger: logger)
        var closed = try await store.transition(
            tender, .closeBidding(qualifiedBids: qualified), actor: Self.system,
            reason: qualified == 0 ? (opened.isEmpty ? "no bids" : "no eligible bid") : "\(qualified) of \(opened.count) bids qualified", now: now,
            announce: false, on: connection)
        closed.sealingKey = key.base64
        closed.closedAt = now
        try await BiddingEvents.append(
            BiddingEventTypes.closed, tender: tender.id, BiddingClosed(tender: closed.snapshot, sealingKey: key.base64, bids: opened), now: now,
            on: connection, logger: logger)
        return closed
    }

    /// Draws the panel once. The seed comes from what was fixed and published before the draw.
    func drawPanel(_ tender: TenderRecord, now: Date, on connection: PostgresConnection) async throws -> (TenderRecord, PanelView) {
        var hashes: [String] = []
        var bidders: Set<UUID> = []
        for try await (sha, organisation) in try await connection.query(
            "SELECT sha256, organisation_id FROM bid WHERE tender_id = \(tender.id)", logger: logger
        ).decode((String, UUID).self) {
            hashes.append(sha)
            bidders.insert(organisation)
        }
        var pool: [PoolExpert] = []
        for try await (id, fields, affiliations) in try await connection.query(
            "SELECT role_id, fields, affiliations FROM expert WHERE active AND fields && \(tender.panelFields)", logger: logger
        ).decode((UUID, [String], [UUID]).self) {
            pool.append(PoolExpert(id: id, fields: Set(fields), affiliations: Set(affiliations)))
        }
        let conflicted = bidders.union([tender.purchaserOrganisationId, tender.thirdPartyOrganisationId].compactMap { $0 })
        let material = PanelDraw.seedMaterial(tender: tender.id, deadline: tender.deadlineAt, bidHashes: hashes)
        let result: PanelResult
        do {
            result = try PanelDraw.draw(seedMaterial: material, pool: pool, fields: tender.panelFields, excludingAffiliatesOf: conflicted, size: tender.panelSize)
        } catch {
            throw BiddingError.panelShortfall(error)
        }
        let excluded = String(decoding: try JSONEncoder.api.encode(result.excluded), as: UTF8.self)
        let recorded = try await connection.exists(
            """
            INSERT INTO panel_draw (tender_id, seed, seed_material, fields, candidates, excluded, panel, drawn_at)
            VALUES (\(tender.id), \(result.seed), \(result.seedMaterial), \(tender.panelFields), \(result.candidates), \(excluded)::jsonb, \(result.panel), \(now))
            ON CONFLICT (tender_id) DO NOTHING RETURNING 1
            """, logger: logger)
        guard recorded else { throw BiddingError.conflict("the panel of this tender was drawn already; a draw is never repeated") }
        let drawn = try await store.transition(
            tender, .drawPanel, actor: Self.system, reason: "\(result.panel.count) of \(result.candidates.count) candidates", now: now, announce: false,
            on: connection)
        try await BiddingEvents.append(
            BiddingEventTypes.panelDrawn, tender: tender.id,
            PanelDrawn(
                tenderId: tender.id, seed: result.seed, seedMaterial: result.seedMaterial, fields: tender.panelFields, candidates: result.candidates,
                excluded: result.excluded.map(\.expertId), panel: result.panel, drawnAt: now),
            now: now, on: connection, logger: logger)
        let view = PanelView(
            tenderId: tender.id, seed: result.seed, seedMaterial: result.seedMaterial, fields: tender.panelFields, candidates: result.candidates,
            excluded: result.excluded, panel: result.panel, drawnAt: now, method: Self.method)
        return (drawn, view)
    }

    func panel(of tenderID: UUID, on connection: PostgresConnection) async throws -> PanelView? {
        for try await (seed, material, fields, candidates, excluded, panel, drawn) in try await connection.query(
            "SELECT seed, seed_material, fields, candidates, excluded::text, panel, drawn_at FROM panel_draw WHERE tender_id = \(tenderID)", logger: logger
        ).decode((String, String, [String], [UUID], String, [UUID], Date).self) {
            return PanelView(
                tenderId: tenderID, seed: seed, seedMaterial: material, fields: fields, candidates: candidates,
                excluded: try JSONDecoder().decode([ExcludedExpert].self, from: Data(excluded.utf8)), panel: panel, drawnAt: drawn, method: Self.method)
        }
        return nil
    }

    /// Scores for one part. Experts score for themselves and only if drawn; the purchaser's staff
    /// enter the purchaser's, the recipients' representatives' and the third party's, naming who scored.
    func record(
        part: ScorePart, evaluator named: String?, scores: [ScoreEntry], tenderID: UUID, actor: Principal, now: Date, on connection: PostgresConnection
    ) async throws -> Int {
        let tender = try await store.visible(tenderID, to: actor, lock: true, on: connection)
        guard tender.status == .panelDrawn else {
            throw BiddingError.illegal(IllegalTenderTransition(action: "take scores", status: tender.status, hint: "scores are taken once the panel is drawn, until evaluation"))
        }
        let evaluator: String
        if part == .expert {
            guard actor.role == .expert, let expert = UUID(uuidString: actor.subject) else {
                throw ProblemDetails.forbidden("Expert scores come from the experts themselves (role expert).")
            }
            guard let panel = try await panel(of: tenderID, on: connection), panel.panel.contains(expert) else {
                throw ProblemDetails.forbidden("Only an expert drawn for this tender's panel may score it.")
            }
            evaluator = expert.uuidString.lowercased()
        } else {
            try tender.requirePurchaser(actor, action: "enter \(part.rawValue) scores")
            guard tender.weights.weight(of: part) > 0 else { throw BiddingError.conflict("the \(part.rawValue) part has no weight in this tender") }
            let name = (named ?? actor.name ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty, name.count <= 200 else { throw BiddingError.invalid([FieldIssue("evaluator", "name who scored for the \(part.rawValue) part")]) }
            evaluator = name
        }
        var issues: [FieldIssue] = []
        if scores.isEmpty { issues.append(FieldIssue("scores", "score at least one bid")) }
        for (index, entry) in scores.enumerated() where !(0...100).contains(entry.quality) {
            issues.append(FieldIssue("scores[\(index)].quality", "must be 0 to 100"))
        }
        if Set(scores.map(\.bidId)).count != scores.count { issues.append(FieldIssue("scores", "one score per bid")) }
        guard issues.isEmpty else { throw BiddingError.invalid(issues) }
        for entry in scores {
            let qualified = try await connection.exists(
                "SELECT 1 FROM bid WHERE id = \(entry.bidId) AND tender_id = \(tenderID) AND status = 'qualified'", logger: logger)
            guard qualified else { throw BiddingError.notFound(what: "qualified bid", id: entry.bidId) }
            try await connection.query(
                """
                INSERT INTO score (tender_id, bid_id, part, evaluator, quality, note, recorded_by, recorded_at)
                VALUES (\(tenderID), \(entry.bidId), \(part.rawValue), \(evaluator), \(entry.quality), \(entry.note), \(actor.subject), \(now))
                ON CONFLICT (bid_id, part, evaluator) DO UPDATE SET quality = excluded.quality, note = excluded.note,
                    recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at
                """, logger: logger)
        }
        return scores.count
    }

    /// Every score in: the score sheet is computed and kept; no qualified bid left fails the tender.
    func evaluate(_ tenderID: UUID, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> (TenderRecord, [ScoreLine]) {
        let tender = try await store.visible(tenderID, to: actor, lock: true, on: connection)
        try tender.requirePurchaser(actor, action: "evaluate tenders")
        guard tender.status == .panelDrawn else { throw BiddingError.illegal(IllegalTenderTransition(action: "evaluate", status: tender.status, hint: TenderState.hint(for: tender.status))) }
        let candidates = try await qualifiedBids(of: tenderID, on: connection)
        let panel = try await panel(of: tenderID, on: connection)?.panel ?? []
        let missing = Evaluation.missing(candidates, weights: tender.weights, panel: panel)
        guard missing.isEmpty else { throw BiddingError.scoresMissing(missing) }
        let lines = Evaluation.rank(candidates, weights: tender.weights).map { line in
            ScoreLine(
                bidId: line.bid.bidId, organisationId: line.bid.organisationId, priceFen: line.bid.priceFen, parts: line.parts, total: line.total,
                rank: line.rank, outcome: line.rank == 1 ? "awarded" : "lost")
        }
        try await connection.query(
            """
            INSERT INTO score_sheet (tender_id, lines, evaluated_at) VALUES (\(tenderID), \(String(decoding: try JSONEncoder.api.encode(lines), as: UTF8.self))::jsonb, \(now))
            ON CONFLICT (tender_id) DO UPDATE SET lines = excluded.lines, evaluated_at = excluded.evaluated_at
            """, logger: logger)
        let evaluated = try await store.transition(
            tender, .evaluate(qualifiedBids: candidates.count), actor: actor.subject,
            reason: candidates.isEmpty ? "no qualified bid left" : "\(candidates.count) bids ranked", now: now, on: connection)
        return (evaluated, lines)
    }

    func qualifiedBids(of tenderID: UUID, on connection: PostgresConnection) async throws -> [BidForEvaluation] {
        var bids: [UUID: BidForEvaluation] = [:]
        for try await (bid, organisation, price, submitted) in try await connection.query(
            "SELECT id, organisation_id, price_fen, submitted_at FROM bid WHERE tender_id = \(tenderID) AND status = 'qualified' AND price_fen IS NOT NULL",
            logger: logger
        ).decode((UUID, UUID, Int, Date).self) {
            bids[bid] = BidForEvaluation(bidId: bid, organisationId: organisation, priceFen: price, submittedAt: submitted, scores: [:])
        }
        for try await (bid, part, evaluator, quality) in try await connection.query(
            "SELECT bid_id, part, evaluator, quality FROM score WHERE tender_id = \(tenderID)", logger: logger
        ).decode((UUID, String, String, Int).self) {
            guard bids[bid] != nil, let part = ScorePart(rawValue: part) else { continue }
            bids[bid]!.scores[part, default: [:]][evaluator] = quality
        }
        return Array(bids.values)
    }

    func scoreSheet(of tenderID: UUID, on connection: PostgresConnection) async throws -> [ScoreLine]? {
        for try await lines in try await connection.query("SELECT lines::text FROM score_sheet WHERE tender_id = \(tenderID)", logger: logger).decode(String.self) {
            return try JSONDecoder().decode([ScoreLine].self, from: Data(lines.utf8))
        }
        return nil
    }

    /// The award goes to the first line of the score sheet; the tender row lock makes a second,
    /// concurrent award find the tender awarded already.
    func award(_ tenderID: UUID, actor: Principal, now: Date, on connection: PostgresConnection) async throws -> TenderAwarded {
        let tender = try await store.visible(tenderID, to: actor, lock: true, on: connection)
        try tender.requirePurchaser(actor, action: "award tenders")
        guard tender.status == .evaluated else { throw BiddingError.illegal(IllegalTenderTransition(action: "award", status: tender.status, hint: TenderState.hint(for: tender.status))) }
        guard let lines = try await scoreSheet(of: tenderID, on: connection), let winner = lines.first(where: { $0.rank == 1 }) else {
            throw BiddingError.conflict("the tender has no score sheet; evaluate it first")
        }
        try await connection.query(
            """
            UPDATE tender SET awarded_bid_id = \(winner.bidId), awarded_organisation_id = \(winner.organisationId), awarded_fen = \(winner.priceFen)
            WHERE id = \(tenderID)
            """, logger: logger)
        try await connection.query(
            "UPDATE bid SET status = CASE WHEN id = \(winner.bidId) THEN 'awarded' ELSE 'lost' END WHERE tender_id = \(tenderID) AND status = 'qualified'",
            logger: logger)
        var awarded = try await store.transition(
            tender, .award, actor: actor.subject, reason: "best total \(winner.total)", now: now, announce: false, on: connection)
        awarded.awardedBidId = winner.bidId
        awarded.awardedOrganisationId = winner.organisationId
        awarded.awardedFen = winner.priceFen
        let disqualified = try await bids.bids(of: awarded, on: connection).filter { $0.status == "disqualified" }.map {
            OpenedBid(bidId: $0.bidId, organisationId: $0.organisationId, sha256: $0.sha256, status: $0.status, reason: $0.statusReason)
        }
        let event = TenderAwarded(
            tender: awarded.snapshot, bidId: winner.bidId, organisationId: winner.organisationId, priceFen: winner.priceFen,
            weights: tender.weights.published, scoreSheet: lines, disqualified: disqualified)
        try await BiddingEvents.append(BiddingEventTypes.awarded, tender: tenderID, event, now: now, on: connection, logger: logger)
        return event
    }
}
