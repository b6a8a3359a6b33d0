import BiddingCore
import Crypto
import Foundation
import Testing

@Suite struct TenderLifecycle {
    /// Every action with a representative argument.
    static let actions: [TenderAction] = [
        .publish, .complain, .decideComplaint(upheld: false), .closeBidding(qualifiedBids: 2), .drawPanel, .evaluate(qualifiedBids: 2), .award,
        .cancel(reason: "budget withdrawn"), .signContract, .complete, .evaluatePerformance,
    ]

    /// The legal moves, written out by hand from the lifecycle; everything else must be refused.
    static let legal: [TenderStatus: Set<String>] = [
        .draft: ["publish", "cancel"],
        .published: ["complain", "close-bidding", "cancel"],
        .suspended: ["decide-complaint", "cancel"],
        .biddingClosed: ["complain", "draw-panel", "cancel"],
        .panelDrawn: ["complain", "evaluate", "cancel"],
        .evaluated: ["complain", "award", "cancel"],
        .awarded: ["sign-contract"],
        .contracted: ["complete"],
        .completed: ["evaluate-performance"],
        .failed: [], .cancelled: [], .performanceEvaluated: [],
    ]

    @Test(arguments: TenderStatus.allCases)
    func everyIllegalTransitionIsRefusedWithAHint(status: TenderStatus) {
        let state = TenderState(status: status, suspendedFrom: status == .suspended ? .published : nil)
        for action in Self.actions {
            let allowed = Self.legal[status]!.contains(action.name)
            do {
                _ = try state.applying(action)
                #expect(allowed, "\(status.rawValue) accepted \(action.name)")
            } catch {
                #expect(!allowed, "\(status.rawValue) refused \(action.name)")
                #expect(error.status == status && error.action == action.name && !error.hint.isEmpty)
            }
        }
    }

    @Test func theHappyPathEndsEvaluated() throws {
        var state = TenderState()
        for action: TenderAction in [.publish, .closeBidding(qualifiedBids: 2), .drawPanel, .evaluate(qualifiedBids: 2), .award, .signContract, .complete, .evaluatePerformance] {
            state = try state.applying(action)
        }
        #expect(state.status == .performanceEvaluated)
    }

    @Test func noQualifiedBidFailsTheTender() throws {
        #expect(try TenderState(status: .published).applying(.closeBidding(qualifiedBids: 0)).status == .failed)
        #expect(try TenderState(status: .panelDrawn).applying(.evaluate(qualifiedBids: 0)).status == .failed)
    }

    @Test func aComplaintSuspendsAndTheDecisionResumes() throws {
        let suspended = try TenderState(status: .biddingClosed).applying(.complain)
        #expect(suspended == TenderState(status: .suspended, suspendedFrom: .biddingClosed))
        #expect(!suspended.bidsOpened || suspended.suspendedFrom != .published)
        #expect(try suspended.applying(.decideComplaint(upheld: true)).status == .biddingClosed)
        // Upheld against the evaluation: the panel scores again; dismissed: evaluated as before.
        let againstEvaluation = try TenderState(status: .evaluated).applying(.complain)
        #expect(try againstEvaluation.applying(.decideComplaint(upheld: true)).status == .panelDrawn)
        #expect(try againstEvaluation.applying(.decideComplaint(upheld: false)).status == .evaluated)
        // A second complaint waits for the first.
        #expect(throws: IllegalTenderTransition.self) { try suspended.applying(.complain) }
    }

    @Test func bidsAreOpenOnlyAfterTheDeadline() {
        #expect(!TenderState(status: .draft).bidsOpened)
        #expect(!TenderState(status: .published).bidsOpened)
        #expect(!TenderState(status: .suspended, suspendedFrom: .published).bidsOpened)
        #expect(TenderState(status: .suspended, suspendedFrom: .panelDrawn).bidsOpened)
        #expect(TenderState(status: .biddingClosed).bidsOpened)
    }
}

@Suite struct SealedBids {
    let seal = BidSeal(secret: "unit-test-sealing-secret-0123456789abcdef")
    let tender = UUID(), bid = UUID(), organisation = UUID()
    let contents = BidContents(priceFen: 480_000_00, proposal: "Weekly home visits by two social workers", team: ["Li Na, social worker"])

    @Test func aSealedBidOpensOnlyWithItsTendersKeyAndPlace() throws {
        let sealed = try seal.seal(contents, tender: tender, bid: bid, organisation: organisation, version: 1)
        #expect(!String(decoding: sealed.ciphertext, as: UTF8.self).contains("social workers"))
        let opened = try BidSeal.open(sealed.ciphertext, key: seal.tenderKey(tender), tender: tender, bid: bid, organisation: organisation, version: 1, announced: sealed.sha256)
        #expect(opened == contents)
        // Another tender's key, or the ciphertext moved to another bid or version, does not open it.
        #expect(throws: SealBroken.undecryptable) {
            try BidSeal.open(sealed.ciphertext, key: seal.tenderKey(UUID()), tender: tender, bid: bid, organisation: organisation, version: 1, announced: sealed.sha256)
        }
        #expect(throws: SealBroken.undecryptable) {
            try BidSeal.open(sealed.ciphertext, key: seal.tenderKey(tender), tender: tender, bid: UUID(), organisation: organisation, version: 1, announced: sealed.sha256)
        }
        #expect(throws: SealBroken.undecryptable) {
            try BidSeal.open(sealed.ciphertext, key: seal.tenderKey(tender), tender: tender, bid: bid, organisation: organisation, version: 2, announced: sealed.sha256)
        }
    }

    @Test func tamperingShows() throws {
        let sealed = try seal.seal(contents, tender: tender, bid: bid, organisation: organisation, version: 1)
        var flipped = sealed.ciphertext
        flipped[flipped.count / 2] ^= 0x01
        #expect(throws: SealBroken.undecryptable) {
            try BidSeal.open(flipped, key: seal.tenderKey(tender), tender: tender, bid: bid, organisation: organisation, version: 1, announced: sealed.sha256)
        }
        // A valid ciphertext of other contents (a bid swapped by someone holding the key) fails the announced hash.
        let other = try seal.seal(BidContents(priceFen: 1, proposal: "x"), tender: tender, bid: bid, organisation: organisation, version: 1)
        #expect(throws: SealBroken.self) {
            try BidSeal.open(other.ciphertext, key: seal.tenderKey(tender), tender: tender, bid: bid, organisation: organisation, version: 1, announced: sealed.sha256)
        }
    }

    @Test func theAnnouncedHashGivesNothingAway() throws {
        // The same contents sealed twice hash differently (a random salt), so a price cannot be guessed.
        let first = try seal.seal(contents, tender: tender, bid: bid, organisation: organisation, version: 1)
        let second = try seal.seal(contents, tender: tender, bid: bid, organisation: organisation, version: 1)
        #expect(first.sha256 != second.sha256 && first.sha256.count == 64)
    }

    @Test func bidRulesAtSubmission() {
        #expect(contents.issues(ceilingFen: 500_000_00).isEmpty)
        #expect(contents.issues(ceilingFen: 400_000_00).map(\.field) == ["priceFen"])
        let broken = BidContents(priceFen: 100, priceBreakdown: [CostItem(item: "staff", amountFen: 60)], proposal: " ")
        #expect(Set(broken.issues(ceilingFen: 1000).map(\.field)) == ["proposal", "priceBreakdown"])
    }
}

@Suite struct ExpertPanelDraw {
    static func expert(_ n: Int, fields: Set<String> = ["social-work"], affiliations: Set<UUID> = []) -> PoolExpert {
        PoolExpert(id: UUID(uuidString: String(format: "00000000-0000-0000-0000-%012d", n))!, fields: fields, affiliations: affiliations)
    }

    let bidder = UUID(), purchaser = UUID()
    var pool: [PoolExpert] {
        (1...12).map { Self.expert($0) } + [
            Self.expert(13, affiliations: [bidder]), Self.expert(14, affiliations: [purchaser]), Self.expert(15, fields: ["finance"]),
        ]
    }

    @Test func theDrawIsReproducibleAndExcludesAffiliatedExperts() throws {
        let material = PanelDraw.seedMaterial(tender: UUID(), deadline: Date(timeIntervalSince1970: 1_790_000_000), bidHashes: ["bb", "aa"])
        let first = try PanelDraw.draw(seedMaterial: material, pool: pool, fields: ["social-work"], excludingAffiliatesOf: [bidder, purchaser], size: 5)
        let again = try PanelDraw.draw(seedMaterial: material, pool: pool.reversed(), fields: ["social-work"], excludingAffiliatesOf: [bidder, purchaser], size: 5)
        #expect(first == again, "the same inputs in any order give the same panel")
        #expect(first.panel.count == 5 && Set(first.panel).count == 5)
        #expect(Set(first.panel).isSubset(of: Set(first.candidates)))
        #expect(first.candidates.count == 12, "the finance expert and the two affiliated ones are not candidates")
        #expect(Set(first.excluded.map(\.expertId)) == [Self.expert(13).id, Self.expert(14).id])
        #expect(first.seed == BidSeal.hex(SHA256.hash(data: Data(material.utf8))))
        #expect(material.hasSuffix("bids=aa,bb"), "hashes are sorted into the seed material")
    }

    @Test func anotherSeedGivesAnotherPanelAndEveryCandidateCanBeDrawn() throws {
        var seen: Set<UUID> = []
        var panels: Set<[UUID]> = []
        for n in 0..<200 {
            let result = try PanelDraw.draw(seedMaterial: "tender=\(n)", pool: pool, fields: ["social-work"], excludingAffiliatesOf: [bidder, purchaser], size: 3)
            seen.formUnion(result.panel)
            panels.insert(result.panel)
        }
        #expect(seen.count == 12)
        #expect(panels.count > 150)
    }

    @Test func tooFewCandidatesIsAShortfall() {
        #expect(throws: PanelShortfall(needed: 3, available: 1, fields: ["finance"])) {
            try PanelDraw.draw(seedMaterial: "x", pool: pool, fields: ["finance"], excludingAffiliatesOf: [], size: 3)
        }
    }
}

@Suite struct ComprehensiveScoring {
    static func bid(_ n: Int, price: Int, experts: [Int], others: Int, at second: Double = 0) -> BidForEvaluation {
        var scores: [ScorePart: [String: Int]] = [.expert: [:]]
        for (index, score) in experts.enumerated() { scores[.expert]!["e\(index)"] = score }
        for part in [ScorePart.purchaser, .recipients, .thirdParty] { scores[part] = ["someone": others] }
        return BidForEvaluation(
            bidId: UUID(uuidString: String(format: "00000000-0000-0000-0000-%012d", n))!, organisationId: UUID(), priceFen: price,
            submittedAt: Date(timeIntervalSince1970: second), scores: scores)
    }

    @Test func priceAndQualityAreWeighted() {
        // Price 30: the cheapest gets 30; the dearer 30 × 80/100 = 24. Quality 70 of the mean scores.
        let lines = Evaluation.rank([Self.bid(1, price: 100, experts: [60, 70, 80], others: 70), Self.bid(2, price: 80, experts: [50, 50, 50], others: 50)], weights: .standard)
        #expect(lines.map(\.rank) == [1, 2])
        #expect(lines[0].bid.priceFen == 100 && lines[0].totalHundredths == 24_00 + 49_00)
        #expect(lines[1].totalHundredths == 30_00 + 35_00)
        #expect(lines[0].parts["price"] == 80 && lines[0].parts["expert"] == 70)
    }

    @Test func theTotalDecidesFirst() {
        let weights = ScoreWeights(price: 10, expert: 90, purchaser: 0, recipients: 0, thirdParty: 0)
        let cheap = Self.bid(1, price: 50, experts: [0], others: 0)  // 10 + 0 = 10
        let good = Self.bid(2, price: 100, experts: [10], others: 0)  // 5 + 9 = 14
        #expect(Evaluation.rank([cheap, good], weights: weights).map(\.bid.bidId) == [good.bidId, cheap.bidId])
    }

    @Test func equalTotalAndPriceGoToTheExpertsThenTheEarlierBid() {
        // Same price and total, but the experts preferred the second (the recipients the first).
        let weights = ScoreWeights.standard
        var first = Self.bid(1, price: 100, experts: [70], others: 70)
        first.scores[.recipients] = ["rep": 90]  // recipients +2 points …
        var second = Self.bid(2, price: 100, experts: [75], others: 70)
        second.scores[.recipients] = ["rep": 70]  // … experts +2 points
        let ranked = Evaluation.rank([first, second], weights: weights)
        #expect(ranked[0].totalHundredths == ranked[1].totalHundredths)
        #expect(ranked.map(\.bid.bidId) == [second.bidId, first.bidId])
        let later = Self.bid(3, price: 100, experts: [70], others: 0, at: 20)
        let earlier = Self.bid(4, price: 100, experts: [70], others: 0, at: 10)
        #expect(Evaluation.rank([later, earlier], weights: weights).map(\.bid.bidId) == [earlier.bidId, later.bidId])
    }

    @Test func anExactTieOnTotalGoesToTheLowerPrice() {
        // price 20: 100 → 20 × 0.8 = 16, 80 → 20; experts 80: 100 × 0.8 × … chosen so totals match exactly.
        let weights = ScoreWeights(price: 20, expert: 80, purchaser: 0, recipients: 0, thirdParty: 0)
        let dear = Self.bid(1, price: 100, experts: [80], others: 0)  // 16 + 64 = 80
        let cheap = Self.bid(2, price: 80, experts: [75], others: 0)  // 20 + 60 = 80
        let ranked = Evaluation.rank([dear, cheap], weights: weights)
        #expect(ranked[0].totalHundredths == ranked[1].totalHundredths)
        #expect(ranked.first?.bid.bidId == cheap.bidId)
    }

    @Test func missingScoresAreNamed() {
        let panel = [UUID(), UUID()]
        var bid = Self.bid(1, price: 100, experts: [], others: 50)
        bid.scores[.expert] = [panel[0].uuidString.lowercased(): 70]
        bid.scores[.recipients] = [:]
        let missing = Evaluation.missing([bid], weights: .standard, panel: panel)
        #expect(missing.map(\.part) == [.expert, .recipients])
        #expect(missing[0].evaluator == panel[1].uuidString.lowercased())
    }

    @Test func weightsMustAddUpAndPriceMustCount() {
        #expect(ScoreWeights.standard.issues().isEmpty)
        #expect(ScoreWeights(price: 5, expert: 95, purchaser: 0, recipients: 0, thirdParty: 0).issues().map(\.field) == ["weights.price"])
        #expect(ScoreWeights(price: 30, expert: 40, purchaser: 10, recipients: 10, thirdParty: 0).issues().map(\.field) == ["weights"])
    }
}

@Suite struct PurchaseRules {
    static let plan = ProjectPlan(
        title: "Home care for elderly people living alone", serviceKind: "care", placeCode: "S1",
        needsAssessment: NeedsAssessment(served: ["elderly"], people: 120, reasons: ["urgent-need": "42 live alone"], whyNow: "winter"),
        standards: [ServiceStandard(name: "visits", measure: "visits per person per week", target: "2")],
        costEstimate: [CostItem(item: "staff", amountFen: 300_000_00), CostItem(item: "transport", amountFen: 50_000_00)], budgetCeilingFen: 400_000_00)

    @Test func aProjectNeedsItsAssessmentStandardsAndAnEstimateUnderTheCeiling() {
        #expect(Self.plan.issues().isEmpty)
        var over = Self.plan
        over.budgetCeilingFen = 300_000_00
        #expect(over.issues().map(\.field) == ["budgetCeilingFen"])
        var empty = Self.plan
        empty.needsAssessment = NeedsAssessment(served: ["pets"], people: 0, reasons: ["cheap": "yes"], whyNow: "")
        empty.standards = []
        #expect(
            Set(empty.issues().map(\.field))
                == ["needsAssessment.served[0]", "needsAssessment.people", "needsAssessment.reasons.cheap", "needsAssessment.whyNow", "standards"])
    }

    @Test func milestonesCoverTheAwardExactly() {
        let milestones = [
            MilestonePlan(title: "Start", deliverable: "Team in place", dueOn: "2027-01-15", amountFen: 100),
            MilestonePlan(title: "Half way", deliverable: "Report", dueOn: "2027-06-30", amountFen: 200),
        ]
        #expect(ContractRules.issues(milestones, contractValueFen: 300).isEmpty)
        #expect(ContractRules.issues(milestones, contractValueFen: 299).map(\.field) == ["milestones"])
        var badDate = milestones
        badDate[1].dueOn = "2027-02-30"
        #expect(ContractRules.issues(badDate, contractValueFen: 300).map(\.field) == ["milestones[1].dueOn"])
    }

    @Test func paymentsFollowAcceptedWorkAndNeverExceedTheContract() {
        #expect(ContractRules.paymentRefusal(status: .accepted, amountFen: 100, paidFen: 200, contractValueFen: 300) == nil)
        #expect(ContractRules.paymentRefusal(status: .delivered, amountFen: 100, paidFen: 0, contractValueFen: 300) != nil)
        #expect(ContractRules.paymentRefusal(status: .paid, amountFen: 100, paidFen: 100, contractValueFen: 300) != nil)
        #expect(ContractRules.paymentRefusal(status: .accepted, amountFen: 101, paidFen: 200, contractValueFen: 300) != nil)
    }

    @Test func eligibilityReasons() {
        #expect(BidderEligibility.refusal(known: true, eligible: true, kind: "social-group", legalPerson: true, registrationAuthority: nil) == nil)
        #expect(BidderEligibility.refusal(known: false, eligible: false, kind: nil, legalPerson: false, registrationAuthority: nil)?.contains("not known") == true)
        #expect(BidderEligibility.refusal(known: true, eligible: false, kind: "social-group", legalPerson: false, registrationAuthority: nil)?.contains("legal-person") == true)
        #expect(BidderEligibility.refusal(known: true, eligible: false, kind: "enterprise", legalPerson: true, registrationAuthority: nil)?.contains("commerce") == true)
        #expect(BidderEligibility.refusal(known: true, eligible: false, kind: "residents-committee", legalPerson: false, registrationAuthority: nil) != nil)
    }
}
