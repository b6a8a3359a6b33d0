import BiddingCore
import BiddingService
import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Messaging
import PostgresNIO
import ServiceRuntime
import Storage
import Testing

/// The bidding router over a fresh schema, with the registry's read model filled in by SQL: district
/// D1 with street S1 and community C1; organisations B1–B3 eligible, B4 a social group without
/// legal-person status (not eligible), B5 the street office that buys; experts E1–E5 in social work,
/// E6 in social work but tied to B1, E7 tied to the purchaser B5, E8 in finance only.
struct BiddingHarness: RouterHarness {
    static let secret = String(repeating: "b", count: 40)
    static let sealingKey = "test-bid-sealing-key-0123456789abcdef0123"
    static func organisation(_ n: Int) -> UUID { UUID(uuidString: "00000000-0000-0000-0000-0000000000B\(n)")! }
    static func expert(_ n: Int) -> UUID { UUID(uuidString: "00000000-0000-0000-0000-0000000000E\(n)")! }
    static let purchaser = organisation(5)
    static let start = MediationHarness.time("2026-11-23T10:00:00+08:00")
    static let deadline = start.addingTimeInterval(3 * 86400)
    /// Written into every proposal: it must appear nowhere before the deadline.
    static let marker = "SEALED-PROPOSAL-TEXT"

    let database: Database
    let client: any TestClientProtocol
    let authority: TokenAuthority
    let clock: TestClock
    let scheduler: TenderScheduler

    static func run(_ body: @Sendable (BiddingHarness) async throws -> Void) async throws {
        let schema = Stack.uniqueName("bid")
        try await Stack.withDatabase(schema: schema, migrations: RuntimeSchema.migrations + BiddingService.migrations) { database in
            _ = try await database.withConnection { connection in
                try await connection.query(
                    """
                    INSERT INTO known_place (code, level, name, district_code, street_code, community_code) VALUES
                      ('D1', 'district', 'East', 'D1', NULL, NULL), ('S1', 'street', 'Canal Street', 'D1', 'S1', NULL),
                      ('C1', 'community', 'Canal', 'D1', 'S1', 'C1'), ('G1', 'grid', 'Canal grid', 'D1', 'S1', 'C1')
                    """, logger: Stack.logger)
                try await connection.query(
                    """
                    INSERT INTO organisation (id, name, kind, legal_person, registration_authority, eligible_bidder) VALUES
                      (\(organisation(1)), 'Sunrise Social Work', 'private-non-enterprise', true, NULL, true),
                      (\(organisation(2)), 'Harmony Care', 'enterprise', true, 'market regulation', true),
                      (\(organisation(3)), 'Willow Foundation', 'foundation', true, NULL, true),
                      (\(organisation(4)), 'Neighbourhood Club', 'social-group', false, NULL, false),
                      (\(purchaser), 'Canal Street Office', 'institution', true, 'civil affairs', true)
                    """, logger: Stack.logger)
                for n in 1...8 {
                    let fields = n == 8 ? ["finance"] : ["social-work"]
                    let ties = n == 6 ? [organisation(1)] : n == 7 ? [purchaser] : []
                    try await connection.query(
                        """
                        INSERT INTO expert (role_id, resident_id, name, fields, affiliations, active)
                        VALUES (\(expert(n)), gen_random_uuid(), \("Expert \(n)"), \(fields), \(ties), true)
                        """, logger: Stack.logger)
                }
            }
            let clock = TestClock(start)
            let descriptor = BiddingService.descriptor(settings: BiddingSettings(sealingKey: sealingKey), clock: { clock.now })
            try await Stack.serveRouter(descriptor, schema: schema, secret: secret, database: database) { served in
                let scheduler = try #require(served.workers.first as? TenderScheduler)
                try await body(BiddingHarness(database: database, client: served.client, authority: served.authority, clock: clock, scheduler: scheduler))
            }
        }
    }

    func token(_ role: Role, _ scope: Scope = .city, subject: String = "tester", name: String? = nil) async throws -> String {
        try await authority.issue(AccessClaims(subject: subject, role: role, scope: scope, expires: Date().addingTimeInterval(600), name: name))
    }

    /// The street office's staff.
    var buyer: String { get async throws { try await token(.streetOperator, Scope(level: .street, id: "S1"), subject: "buyer", name: "Wang Fang") } }
    var district: String { get async throws { try await token(.districtOperator, Scope(level: .district, id: "D1"), subject: "district") } }
    func organisationToken(_ n: Int) async throws -> String {
        try await token(.organisation, Scope(level: .organisation, id: Self.organisation(n).uuidString.lowercased()), subject: "org-\(n)")
    }
    func expertToken(_ n: Int) async throws -> String { try await token(.expert, .city, subject: Self.expert(n).uuidString.lowercased()) }

    func count(_ sql: String) async throws -> Int { try await Stack.count(database, sql) }

    /// A project for the elderly of street S1, ceiling 500,000 yuan.
    func project() async throws -> String {
        let reply = try await call(
            .post, "/api/v1/projects", token: try await buyer,
            body: [
                "title": "Home care for elderly people living alone", "serviceKind": "care", "placeCode": "S1",
                "needsAssessment": [
                    "served": ["elderly"], "people": 120, "reasons": ["urgent-need": "42 live alone without help", "broad-benefit": "every community of the street"],
                    "whyNow": "Winter, and the last programme ended in October",
                ],
                "standards": [["name": "visits", "measure": "home visits per person per week", "target": "2"], ["name": "satisfaction", "measure": "share satisfied", "target": "90%"]],
                "costEstimate": [["item": "care workers", "amountFen": 380_000_00], ["item": "transport", "amountFen": 60_000_00]],
                "budgetCeilingFen": 500_000_00,
            ])
        #expect(reply.status == .created, "\(reply.body)")
        return try #require(reply.json["id"] as? String)
    }

    /// A published tender of a fresh project, deadline in three days, panel of three.
    func publishedTender(weights: [String: Int]? = nil) async throws -> String {
        let project = try await project()
        var body: [String: Any] = [
            "biddingDeadline": Self.deadline.formatted(.iso8601), "panel": ["fields": ["social-work"], "size": 3],
            "purchaserOrganisationId": Self.purchaser.uuidString,
        ]
        if let weights { body["weights"] = weights }
        let draft = try await call(.post, "/api/v1/projects/\(project)/tenders", token: try await buyer, body: body)
        #expect(draft.status == .created, "\(draft.body)")
        let id = try #require((draft.json["tender"] as? [String: Any])?["id"] as? String).lowercased()
        let published = try await call(.post, "/api/v1/tenders/\(id)/transitions", token: try await buyer, body: ["action": "publish"])
        #expect(published.status == .ok, "\(published.body)")
        return id
    }

    @discardableResult
    func bid(_ tender: String, by n: Int, priceFen: Int, replaces: Int? = nil) async throws -> APIReply {
        var body: [String: Any] = ["priceFen": priceFen, "proposal": "\(Self.marker) from organisation \(n)", "team": ["Li Na"]]
        if let replaces { body["replacesVersion"] = replaces }
        return try await call(.put, "/api/v1/tenders/\(tender)/bid", token: try await organisationToken(n), body: body)
    }

    /// Past the deadline, one scheduler round: bidding closes and the panel is drawn.
    func passDeadline() async throws {
        clock.set(Self.deadline.addingTimeInterval(60))
        try await scheduler.round()
    }

    func panel(_ tender: String) async throws -> [String] {
        (try await call(.get, "/api/v1/tenders/\(tender)/panel", token: try await buyer).json["panel"] as? [String] ?? []).map { $0.lowercased() }
    }

    /// The bid id of each organisation.
    func bidIDs(_ tender: String) async throws -> [Int: String] {
        var ids: [Int: String] = [:]
        for item in try await call(.get, "/api/v1/tenders/\(tender)/bids", token: try await buyer).items {
            if let organisation = (item["organisationId"] as? String).flatMap(UUID.init(uuidString:)), let n = (1...5).first(where: { Self.organisation($0) == organisation }) {
                ids[n] = item["bidId"] as? String
            }
        }
        return ids
    }

    /// B1 400,000, B2 450,000, B3 480,000 yuan; experts 60 / 80 / 70, everyone else 70: B2 wins with
    /// 26.67 + 32 + 21 = 79.67 against B1's 30 + 24 + 21 = 75 and B3's 25 + 28 + 21 = 74.
    func evaluatedTender() async throws -> (tender: String, bids: [Int: String]) {
        let tender = try await publishedTender()
        for (n, price) in [(1, 400_000_00), (2, 450_000_00), (3, 480_000_00)] {
            #expect(try await bid(tender, by: n, priceFen: price).status == .created)
        }
        try await passDeadline()
        let bids = try await bidIDs(tender)
        let expertScores = [1: 60, 2: 80, 3: 70]
        for member in try await panel(tender) {
            let reply = try await call(
                .post, "/api/v1/tenders/\(tender)/scores", token: try await token(.expert, .city, subject: member),
                body: ["part": "expert", "scores": expertScores.map { ["bidId": bids[$0.key]!, "quality": $0.value] }])
            #expect(reply.status == .ok, "\(reply.body)")
        }
        for (part, evaluator) in [("purchaser", "Wang Fang"), ("recipients", "Residents' representative Zhao"), ("third-party", "Audit firm Lin")] {
            let reply = try await call(
                .post, "/api/v1/tenders/\(tender)/scores", token: try await buyer,
                body: ["part": part, "evaluator": evaluator, "scores": bids.values.map { ["bidId": $0, "quality": 70] }])
            #expect(reply.status == .ok, "\(reply.body)")
        }
        let evaluated = try await call(.post, "/api/v1/tenders/\(tender)/transitions", token: try await buyer, body: ["action": "evaluate"])
        #expect(evaluated.status == .ok, "\(evaluated.body)")
        return (tender, bids)
    }

    func status(_ tender: String) async throws -> String? {
        ((try await call(.get, "/api/v1/tenders/\(tender)", token: try await buyer).json["summary"] as? [String: Any])?["tender"] as? [String: Any])?["status"] as? String
    }

    func eventTypes() async throws -> [String] {
        try await database.withConnection { connection in
            try await connection.query("SELECT event_type FROM outbox ORDER BY position", logger: Stack.logger).collect { try $0["event_type"].decode(String.self) }
        }
    }
}

extension IntegrationSuite {
    @Suite struct Bidding {
        @Test func aTenderRunsFromPublicationToThePerformanceEvaluationWithEveryStepRecordedAndPublished() async throws {
            try await BiddingHarness.run { bidding in
                let tender = try await bidding.publishedTender()
                let buyer = try await bidding.buyer

                // Questions are answered for everyone; who asked is not shown.
                let question = try await bidding.call(.post, "/api/v1/tenders/\(tender)/questions", token: try await bidding.organisationToken(1), body: ["question": "May two organisations bid together?"])
                #expect(question.status == .created, "\(question.body)")
                let questionID = try #require(question.json["id"] as? String)
                #expect(try await bidding.call(.post, "/api/v1/tenders/\(tender)/questions/\(questionID)/answer", token: buyer, body: ["answer": "No; one organisation per bid."]).status == .ok)
                let seen = try await bidding.call(.get, "/api/v1/tenders/\(tender)", token: try await bidding.organisationToken(3))
                let clarifications = seen.json["clarifications"] as? [[String: Any]] ?? []
                #expect(clarifications.first?["answer"] as? String == "No; one organisation per bid.")
                #expect(!seen.body.contains(BiddingHarness.organisation(1).uuidString.lowercased()))

                // Bids: one each; B2 replaces its own with a lower price.
                #expect(try await bidding.bid(tender, by: 1, priceFen: 400_000_00).status == .created)
                let first = try await bidding.bid(tender, by: 2, priceFen: 470_000_00)
                let replaced = try await bidding.bid(tender, by: 2, priceFen: 450_000_00, replaces: 1)
                #expect(replaced.status == .ok && replaced.json["version"] as? Int == 2 && replaced.json["sha256"] as? String != first.json["sha256"] as? String)
                #expect(try await bidding.bid(tender, by: 3, priceFen: 480_000_00).status == .created)
                // The tender page lists the bids, sealed: who bid and the hash, no price and no contents.
                let sealed = try #require(try await bidding.call(.get, "/api/v1/tenders/\(tender)", token: buyer).json["bids"] as? [[String: Any]])
                #expect(sealed.count == 3 && sealed.allSatisfy { $0["status"] as? String == "sealed" && $0["priceFen"] == nil && $0["contents"] == nil })
                #expect(sealed.first { ($0["organisationId"] as? String)?.lowercased() == BiddingHarness.organisation(2).uuidString.lowercased() }?["version"] as? Int == 2)

                // Nothing happens before the deadline; after it a bid is refused even before the scheduler runs.
                #expect(try await bidding.scheduler.round() == (0, 0))
                bidding.clock.set(BiddingHarness.deadline)
                let late = try await bidding.bid(tender, by: 1, priceFen: 390_000_00, replaces: 1)
                #expect(late.status == .conflict && late.body.contains("deadline"), "\(late.body)")
                try await bidding.passDeadline()
                #expect(try await bidding.status(tender) == "panel-drawn")
                #expect(try await bidding.scheduler.round() == (0, 0), "a second round changes nothing")

                // Opened: contents readable, every hash checks out, the key is published.
                let opened = try await bidding.call(.get, "/api/v1/tenders/\(tender)/bids", token: try await bidding.organisationToken(3))
                #expect(opened.items.count == 3 && opened.items.allSatisfy { $0["status"] as? String == "qualified" && $0["contents"] != nil })
                let twoVersions = opened.items.first { ($0["history"] as? [[String: Any]])?.count == 2 }
                #expect(twoVersions?["priceFen"] as? Int == 450_000_00, "the replacement is what was opened")
                let page = try #require(try await bidding.call(.get, "/api/v1/tenders/\(tender)", token: buyer).json["bids"] as? [[String: Any]])
                #expect(page.compactMap { $0["priceFen"] as? Int }.sorted() == [400_000_00, 450_000_00, 480_000_00], "the page shows opened prices")
                #expect(page.allSatisfy { ($0["contents"] as? [String: Any])?["proposal"] is String })

                // The panel: drawn from unaffiliated social-work experts, reproducible from what is recorded.
                let panel = try await bidding.call(.get, "/api/v1/tenders/\(tender)/panel", token: buyer)
                let members = try #require(panel.json["panel"] as? [String]).map { $0.lowercased() }
                let candidates = try #require(panel.json["candidates"] as? [String]).map { $0.lowercased() }
                #expect(members.count == 3)
                #expect(Set(candidates) == Set((1...5).map { BiddingHarness.expert($0).uuidString.lowercased() }), "E6 (tied to a bidder), E7 (tied to the purchaser) and E8 (finance) are out")
                let material = try #require(panel.json["seedMaterial"] as? String)
                let pool = (1...8).map { n in
                    PoolExpert(
                        id: BiddingHarness.expert(n), fields: [n == 8 ? "finance" : "social-work"],
                        affiliations: n == 6 ? [BiddingHarness.organisation(1)] : n == 7 ? [BiddingHarness.purchaser] : [])
                }
                let redone = try PanelDraw.draw(
                    seedMaterial: material, pool: pool, fields: ["social-work"],
                    excludingAffiliatesOf: Set((1...3).map(BiddingHarness.organisation) + [BiddingHarness.purchaser]), size: 3)
                #expect(redone.panel.map { $0.uuidString.lowercased() } == members)
                #expect(material.contains(tender) && material.contains(opened.items.map { $0["sha256"] as! String }.sorted().joined(separator: ",")))

                // Scores: only drawn experts score; evaluation waits for every score.
                let bids = try await bidding.bidIDs(tender)
                let outsider = (1...5).map { BiddingHarness.expert($0).uuidString.lowercased() }.first { !members.contains($0) }!
                let refused = try await bidding.call(
                    .post, "/api/v1/tenders/\(tender)/scores", token: try await bidding.token(.expert, .city, subject: outsider),
                    body: ["part": "expert", "scores": [["bidId": bids[1]!, "quality": 99]]])
                #expect(refused.status == .forbidden)
                let early = try await bidding.call(.post, "/api/v1/tenders/\(tender)/transitions", token: buyer, body: ["action": "evaluate"])
                #expect(early.status == .conflict && early.body.contains("missing"), "\(early.body)")
                for member in members {
                    _ = try await bidding.call(
                        .post, "/api/v1/tenders/\(tender)/scores", token: try await bidding.token(.expert, .city, subject: member),
                        body: ["part": "expert", "scores": [[1, 60], [2, 80], [3, 70]].map { ["bidId": bids[$0[0]]!, "quality": $0[1]] }])
                }
                for part in ["purchaser", "recipients", "third-party"] {
                    _ = try await bidding.call(
                        .post, "/api/v1/tenders/\(tender)/scores", token: buyer, body: ["part": part, "evaluator": "Panel member for \(part)", "scores": bids.values.map { ["bidId": $0, "quality": 70] }])
                }
                #expect(try await bidding.call(.post, "/api/v1/tenders/\(tender)/transitions", token: buyer, body: ["action": "evaluate"]).status == .ok)

                // The award: the best total, with the whole sheet.
                let award = try await bidding.call(.post, "/api/v1/tenders/\(tender)/transitions", token: buyer, body: ["action": "award"])
                #expect(award.status == .ok, "\(award.body)")
                #expect((award.json["organisationId"] as? String)?.lowercased() == BiddingHarness.organisation(2).uuidString.lowercased())
                let sheet = award.json["scoreSheet"] as? [[String: Any]] ?? []
                #expect(sheet.map { $0["total"] as? Double } == [79.67, 75, 74])
                #expect(sheet.map { $0["outcome"] as? String } == ["awarded", "lost", "lost"])

                // The contract: milestones must add up to the award; payment only for accepted work.
                let wrong = try await bidding.call(
                    .post, "/api/v1/tenders/\(tender)/contract", token: buyer,
                    body: ["signedOn": "2026-12-01", "milestones": [["title": "All", "deliverable": "Everything", "dueOn": "2027-06-30", "amountFen": 460_000_00]]])
                #expect(wrong.status == .badRequest && wrong.fieldsWithProblems == ["milestones"])
                let contract = try await bidding.call(
                    .post, "/api/v1/tenders/\(tender)/contract", token: buyer,
                    body: [
                        "signedOn": "2026-12-01",
                        "milestones": [
                            ["title": "Start", "deliverable": "Care workers hired and 120 people visited once", "dueOn": "2027-01-15", "amountFen": 150_000_00],
                            ["title": "Close", "deliverable": "Six months of visits, the satisfaction survey", "dueOn": "2027-06-30", "amountFen": 300_000_00],
                        ],
                    ])
                #expect(contract.status == .created, "\(contract.body)")
                let milestones = (contract.json["milestones"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                let winner = try await bidding.organisationToken(2)
                #expect(try await bidding.call(.post, "/api/v1/tenders/\(tender)/milestones/\(milestones[0])/payment", token: buyer).status == .conflict)
                #expect(try await bidding.call(.post, "/api/v1/tenders/\(tender)/milestones/\(milestones[0])/delivery", token: try await bidding.organisationToken(1), body: ["note": "not ours"]).status == .forbidden)
                for milestone in milestones {
                    #expect(try await bidding.call(.post, "/api/v1/tenders/\(tender)/milestones/\(milestone)/delivery", token: winner, body: ["note": "Delivered, see the report"]).status == .ok)
                    #expect(try await bidding.call(.post, "/api/v1/tenders/\(tender)/milestones/\(milestone)/review", token: buyer, body: ["accepted": true]).status == .ok)
                    let paid = try await bidding.call(.post, "/api/v1/tenders/\(tender)/milestones/\(milestone)/payment", token: buyer)
                    #expect(paid.status == .created, "\(paid.body)")
                    #expect(try await bidding.call(.post, "/api/v1/tenders/\(tender)/milestones/\(milestone)/payment", token: buyer).status == .conflict, "paid once")
                }
                #expect(try await bidding.count("SELECT paid_fen FROM contract") == 450_000_00)
                #expect(try await bidding.status(tender) == "completed")

                let performance = try await bidding.call(
                    .post, "/api/v1/tenders/\(tender)/performance", token: buyer,
                    body: ["score": 88, "summary": "Visits kept up all winter", "standards": [["standard": "visits", "met": true], ["standard": "satisfaction", "met": false, "note": "86%"]]])
                #expect(performance.status == .created, "\(performance.body)")
                let record = try await bidding.call(.get, "/api/v1/organisations/\(BiddingHarness.organisation(2))/record", token: try await bidding.token(.auditor))
                #expect(record.json["awards"] as? Int == 1 && record.json["averagePerformance"] as? Double == 88)

                // Every step is in the history and on bidding.events.
                let detail = try await bidding.call(.get, "/api/v1/tenders/\(tender)", token: try await bidding.token(.auditor))
                let actions = (detail.json["transitions"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
                #expect(
                    actions.filter { !["deliver-milestone", "accept-milestone", "release-payment", "answer-question"].contains($0) } == [
                        "create", "publish", "close-bidding", "draw-panel", "evaluate", "award", "sign-contract", "complete", "evaluate-performance",
                    ])
                let types = try await bidding.eventTypes()
                for type in BiddingEventTypes.all { #expect(types.contains(type.rawValue), "\(type.rawValue) published") }
                #expect(types.filter { $0 == BiddingEventTypes.bidSubmitted.rawValue }.count == 4, "every submission announced, the replacement too")

                // The public OCDS feed, without a token.
                let ocds = try await bidding.client.execute(uri: "/public/ocds/tenders/\(tender)", method: .get) { String(buffer: $0.body) }
                let package = try #require(try JSONSerialization.jsonObject(with: Data(ocds.utf8)) as? [String: Any])
                let release = try #require((package["releases"] as? [[String: Any]])?.first)
                #expect(package["version"] as? String == "1.1")
                #expect(release["ocid"] as? String == "ocds-cgov00-\(tender)")
                #expect(((release["awards"] as? [[String: Any]])?.first?["value"] as? [String: Any])?["amount"] as? Double == 450_000)
                let transactions = ((release["contracts"] as? [[String: Any]])?.first?["implementation"] as? [String: Any])?["transactions"] as? [[String: Any]]
                #expect(transactions?.count == 2)
                #expect(((release["tender"] as? [String: Any])?["numberOfTenderers"] as? Int) == 3)
                let feed = try await bidding.client.execute(uri: "/public/ocds/releases", method: .get) { String(buffer: $0.body) }
                #expect(feed.contains("ocds-cgov00-\(tender)"))
            }
        }

        @Test func bidContentsStaySealedFromEveryRoleAndTheDatabaseUntilTheDeadline() async throws {
            try await BiddingHarness.run { bidding in
                let tender = try await bidding.publishedTender()
                #expect(try await bidding.bid(tender, by: 1, priceFen: 412_345_67).status == .created)
                #expect(try await bidding.bid(tender, by: 2, priceFen: 456_789_01).status == .created)
                let readers: [String] = [
                    try await bidding.token(.cityAdmin), try await bidding.buyer, try await bidding.district, try await bidding.token(.auditor),
                    try await bidding.organisationToken(1), try await bidding.organisationToken(3), try await bidding.expertToken(1),
                    try await bidding.token(.mediator), try await bidding.token(.districtIntegrator),
                ]
                for reader in readers {
                    for path in ["/api/v1/tenders/\(tender)", "/api/v1/tenders/\(tender)/bids", "/api/v1/tenders"] {
                        let reply = try await bidding.call(.get, path, token: reader)
                        #expect(reply.status == .ok)
                        #expect(!reply.body.contains(BiddingHarness.marker) && !reply.body.contains("41234567") && !reply.body.contains("45678901"), "\(path): \(reply.body)")
                    }
                }
                // A database reader sees ciphertext, no key, no price; the events carry hashes only.
                #expect(try await bidding.count("SELECT count(*) FROM bid WHERE price_fen IS NULL AND contents IS NULL AND status = 'sealed'") == 2)
                #expect(try await bidding.count("SELECT count(*) FROM bid WHERE position(convert_to('\(BiddingHarness.marker)', 'UTF8') IN sealed) > 0") == 0)
                #expect(try await bidding.count("SELECT count(*) FROM tender WHERE sealing_key IS NOT NULL") == 0)
                #expect(try await bidding.count("SELECT count(*) FROM outbox WHERE payload::text LIKE '%\(BiddingHarness.marker)%' OR payload::text LIKE '%41234567%'") == 0)

                try await bidding.passDeadline()
                let opened = try await bidding.call(.get, "/api/v1/tenders/\(tender)/bids", token: try await bidding.organisationToken(3))
                #expect(opened.body.contains(BiddingHarness.marker) && opened.body.contains("41234567"))
                // The released key opens the stored ciphertext, and it matches the hash announced at submission.
                let key = try #require((try await bidding.call(.get, "/api/v1/tenders/\(tender)", token: try await bidding.token(.auditor)).json["summary"] as? [String: Any])?["sealingKey"] as? String)
                let stored = try await bidding.database.withConnection { connection in
                    try await connection.query("SELECT id, organisation_id, version, sha256, sealed FROM bid", logger: Stack.logger).collect { row in
                        (try row["id"].decode(UUID.self), try row["organisation_id"].decode(UUID.self), try row["version"].decode(Int.self),
                         try row["sha256"].decode(String.self), Data(buffer: try row["sealed"].decode(ByteBuffer.self)))
                    }
                }
                for (bid, organisation, version, sha, ciphertext) in stored {
                    let contents = try BidSeal.open(
                        ciphertext, key: try #require(BidSeal.releasedKey(key)), tender: try #require(UUID(uuidString: tender)), bid: bid, organisation: organisation,
                        version: version, announced: sha)
                    #expect(contents.proposal.contains(BiddingHarness.marker))
                }
                #expect(stored.count == 2)
            }
        }

        @Test func ineligibleUnknownAndDuplicateBidsAreRefusedAndChangeNothing() async throws {
            try await BiddingHarness.run { bidding in
                let tender = try await bidding.publishedTender()
                let ineligible = try await bidding.bid(tender, by: 4, priceFen: 100_000_00)
                #expect(ineligible.status == .forbidden && ineligible.body.contains("legal-person"), "\(ineligible.body)")
                let unknown = try await bidding.call(
                    .put, "/api/v1/tenders/\(tender)/bid", token: try await bidding.token(.organisation, Scope(level: .organisation, id: UUID().uuidString)),
                    body: ["priceFen": 1, "proposal": "x"])
                #expect(unknown.status == .forbidden && unknown.body.contains("not known"))
                #expect(try await bidding.bid(tender, by: 5, priceFen: 100_000_00).status == .conflict, "the purchaser may not bid")
                #expect(try await bidding.bid(tender, by: 1, priceFen: 600_000_00).status == .badRequest, "over the ceiling")
                #expect(try await bidding.call(.put, "/api/v1/tenders/\(tender)/bid", token: try await bidding.buyer, body: ["priceFen": 1, "proposal": "x"]).status == .forbidden)
                #expect(try await bidding.bid(tender, by: 1, priceFen: 300_000_00).status == .created)
                let duplicate = try await bidding.bid(tender, by: 1, priceFen: 290_000_00)
                #expect(duplicate.status == .conflict && duplicate.body.contains("replacesVersion 1"), "\(duplicate.body)")
                #expect(try await bidding.bid(tender, by: 1, priceFen: 290_000_00, replaces: 5).status == .conflict, "a stale version")
                #expect(try await bidding.count("SELECT count(*) FROM bid") == 1)
                #expect(try await bidding.count("SELECT count(*) FROM bid_submission") == 1)
                #expect(try await bidding.count("SELECT count(*) FROM outbox WHERE event_type = 'bidding.bid.submitted.v1'") == 1)
                // An organisation the registry stops listing as eligible is disqualified at opening (not lost).
                #expect(try await bidding.bid(tender, by: 2, priceFen: 310_000_00).status == .created)
                _ = try await bidding.database.withConnection { connection in
                    try await connection.query("UPDATE organisation SET eligible_bidder = false WHERE id = \(BiddingHarness.organisation(2))", logger: Stack.logger)
                }
                try await bidding.passDeadline()
                let bids = try await bidding.call(.get, "/api/v1/tenders/\(tender)/bids", token: try await bidding.buyer).items
                #expect(Set(bids.compactMap { $0["status"] as? String }) == ["qualified", "disqualified"])
                #expect(bids.first { $0["status"] as? String == "disqualified" }?["statusReason"] as? String ?? "" != "")
            }
        }

        @Test func illegalTransitionsAreRefusedWithAClearErrorAndChangeNothing() async throws {
            try await BiddingHarness.run { bidding in
                let buyer = try await bidding.buyer
                let project = try await bidding.project()
                let draft = try await bidding.call(
                    .post, "/api/v1/projects/\(project)/tenders", token: buyer,
                    body: ["biddingDeadline": BiddingHarness.deadline.formatted(.iso8601), "panel": ["fields": ["social-work"], "size": 3]])
                let tender = try #require((draft.json["tender"] as? [String: Any])?["id"] as? String)
                func step(_ action: String, _ reason: String? = nil) async throws -> APIReply {
                    var body = ["action": action]
                    body["reason"] = reason
                    return try await bidding.call(.post, "/api/v1/tenders/\(tender)/transitions", token: buyer, body: body)
                }
                for action in ["award", "evaluate"] {
                    let refused = try await step(action)
                    #expect(refused.status == .conflict && refused.body.contains("illegal-transition") && refused.body.contains("draft"), "\(refused.body)")
                }
                #expect(try await step("close-bidding").status == .conflict)
                #expect(try await step("cancel").status == .badRequest, "a cancellation needs its reason")
                #expect(try await bidding.bid(tender, by: 1, priceFen: 1).status == .notFound, "a draft is not visible to bidders")
                #expect(try await bidding.call(.post, "/api/v1/tenders/\(tender)/transitions", token: try await bidding.organisationToken(1), body: ["action": "publish"]).status == .forbidden)
                #expect(try await bidding.call(.post, "/api/v1/tenders/\(tender)/transitions", token: try await bidding.token(.streetOperator, Scope(level: .street, id: "S9")), body: ["action": "publish"]).status == .notFound)
                #expect(try await bidding.status(tender) == "draft")
                #expect(try await bidding.count("SELECT count(*) FROM tender_transition") == 1, "only the creation")

                // Bad input at creation: every problem named, nothing written.
                let bad = try await bidding.call(
                    .post, "/api/v1/projects/\(project)/tenders", token: buyer,
                    body: ["biddingDeadline": "2020-01-01T00:00:00Z", "panel": ["fields": [], "size": 4], "weights": ["price": 5, "expert": 95, "purchaser": 0, "recipients": 0, "thirdParty": 0]])
                #expect(Set(bad.fieldsWithProblems) == ["biddingDeadline", "panel.fields", "panel.size", "weights.price"], "\(bad.body)")
                #expect(try await bidding.count("SELECT count(*) FROM tender") == 1)

                #expect(try await step("publish").status == .ok)
                #expect(try await step("publish").status == .conflict)
                bidding.clock.set(BiddingHarness.deadline.addingTimeInterval(1))
                #expect(try await step("cancel", "the street's budget was cut").status == .ok)
                #expect(try await bidding.scheduler.round() == (0, 0), "a cancelled tender is not closed")
                #expect(try await step("publish").status == .conflict)
                #expect(try await bidding.count("SELECT count(*) FROM outbox WHERE event_type = 'bidding.tender.changed.v1' AND payload::text LIKE '%budget was cut%'") == 1)
            }
        }

        @Test func aComplaintSuspendsTheTenderAndItsDeadlineUntilDecided() async throws {
            try await BiddingHarness.run { bidding in
                let tender = try await bidding.publishedTender()
                #expect(try await bidding.bid(tender, by: 1, priceFen: 400_000_00).status == .created)
                bidding.clock.set(BiddingHarness.deadline.addingTimeInterval(-3600))
                let complaint = try await bidding.call(.post, "/api/v1/tenders/\(tender)/complaints", token: try await bidding.organisationToken(2), body: ["grounds": "The standards favour one organisation"])
                #expect(complaint.status == .created, "\(complaint.body)")
                let complaintID = try #require(complaint.json["id"] as? String)
                #expect(try await bidding.status(tender) == "suspended")
                #expect(try await bidding.bid(tender, by: 2, priceFen: 420_000_00).status == .conflict, "no bids while suspended")
                #expect(try await bidding.call(.post, "/api/v1/tenders/\(tender)/complaints", token: try await bidding.organisationToken(3), body: ["grounds": "again"]).status == .conflict)

                // Two days pass while it is decided: the deadline does not fire.
                bidding.clock.set(BiddingHarness.deadline.addingTimeInterval(2 * 86400 - 3600))
                #expect(try await bidding.scheduler.round() == (0, 0))
                #expect(try await bidding.call(.post, "/api/v1/tenders/\(tender)/complaints/\(complaintID)/decision", token: try await bidding.buyer, body: ["upheld": false, "note": "no"]).status == .forbidden, "the street office does not judge its own tender")
                let decided = try await bidding.call(
                    .post, "/api/v1/tenders/\(tender)/complaints/\(complaintID)/decision", token: try await bidding.district,
                    body: ["upheld": false, "note": "The standards are the district's, applied to all"])
                #expect(decided.status == .ok, "\(decided.body)")
                #expect(try await bidding.status(tender) == "published")
                // The bidders get back the two days: the deadline moved by the time suspended.
                let deadline = try #require(((decided.json["tender"] as? [String: Any])?["biddingDeadline"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
                #expect(deadline == BiddingHarness.deadline.addingTimeInterval(2 * 86400))
                #expect(try await bidding.bid(tender, by: 2, priceFen: 420_000_00).status == .created)
                let actions = (try await bidding.call(.get, "/api/v1/tenders/\(tender)", token: try await bidding.buyer).json["transitions"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
                #expect(actions.suffix(2) == ["complain", "decide-complaint"])
                let complaints = try #require(try await bidding.call(.get, "/api/v1/tenders/\(tender)", token: try await bidding.buyer).json["complaints"] as? [[String: Any]])
                #expect(complaints.count == 1 && (complaints[0]["id"] as? String)?.lowercased() == complaintID.lowercased() && complaints[0]["upheld"] as? Bool == false)
                #expect(complaints[0]["decisionNote"] as? String == "The standards are the district's, applied to all")
                let decidedAt = (complaints[0]["decidedAt"] as? String).flatMap { try? Date($0, strategy: .iso8601) }
                #expect(decidedAt == BiddingHarness.deadline.addingTimeInterval(2 * 86400 - 3600), "times come back as they were written")
            }
        }

        @Test func concurrentAwardsMakeOneAwardAndPaymentsNeverExceedIt() async throws {
            try await BiddingHarness.run { bidding in
                let (tender, _) = try await bidding.evaluatedTender()
                let buyer = try await bidding.buyer
                let district = try await bidding.district
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for token in [buyer, district, buyer, district] {
                        group.addTask { try await bidding.call(.post, "/api/v1/tenders/\(tender)/transitions", token: token, body: ["action": "award"]).status }
                    }
                    return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == .ok }.count == 1 && statuses.filter { $0 == .conflict }.count == 3, "\(statuses)")
                #expect(try await bidding.count("SELECT count(*) FROM outbox WHERE event_type = 'bidding.tender.awarded.v1'") == 1)
                #expect(try await bidding.count("SELECT count(*) FROM bid WHERE status = 'awarded'") == 1)

                let contract = try await bidding.call(
                    .post, "/api/v1/tenders/\(tender)/contract", token: buyer,
                    body: ["signedOn": "2026-12-01", "milestones": [["title": "All", "deliverable": "The year's service", "dueOn": "2027-11-30", "amountFen": 450_000_00]]])
                let milestone = try #require((contract.json["milestones"] as? [[String: Any]])?.first?["id"] as? String)
                _ = try await bidding.call(.post, "/api/v1/tenders/\(tender)/milestones/\(milestone)/delivery", token: try await bidding.organisationToken(2), body: ["note": "done"])
                _ = try await bidding.call(.post, "/api/v1/tenders/\(tender)/milestones/\(milestone)/review", token: buyer, body: ["accepted": true])
                let payments = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for _ in 0..<3 {
                        group.addTask { try await bidding.call(.post, "/api/v1/tenders/\(tender)/milestones/\(milestone)/payment", token: buyer).status }
                    }
                    return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
                }
                #expect(payments.filter { $0 == .created }.count == 1, "\(payments)")
                #expect(try await bidding.count("SELECT count(*) FROM payment") == 1)
                #expect(try await bidding.count("SELECT paid_fen FROM contract") == 450_000_00)
                // The database refuses a total over the award whatever the code does.
                await #expect(throws: (any Error).self) {
                    try await bidding.database.withConnection { connection in
                        try await connection.query("UPDATE contract SET paid_fen = value_fen + 1", logger: Stack.logger)
                    }
                }
            }
        }

        @Test func thePanelIsDrawnOnceAndATenderWithoutBidsFails() async throws {
            try await BiddingHarness.run { bidding in
                let empty = try await bidding.publishedTender()
                let (tender, _) = try await bidding.evaluatedTender()
                #expect(try await bidding.status(empty) == "failed", "no bids at the deadline")
                let before = try await bidding.panel(tender)
                // A drawn panel cannot be drawn again, by the scheduler or by hand.
                _ = try await bidding.database.withConnection { connection in
                    try await connection.query("UPDATE tender SET status = 'bidding-closed' WHERE id = \(UUID(uuidString: tender)!)", logger: Stack.logger)
                }
                #expect(try await bidding.scheduler.round() == (0, 0))
                #expect(try await bidding.panel(tender) == before)
                #expect(try await bidding.count("SELECT count(*) FROM panel_draw") == 1)
            }
        }

        @Test func aProjectWhoseCostsWouldOverflowIsRefusedWithAFieldErrorAndNothingWritten() async throws {
            try await BiddingHarness.run { bidding in
                let buyer = try await bidding.buyer
                func propose(_ costs: [Int], ceiling: Int) async throws -> APIReply {
                    try await bidding.call(
                        .post, "/api/v1/projects", token: buyer,
                        body: [
                            "title": "Home care", "serviceKind": "care", "placeCode": "S1",
                            "needsAssessment": ["served": ["elderly"], "people": 120, "reasons": ["urgent-need": "42 live alone"], "whyNow": "Winter"],
                            "standards": [["name": "visits", "measure": "home visits per person per week", "target": "2"]],
                            "costEstimate": costs.map { ["item": "care workers", "amountFen": $0] }, "budgetCeilingFen": ceiling,
                        ])
                }
                // The tester's request: it used to kill the process with an arithmetic overflow.
                let overflowing = try await propose([9_223_372_036_854_775_807, 1], ceiling: 500_000_00)
                #expect(overflowing.status == .badRequest, "\(overflowing.body)")
                #expect(overflowing.headers[.contentType] == "application/problem+json")
                #expect(overflowing.fieldsWithProblems == ["costEstimate[0].amountFen"], "\(overflowing.body)")
                #expect(overflowing.body.contains("\(Money.largestFen)"))
                // Just over the largest ceiling, a negative amount, a ceiling of Int.max: refused the same way.
                let justOver = try await propose([Money.largestFen, 1], ceiling: Money.largestFen)
                #expect(justOver.status == .badRequest && justOver.fieldsWithProblems == ["budgetCeilingFen"], "\(justOver.body)")
                #expect(try await propose([-1, 2], ceiling: 500_000_00).fieldsWithProblems == ["costEstimate[0].amountFen"])
                #expect(try await propose([1], ceiling: Int.max).fieldsWithProblems == ["budgetCeilingFen"])
                #expect(try await bidding.count("SELECT count(*) FROM project") == 0)
                #expect(try await bidding.count("SELECT count(*) FROM outbox") == 0)
                // The service is still there, and the largest estimate under the largest ceiling is taken.
                let largest = try await propose([Money.largestFen - 1, 1], ceiling: Money.largestFen)
                #expect(largest.status == .created, "\(largest.body)")
                #expect(largest.json["estimateFen"] as? Int == Money.largestFen)
            }
        }

        @Test func aBidWithNULInItsProposalIsRefusedAtSubmissionAndNothingIsStored() async throws {
            try await BiddingHarness.run { bidding in
                let tender = try await bidding.publishedTender()
                let refused = try await bidding.call(
                    .put, "/api/v1/tenders/\(tender)/bid", token: try await bidding.organisationToken(1),
                    body: ["priceFen": 400_000_00, "proposal": "Weekly visits\u{0}by two social workers", "team": ["Li Na"]])
                #expect(refused.status == .badRequest, "\(refused.body)")
                #expect(refused.headers[.contentType] == "application/problem+json")
                #expect(try await bidding.count("SELECT count(*) FROM bid") == 0)
                #expect(try await bidding.count("SELECT count(*) FROM bid_submission") == 0)
                #expect(try await bidding.count("SELECT count(*) FROM outbox WHERE event_type = '\(BiddingEventTypes.bidSubmitted.rawValue)'") == 0)
                // The same organisation's storable bid goes in.
                #expect(try await bidding.bid(tender, by: 1, priceFen: 400_000_00).status == .created)
            }
        }

        @Test func aBidThatCannotBeOpenedIsDisqualifiedWithItsReasonAndTheTenderGoesOn() async throws {
            try await BiddingHarness.run { bidding in
                let sixth = UUID(uuidString: "00000000-0000-0000-0000-0000000000B6")!
                _ = try await bidding.database.withConnection { connection in
                    try await connection.query(
                        "INSERT INTO organisation (id, name, kind, legal_person, registration_authority, eligible_bidder) VALUES (\(sixth), 'Maple Care', 'enterprise', true, 'market regulation', true)",
                        logger: Stack.logger)
                }
                let tender = try await bidding.publishedTender()
                let tenderID = try #require(UUID(uuidString: tender))
                for (n, price) in [(1, 400_000_00), (2, 450_000_00), (3, 480_000_00)] {
                    #expect(try await bidding.bid(tender, by: n, priceFen: price).status == .created)
                }
                let sixthToken = try await bidding.token(.organisation, Scope(level: .organisation, id: sixth.uuidString.lowercased()), subject: "org-6")
                let maple = try await bidding.call(.put, "/api/v1/tenders/\(tender)/bid", token: sixthToken, body: ["priceFen": 420_000_00, "proposal": "Visits by Maple Care"])
                #expect(maple.status == .created, "\(maple.body)")
                let rows = try await bidding.database.withConnection { connection in
                    try await connection.query("SELECT organisation_id, id FROM bid", logger: Stack.logger).collect { row in
                        (try row["organisation_id"].decode(UUID.self), try row["id"].decode(UUID.self))
                    }
                }
                let bidOf = Dictionary(uniqueKeysWithValues: rows)
                let (good, sealedNUL, refusedByDatabase, tampered) = (
                    try #require(bidOf[BiddingHarness.organisation(1)]), try #require(bidOf[BiddingHarness.organisation(2)]),
                    try #require(bidOf[BiddingHarness.organisation(3)]), try #require(bidOf[sixth])
                )

                // B2's row holds a bid sealed with the service's key whose proposal has U+0000 in it: what a
                // bid accepted before submission checked it looks like. It opens, but cannot be stored as opened.
                let old = try BidSeal(secret: BiddingHarness.sealingKey).seal(
                    BidContents(priceFen: 450_000_00, proposal: "\(BiddingHarness.marker) with \u{0} inside", team: ["Li Na"]), tender: tenderID,
                    bid: sealedNUL, organisation: BiddingHarness.organisation(2), version: 1)
                _ = try await bidding.database.withConnection { connection in
                    try await connection.query(
                        "UPDATE bid SET sealed = \(ByteBuffer(data: old.ciphertext)), sha256 = \(old.sha256) WHERE id = \(sealedNUL)", logger: Stack.logger)
                    // B6's ciphertext altered in the database: it does not decrypt.
                    try await connection.query("UPDATE bid SET sealed = set_byte(sealed, 20, get_byte(sealed, 20) # 1) WHERE id = \(tampered)", logger: Stack.logger)
                    // And the database itself refuses B3's price when it is written at opening.
                    try await connection.query("ALTER TABLE bid ADD CONSTRAINT refuse_one_price CHECK (price_fen IS DISTINCT FROM 48000000)", logger: Stack.logger)
                }

                try await bidding.passDeadline()
                #expect(try await bidding.status(tender) == "panel-drawn", "the tender went on past the bids it could not open")
                #expect(try await bidding.scheduler.round() == (0, 0), "and a second round has nothing left to do")

                let listed = try await bidding.call(.get, "/api/v1/tenders/\(tender)/bids", token: try await bidding.buyer).items
                func line(_ bid: UUID) -> [String: Any] { listed.first { ($0["bidId"] as? String)?.lowercased() == bid.uuidString.lowercased() } ?? [:] }
                #expect(line(good)["status"] as? String == "qualified" && line(good)["priceFen"] as? Int == 400_000_00)
                #expect((line(good)["contents"] as? [String: Any])?["proposal"] as? String == "\(BiddingHarness.marker) from organisation 1")
                for bid in [sealedNUL, refusedByDatabase, tampered] {
                    #expect(line(bid)["status"] as? String == "disqualified", "\(line(bid))")
                    #expect(line(bid)["priceFen"] == nil && line(bid)["contents"] == nil, "nothing of it was stored as opened")
                }
                let nulReason = line(sealedNUL)["statusReason"] as? String ?? ""
                #expect(nulReason.contains("proposal") && nulReason.contains("U+0000"), "\(nulReason)")
                let databaseReason = line(refusedByDatabase)["statusReason"] as? String ?? ""
                #expect(databaseReason.contains("could not be stored") && databaseReason.contains("refuse_one_price"), "\(databaseReason)")
                #expect((line(tampered)["statusReason"] as? String ?? "").contains("seal broken"))

                // The tender page shows the same reasons, and the history says how many qualified.
                let page = try await bidding.call(.get, "/api/v1/tenders/\(tender)", token: try await bidding.token(.auditor))
                let pageBids = page.json["bids"] as? [[String: Any]] ?? []
                #expect(pageBids.filter { $0["status"] as? String == "disqualified" && !($0["statusReason"] as? String ?? "").isEmpty }.count == 3)
                let close = (page.json["transitions"] as? [[String: Any]] ?? []).first { $0["action"] as? String == "close-bidding" }
                #expect(close?["reason"] as? String == "1 of 4 bids qualified")

                // The closing event lists every bid with its status and reason.
                let payloads = try await bidding.database.withConnection { connection in
                    try await connection.query(
                        "SELECT payload::text AS payload FROM outbox WHERE event_type = \(BiddingEventTypes.closed.rawValue)", logger: Stack.logger
                    ).collect { try $0["payload"].decode(String.self) }
                }
                #expect(payloads.count == 1)
                let closed = try #require(try JSONSerialization.jsonObject(with: Data((payloads.first ?? "").utf8)) as? [String: Any])
                let announced = closed["bids"] as? [[String: Any]] ?? []
                #expect(announced.count == 4)
                #expect(announced.filter { $0["status"] as? String == "disqualified" }.compactMap { $0["reason"] as? String }.count == 3)
                #expect(announced.first { ($0["bidId"] as? String)?.lowercased() == good.uuidString.lowercased() }?["status"] as? String == "qualified")
            }
        }

        @Test func theRegistryReadModelArrivesThroughTheBroker() async throws {
            try await Stack.withDatabase(schema: Stack.uniqueName("bid"), migrations: RuntimeSchema.migrations + BiddingService.migrations) { database in
                let registry = try await Stack.topic("registry-events", partitions: 3)
                let logger = Stack.logger
                let producer = try KafkaProducer(config: try Stack.kafka(), logger: logger)
                func publish(_ payload: some EventPayload, key: String) async throws {
                    let event = try CloudEvent(source: "/registry", subject: key, time: Date(), payload: payload)
                    _ = try await producer.send(OutgoingMessage(event: event, topic: registry, key: key))
                }
                let organisation = UUID(), expert = UUID()
                try await publish(
                    OrganisationRegistered(organisation: OrganisationSnapshot(id: organisation, name: "Sunrise", kind: "private-non-enterprise", legalPerson: true, registrationAuthority: nil, serves: nil, eligibleBidder: true)),
                    key: organisation.uuidString)
                try await publish(
                    RoleAssigned(
                        role: RoleSnapshot(
                            id: expert, residentId: UUID(), personName: "Prof. Gao", role: "expert", placeCode: nil, location: nil,
                            details: RoleDetails(fields: ["Social-Work"], affiliations: [organisation]), active: true, startedOn: "2026-01-01", endedOn: nil)),
                    key: expert.uuidString)
                try await publish(HouseholdRegistered(household: HouseholdSnapshot(id: UUID(), address: "x", location: PlaceLocation(district: "D1"))), key: "h")
                let group = Stack.uniqueName("bid-projection")
                let projection = InboxConsumer(
                    database: database, consumer: try KafkaConsumer(config: try Stack.kafka(), groupID: group, topics: [registry], logger: logger),
                    deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: group, logger: logger), handler: RegistryProjection(), logger: logger)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await projection.run() }
                    try await Stack.eventually(timeout: .seconds(40), "registry events consumed") { projection.statistics.consumed >= 3 }
                    tasks.cancelAll()
                }
                await producer.shutdown()
                #expect(projection.statistics.ignored == 1, "households are not needed here")
                #expect(try await Stack.count(database, "SELECT count(*) FROM organisation WHERE eligible_bidder") == 1)
                #expect(try await Stack.count(database, "SELECT count(*) FROM expert WHERE fields = '{social-work}' AND '\(organisation.uuidString.lowercased())'::uuid = ANY(affiliations)") == 1)
            }
        }
    }
}
