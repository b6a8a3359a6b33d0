import BiddingCore
import Contracts
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceRuntime
import Storage

/// The bidding API under `/api/v1`: projects, tenders and their lifecycle, sealed bids, the panel,
/// scores, contracts and milestones; and the public OCDS feed under `/public/ocds`.
struct BiddingAPI: Sendable {
    let database: Database
    let store: TenderStore
    let bids: BidBox
    let desk: EvaluationDesk
    let contracts: ContractDesk
    let ocidPrefix: String
    let logger: Logger
    let clock: @Sendable () -> Date

    init(database: Database, seal: BidSeal, ocidPrefix: String, logger: Logger, clock: @escaping @Sendable () -> Date) {
        self.database = database
        self.desk = EvaluationDesk(logger: logger, seal: seal)
        self.store = desk.store
        self.bids = desk.bids
        self.contracts = ContractDesk(logger: logger, store: store)
        self.ocidPrefix = ocidPrefix
        self.logger = logger
        self.clock = clock
    }

    func register(on api: RouterGroup<AppContext>) {
        let projects = api.group("projects")
        projects.post(use: createProject)
        projects.get(use: listProjects)
        projects.get(":id", use: project)
        projects.post(":id/tenders", use: createTender)
        let tenders = api.group("tenders")
        tenders.get(use: listTenders)
        tenders.get(":id", use: tender)
        tenders.post(":id/transitions", use: transition)
        tenders.post(":id/questions", use: ask)
        tenders.post(":id/questions/:question/answer", use: answer)
        tenders.post(":id/complaints", use: complain)
        tenders.post(":id/complaints/:complaint/decision", use: decide)
        tenders.put(":id/bid", use: submitBid)
        tenders.get(":id/bids", use: listBids)
        tenders.post(":id/bids/:bid/disqualification", use: disqualify)
        tenders.get(":id/panel", use: panel)
        tenders.post(":id/scores", use: score)
        tenders.post(":id/contract", use: signContract)
        tenders.get(":id/contract", use: contract)
        tenders.post(":id/milestones/:milestone/delivery", use: deliver)
        tenders.post(":id/milestones/:milestone/review", use: review)
        tenders.post(":id/milestones/:milestone/payment", use: pay)
        tenders.post(":id/performance", use: evaluatePerformance)
        api.get("organisations/:id/record", use: organisationRecord)
    }

    func registerPublic(on group: RouterGroup<AppContext>) {
        group.get("ocds/releases", use: ocdsReleases)
        group.get("ocds/tenders/:id", use: ocdsTender)
    }

    // MARK: projects

    @Sendable func createProject(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: BiddingAccess.purchasers, action: "start purchase projects")
        let body = try await request.collectBody()
        let plan = try decodeJSON(ProjectPlan.self, from: body)
        struct Identified: Codable { var id: UUID? }
        let id = try decodeJSON(Identified.self, from: body).id ?? UUID.random()
        let store = store, clock = clock
        return try await IdempotentWrite.run(request, body: body, subject: principal.subject, database: database, logger: logger) { connection in
            try APIResult(.created, try await store.createProject(plan, id: id, actor: principal, now: clock(), on: connection))
        }
    }

    @Sendable func listProjects(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let query = request.queryValues
        let page = try PageRequest(query)
        var builder = QueryBuilder()
        try builder.placeFilters(scope: principal.scope.level == .organisation ? .city : principal.scope, query: query, listing: "projects")
        builder.filter(query["serviceKind"]) { "service_kind = \($0)" }
        let order = builder.keyset(after: page.after.flatMap(UUID.init(uuidString:)), column: "id", limit: page.limit)
        let projects = try await database.withConnection { connection in
            try await connection.query(
                builder.query("SELECT \(TenderStore.projectColumns) FROM project \(builder.whereClause) \(order)"), logger: logger
            ).collect(TenderStore.project)
        }
        return try APIResult(.ok, Page(fetched: projects, limit: page.limit) { $0.id.uuidString }).response()
    }

    @Sendable func project(_ request: Request, context: AppContext) async throws -> Response {
        _ = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let found = try await database.withConnection { connection in try await store.project(id, on: connection) }
        guard let found else { throw BiddingError.notFound(what: "project", id: id) }
        return try APIResult(.ok, found).response()
    }

    // MARK: tenders

    @Sendable func createTender(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: BiddingAccess.purchasers, action: "draft tenders")
        let projectID = try context.uuidParameter()
        let body = try await request.collectBody()
        let proposal = try decodeJSON(TenderProposal.self, from: body)
        let store = store, clock = clock
        return try await IdempotentWrite.run(request, body: body, subject: principal.subject, database: database, logger: logger) { connection in
            let record = try await store.createTender(proposal, project: projectID, actor: principal, now: clock(), on: connection)
            return try APIResult(.created, TenderSummary(record))
        }
    }

    /// A tender with the terms a bidder needs.
    struct TenderSummary: Codable, Sendable {
        var tender: TenderSnapshot
        var weights: ScoreWeights
        var panel: TenderProposal.Panel
        var purchaserOrganisationId: UUID?
        var thirdPartyOrganisationId: UUID?
        var suspendedFrom: String?
        /// Released when bidding closes: opens this tender's sealed bids.
        var sealingKey: String?

        init(_ record: TenderRecord) {
            tender = record.snapshot
            weights = record.weights
            panel = TenderProposal.Panel(fields: record.panelFields, size: record.panelSize)
            purchaserOrganisationId = record.purchaserOrganisationId
            thirdPartyOrganisationId = record.thirdPartyOrganisationId
            suspendedFrom = record.state.suspendedFrom?.rawValue
            sealingKey = record.sealingKey
        }
    }

    @Sendable func listTenders(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let query = request.queryValues
        let page = try PageRequest(query)
        var builder = QueryBuilder()
        builder.filter(query["status"]) { "t.status = \($0)" }
        builder.filter(query["project"].flatMap(UUID.init(uuidString:))) { "t.project_id = \($0)" }
        builder.filter(query["district"]) { "p.district_code = \($0)" }
        builder.filter(query["community"]) { "p.community_code = \($0)" }
        // Drafts only for the purchaser's staff in scope (and auditors); the rest is public.
        if principal.role != .auditor {
            let mayDraft = BiddingAccess.purchasers.contains(principal.role)
            let scope = principal.scope
            switch (mayDraft, scope.level) {
            case (true, .city): break
            case (true, .district): builder.filter(scope.id) { "(t.status <> 'draft' OR p.district_code = \($0))" }
            case (true, .street): builder.filter(scope.id) { "(t.status <> 'draft' OR p.street_code = \($0))" }
            default: builder.filter("draft") { "t.status <> \($0)" }
            }
        }
        let order = builder.keyset(after: page.after.flatMap(UUID.init(uuidString:)), column: "t.id", limit: page.limit)
        let records = try await database.withConnection { connection in
            try await connection.query(
                builder.query("SELECT \(TenderRecord.columns) FROM \(TenderRecord.from) \(builder.whereClause) \(order)"), logger: logger
            ).collect { TenderSummary(try TenderRecord(row: $0)) }
        }
        return try APIResult(.ok, Page(fetched: records, limit: page.limit) { $0.tender.id.uuidString }).response()
    }

    struct TenderDetail: Codable, Sendable {
        var summary: TenderSummary
        var clarifications: [TenderStore.Clarification]
        var complaints: [TenderStore.ComplaintView]
        var transitions: [TenderPage.Transition]
        var bids: [BidView]
        var panel: PanelView?
        var scoreSheet: [ScoreLine]?
        var contract: ContractView?
    }

    @Sendable func tender(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let detail = try await database.withConnection { connection in
            guard let page = try await TenderPage.read(id, on: connection, logger: logger), page.record.visible(to: principal) else {
                throw BiddingError.notFound(what: "tender", id: id)
            }
            let record = page.record
            // A panel and scores exist only once bidding closed, a contract only after an award: most
            // reads are of open tenders, and each query skipped is a round trip saved.
            let closed = record.closedAt != nil
            return TenderDetail(
                summary: TenderSummary(record), clarifications: page.clarifications, complaints: page.complaints, transitions: page.transitions,
                bids: page.bids, panel: closed ? try await desk.panel(of: id, on: connection) : nil,
                scoreSheet: closed ? try await desk.scoreSheet(of: id, on: connection) : nil,
                contract: record.awardedBidId != nil ? try await contracts.contract(of: id, on: connection) : nil)
        }
        return try APIResult(.ok, detail).response()
    }

    struct TransitionRequest: Codable, Sendable {
        var action: String
        var reason: String?
    }

    /// The purchaser's steps: publish, evaluate, award, cancel. Closing and the draw happen by
    /// themselves; complaints, contracts and payments have their own routes.
    @Sendable func transition(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: BiddingAccess.purchasers, action: "run tenders")
        let id = try context.uuidParameter()
        let asked = try decodeJSON(TransitionRequest.self, from: try await request.collectBody())
        let store = store, desk = desk, clock = clock
        let result: APIResult = try await database.transaction { connection in
            let now = clock()
            switch asked.action {
            case "publish":
                let record = try await store.visible(id, to: principal, lock: true, on: connection)
                try record.requirePurchaser(principal, action: "publish tenders")
                if record.status == .draft, record.deadlineAt <= now {
                    throw BiddingError.invalid([FieldIssue("biddingDeadline", "has passed (\(iso(record.deadlineAt))); draft a new tender with a later deadline")])
                }
                return try APIResult(.ok, TenderSummary(try await store.transition(record, .publish, actor: principal.subject, reason: asked.reason, now: now, on: connection)))
            case "cancel":
                let reason = (asked.reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                guard !reason.isEmpty else { throw BiddingError.invalid([FieldIssue("reason", "say why the tender is cancelled")]) }
                let record = try await store.visible(id, to: principal, lock: true, on: connection)
                try record.requirePurchaser(principal, action: "cancel tenders")
                return try APIResult(.ok, TenderSummary(try await store.transition(record, .cancel(reason: reason), actor: principal.subject, reason: reason, now: now, on: connection)))
            case "evaluate":
                let (record, lines) = try await desk.evaluate(id, actor: principal, now: now, on: connection)
                struct Evaluated: Codable { var summary: TenderSummary; var scoreSheet: [ScoreLine] }
                return try APIResult(.ok, Evaluated(summary: TenderSummary(record), scoreSheet: lines))
            case "award":
                return try APIResult(.ok, try await desk.award(id, actor: principal, now: now, on: connection))
            case "close-bidding", "draw-panel":
                throw BiddingError.conflict("\(asked.action) happens by itself at the deadline; it cannot be asked for")
            default:
                throw ProblemDetails.badRequest(
                    "Unknown action '\(asked.action.prefix(40))'.", errors: [.init(field: "action", problem: "one of publish, evaluate, award, cancel")])
            }
        }
        return result.response()
    }

    // MARK: questions and complaints

    @Sendable func ask(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: [.organisation], action: "ask questions about tenders")
        let organisation = try BiddingAccess.organisation(of: principal)
        let id = try context.uuidParameter()
        struct Question: Codable { var question: String }
        let asked = try decodeJSON(Question.self, from: try await request.collectBody())
        let store = store, clock = clock
        let clarification = try await database.transaction { connection in
            try await store.ask(asked.question, about: id, organisation: organisation, actor: principal, now: clock(), on: connection)
        }
        return try APIResult(.created, clarification).response()
    }

    @Sendable func answer(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: BiddingAccess.purchasers, action: "answer questions")
        let id = try context.uuidParameter()
        let question = try context.uuidParameter("question")
        struct Answer: Codable { var answer: String }
        let given = try decodeJSON(Answer.self, from: try await request.collectBody())
        let store = store, clock = clock
        let clarification = try await database.transaction { connection in
            try await store.answer(question, of: id, answer: given.answer, actor: principal, now: clock(), on: connection)
        }
        return try APIResult(.ok, clarification).response()
    }

    @Sendable func complain(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: [.organisation], action: "complain about tenders")
        let organisation = try BiddingAccess.organisation(of: principal)
        let id = try context.uuidParameter()
        struct Complaint: Codable { var grounds: String }
        let complaint = try decodeJSON(Complaint.self, from: try await request.collectBody())
        let store = store, clock = clock
        let (_, filed) = try await database.transaction { connection in
            try await store.complain(about: id, grounds: complaint.grounds, organisation: organisation, actor: principal, now: clock(), on: connection)
        }
        return try APIResult(.created, filed).response()
    }

    @Sendable func decide(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: BiddingAccess.complaintDeciders, action: "decide complaints")
        let id = try context.uuidParameter()
        let complaint = try context.uuidParameter("complaint")
        struct Decision: Codable { var upheld: Bool; var note: String }
        let decision = try decodeJSON(Decision.self, from: try await request.collectBody())
        let store = store, clock = clock
        let record = try await database.transaction { connection in
            try await store.decide(complaint: complaint, of: id, upheld: decision.upheld, note: decision.note, actor: principal, now: clock(), on: connection)
        }
        return try APIResult(.ok, TenderSummary(record)).response()
    }

    // MARK: bids

    @Sendable func submitBid(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: [.organisation], action: "bid")
        let organisation = try BiddingAccess.organisation(of: principal)
        let id = try context.uuidParameter()
        let body = try await request.collectBody()
        let contents = try decodeJSON(BidContents.self, from: body)
        struct Replacement: Codable { var replacesVersion: Int? }
        let replacing = try decodeJSON(Replacement.self, from: body).replacesVersion
        let bids = bids, clock = clock
        let (receipt, replaced) = try await database.transaction { connection in
            try await bids.submit(contents, replacing: replacing, to: id, organisation: organisation, actor: principal, now: clock(), on: connection)
        }
        return try APIResult(replaced ? .ok : .created, receipt).response()
    }

    @Sendable func listBids(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let views = try await database.withConnection { connection in
            let record = try await store.visible(id, to: principal, on: connection)
            return try await bids.bids(of: record, withHistory: true, on: connection)
        }
        return try APIResult(.ok, Page(items: views, nextCursor: nil)).response()
    }

    @Sendable func disqualify(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: BiddingAccess.purchasers, action: "disqualify bids")
        let id = try context.uuidParameter()
        let bid = try context.uuidParameter("bid")
        struct Disqualification: Codable { var reason: String }
        let asked = try decodeJSON(Disqualification.self, from: try await request.collectBody())
        let bids = bids, clock = clock
        let view = try await database.transaction { connection in
            try await bids.disqualify(bid, of: id, reason: asked.reason, actor: principal, now: clock(), on: connection)
        }
        return try APIResult(.ok, view).response()
    }

    // MARK: panel and scores

    @Sendable func panel(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let view = try await database.withConnection { connection in
            _ = try await store.visible(id, to: principal, on: connection)
            return try await desk.panel(of: id, on: connection)
        }
        guard let view else { throw BiddingError.conflict("the panel of this tender has not been drawn yet") }
        return try APIResult(.ok, view).response()
    }

    struct ScoreRequest: Codable, Sendable {
        var part: String
        var evaluator: String?
        var scores: [ScoreEntry]
    }

    @Sendable func score(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: BiddingAccess.purchasers.union([.expert]), action: "score bids")
        let id = try context.uuidParameter()
        let asked = try decodeJSON(ScoreRequest.self, from: try await request.collectBody())
        guard let part = ScorePart(rawValue: asked.part) else {
            throw BiddingError.invalid([FieldIssue("part", "must be one of \(ScorePart.allCases.map(\.rawValue).joined(separator: ", "))")])
        }
        let desk = desk, clock = clock
        let recorded = try await database.transaction { connection in
            try await desk.record(part: part, evaluator: asked.evaluator, scores: asked.scores, tenderID: id, actor: principal, now: clock(), on: connection)
        }
        struct Recorded: Codable { var part: String; var recorded: Int }
        return try APIResult(.ok, Recorded(part: part.rawValue, recorded: recorded)).response()
    }

    // MARK: contract

    struct ContractRequest: Codable, Sendable {
        var signedOn: String
        var milestones: [MilestonePlan]
    }

    @Sendable func signContract(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: BiddingAccess.purchasers, action: "sign contracts")
        let id = try context.uuidParameter()
        let body = try await request.collectBody()
        let asked = try decodeJSON(ContractRequest.self, from: body)
        let contracts = contracts, clock = clock
        return try await IdempotentWrite.run(request, body: body, subject: principal.subject, database: database, logger: logger) { connection in
            try APIResult(.created, try await contracts.sign(id, signedOn: asked.signedOn, milestones: asked.milestones, actor: principal, now: clock(), on: connection))
        }
    }

    @Sendable func contract(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let view = try await database.withConnection { connection in
            _ = try await store.visible(id, to: principal, on: connection)
            return try await contracts.contract(of: id, on: connection)
        }
        guard let view else { throw BiddingError.conflict("this tender has no contract yet") }
        return try APIResult(.ok, view).response()
    }

    @Sendable func deliver(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: [.organisation], action: "deliver milestones")
        let id = try context.uuidParameter()
        let milestone = try context.uuidParameter("milestone")
        struct Delivery: Codable { var note: String }
        let delivery = try decodeJSON(Delivery.self, from: try await request.collectBody())
        let contracts = contracts, clock = clock
        let view = try await database.transaction { connection in
            try await contracts.deliver(milestone, of: id, note: delivery.note, actor: principal, now: clock(), on: connection)
        }
        return try APIResult(.ok, view).response()
    }

    @Sendable func review(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: BiddingAccess.purchasers, action: "review deliverables")
        let id = try context.uuidParameter()
        let milestone = try context.uuidParameter("milestone")
        struct Review: Codable { var accepted: Bool; var note: String? }
        let review = try decodeJSON(Review.self, from: try await request.collectBody())
        let contracts = contracts, clock = clock
        let view = try await database.transaction { connection in
            try await contracts.review(milestone, of: id, accepted: review.accepted, note: review.note, actor: principal, now: clock(), on: connection)
        }
        return try APIResult(.ok, view).response()
    }

    @Sendable func pay(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: BiddingAccess.purchasers, action: "release payments")
        let id = try context.uuidParameter()
        let milestone = try context.uuidParameter("milestone")
        let body = try await request.collectBody()
        let contracts = contracts, clock = clock
        return try await IdempotentWrite.run(request, body: body, subject: principal.subject, database: database, logger: logger) { connection in
            try APIResult(.created, try await contracts.pay(milestone, of: id, actor: principal, now: clock(), on: connection))
        }
    }

    struct PerformanceRequest: Codable, Sendable {
        var score: Int
        var standards: [StandardAssessment]
        var summary: String
    }

    @Sendable func evaluatePerformance(_ request: Request, context: AppContext) async throws -> Response {
        let principal = try context.requirePrincipal(roles: BiddingAccess.purchasers, action: "evaluate performance")
        let id = try context.uuidParameter()
        let asked = try decodeJSON(PerformanceRequest.self, from: try await request.collectBody())
        let contracts = contracts, clock = clock
        let evaluated = try await database.transaction { connection in
            try await contracts.evaluatePerformance(id, score: asked.score, standards: asked.standards, summary: asked.summary, actor: principal, now: clock(), on: connection)
        }
        return try APIResult(.created, evaluated).response()
    }

    /// What the city knows of an organisation as a supplier: bids, awards, disqualifications and the
    /// performance of its completed contracts.
    struct OrganisationRecord: Codable, Sendable {
        var organisationId: UUID
        var name: String?
        var eligibleBidder: Bool?
        var bids: Int
        var awards: Int
        var disqualifications: Int
        var contracts: [ContractLine]
        var averagePerformance: Double?

        struct ContractLine: Codable, Sendable {
            var tenderId: UUID
            var contractId: UUID
            var title: String
            var valueFen: Int
            var paidFen: Int
            var status: String
            var performanceScore: Int?
        }
    }

    @Sendable func organisationRecord(_ request: Request, context: AppContext) async throws -> Response {
        _ = try context.requirePrincipal()
        let id = try context.uuidParameter()
        let record = try await database.withConnection { connection in
            var record = OrganisationRecord(organisationId: id, bids: 0, awards: 0, disqualifications: 0, contracts: [])
            for try await (name, eligible) in try await connection.query("SELECT name, eligible_bidder FROM organisation WHERE id = \(id)", logger: logger).decode((String, Bool).self) {
                record.name = name
                record.eligibleBidder = eligible
            }
            for try await (bids, awards, disqualified) in try await connection.query(
                """
                SELECT count(*)::int8, (count(*) FILTER (WHERE status = 'awarded'))::int8, (count(*) FILTER (WHERE status = 'disqualified'))::int8
                FROM bid WHERE organisation_id = \(id)
                """, logger: logger
            ).decode((Int, Int, Int).self) {
                (record.bids, record.awards, record.disqualifications) = (bids, awards, disqualified)
            }
            record.contracts = try await connection.query(
                """
                SELECT c.tender_id, c.id, t.title, c.value_fen, c.paid_fen, t.status, p.score FROM contract c JOIN tender t ON t.id = c.tender_id
                LEFT JOIN performance p ON p.contract_id = c.id WHERE c.organisation_id = \(id) ORDER BY c.created_at
                """, logger: logger
            ).collect { row in
                OrganisationRecord.ContractLine(
                    tenderId: try row["tender_id"].decode(UUID.self), contractId: try row["id"].decode(UUID.self), title: try row["title"].decode(String.self),
                    valueFen: try row["value_fen"].decode(Int.self), paidFen: try row["paid_fen"].decode(Int.self), status: try row["status"].decode(String.self),
                    performanceScore: try row["score"].decode(Int?.self))
            }
            let scores = record.contracts.compactMap(\.performanceScore)
            record.averagePerformance = scores.isEmpty ? nil : scores.reduce(0.0) { $0 + Double($1) } / Double(scores.count)
            return record
        }
        guard record.name != nil || record.bids > 0 else { throw BiddingError.notFound(what: "organisation", id: id) }
        return try APIResult(.ok, record).response()
    }

    // MARK: OCDS

    private func facts(for record: TenderRecord, on connection: PostgresConnection) async throws -> OCDS.Facts? {
        guard let project = try await store.project(record.projectId, on: connection) else { return nil }
        return OCDS.Facts(
            tender: record, project: project, bids: try await bids.bids(of: record, on: connection), contract: try await contracts.contract(of: record.id, on: connection))
    }

    @Sendable func ocdsReleases(_ request: Request, context: AppContext) async throws -> Response {
        let page = try PageRequest(request.queryValues)
        var builder = QueryBuilder()
        builder.filter(OCDS.published.map(\.rawValue)) { "t.status = ANY(\($0))" }
        let order = builder.keyset(after: page.after.flatMap(UUID.init(uuidString:)), column: "t.id", limit: page.limit)
        let prefix = ocidPrefix
        let releases = try await database.withConnection { connection in
            var releases: [OCDS.Release] = []
            for record in try await connection.query(
                builder.query("SELECT \(TenderRecord.columns) FROM \(TenderRecord.from) \(builder.whereClause) \(order)"), logger: logger
            ).collect(TenderRecord.init) {
                if let facts = try await facts(for: record, on: connection) { releases.append(OCDS.release(facts, prefix: prefix)) }
            }
            return releases
        }
        let next = Page(fetched: releases, limit: page.limit) { String($0.tender.id) }.nextCursor
        let package = OCDS.ReleasePackage(
            uri: "/public/ocds/releases", publishedDate: clock(), publisher: OCDS.Publisher(name: "City community governance platform"),
            publicationPolicy: "Tenders are published from the award on; bids are listed without their contents until bidding closed.",
            releases: Array(releases.prefix(page.limit)), nextCursor: next)
        return try APIResult(.ok, package).response()
    }

    @Sendable func ocdsTender(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.uuidParameter()
        let prefix = ocidPrefix
        let release = try await database.withConnection { connection -> OCDS.Release? in
            guard let record = try await store.find(id, on: connection), OCDS.published.contains(record.status),
                let facts = try await facts(for: record, on: connection)
            else { return nil }
            return OCDS.release(facts, prefix: prefix)
        }
        guard let release else { throw BiddingError.notFound(what: "awarded tender", id: id) }
        let package = OCDS.ReleasePackage(
            uri: "/public/ocds/tenders/\(id.uuidString.lowercased())", publishedDate: clock(), publisher: OCDS.Publisher(name: "City community governance platform"),
            publicationPolicy: "Tenders are published from the award on.", releases: [release])
        return try APIResult(.ok, package).response()
    }
}
