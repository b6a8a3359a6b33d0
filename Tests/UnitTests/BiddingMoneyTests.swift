import BiddingCore
import Contracts
import Foundation
import Testing

/// Money in bidding: every amount a caller sends is checked against `Money.largestFen`, every sum is
/// checked, and no input traps — the extremes of `Int` included.
@Suite struct BiddingMoney {
    static let largest = Money.largestFen

    @Test func checkedSumsReportOverflowInsteadOfTrapping() {
        #expect(Money.sum([Int.max, 1]) == nil)
        #expect(Money.sum([Int.min, -1]) == nil)
        #expect(Money.sum([Int.max, 0]) == Int.max)
        #expect(Money.sum([Int.max, -1, 1]) == Int.max, "a sum that comes back within range on the way is fine")
        #expect(Money.sum([]) == 0)
        #expect(Money.sum([Self.largest, Self.largest]) == 2 * Self.largest)
        #expect(Money.adding(Int.max, 1) == nil)
        #expect(Money.multiplying(Int.max, 2) == nil)
        #expect(Money.multiplying(Self.largest, 100) == 100 * Self.largest)
        // The fewest allowed amounts that pass Int.max together: the sum stops at nil.
        #expect(Money.sum(repeatElement(Self.largest, count: Int.max / Self.largest)) != nil)
        #expect(Money.sum(repeatElement(Self.largest, count: Int.max / Self.largest + 1)) == nil)
    }

    @Test func anAmountIsMoreThanZeroAndAtMostTheLargest() {
        #expect(Money.isAmount(1) && Money.isAmount(Self.largest))
        #expect(!Money.isAmount(0) && !Money.isAmount(-1) && !Money.isAmount(Self.largest + 1) && !Money.isAmount(Int.max) && !Money.isAmount(Int.min))
        #expect(Money.problem(Int.max) == "must be at most \(Self.largest) fen")
        #expect(Money.problem(-5) == "must be more than 0")
        #expect(Money.problem(Self.largest) == nil)
    }

    static func plan(costs: [Int], ceiling: Int = Money.largestFen) -> ProjectPlan {
        var plan = PurchaseRules.plan
        plan.costEstimate = costs.enumerated().map { CostItem(item: "item \($0.offset)", amountFen: $0.element) }
        plan.budgetCeilingFen = ceiling
        return plan
    }

    @Test func aCostEstimateOfIntMaxAndOneIsAFieldErrorNotATrap() {
        let plan = Self.plan(costs: [Int.max, 1])
        #expect(plan.estimateFen == nil, "the estimate does not fit in an Int")
        #expect(plan.issues().map(\.description) == ["costEstimate[0].amountFen: must be at most \(Self.largest) fen"])
    }

    @Test func anEstimateJustOverTheLimitIsOverTheCeiling() {
        // Both items are allowed amounts; together they are one fen over the largest ceiling.
        let plan = Self.plan(costs: [Self.largest, 1])
        #expect(plan.estimateFen == Self.largest + 1)
        #expect(plan.issues().map(\.field) == ["budgetCeilingFen"])
        #expect(Self.plan(costs: [Self.largest - 1, 1]).issues().isEmpty, "exactly the largest ceiling is fine")
    }

    @Test func negativeZeroAndHugeCostsAndCeilingsAreRefused() {
        #expect(Self.plan(costs: [-1, 5]).issues().map(\.field) == ["costEstimate[0].amountFen"])
        #expect(Self.plan(costs: [Int.min, Int.min]).issues().map(\.field) == ["costEstimate[0].amountFen", "costEstimate[1].amountFen"])
        #expect(Self.plan(costs: [0]).issues().map(\.field) == ["costEstimate[0].amountFen"])
        #expect(Self.plan(costs: [100], ceiling: Int.max).issues().map(\.field) == ["budgetCeilingFen"])
        #expect(Self.plan(costs: [100], ceiling: Int.min).issues().map(\.field) == ["budgetCeilingFen"])
    }

    @Test func bidPricesAndBreakdownsAreCheckedWithoutTrapping() {
        let ceiling = 500_000_00
        #expect(BidContents(priceFen: Int.max, proposal: "x").issues(ceilingFen: ceiling).map(\.description) == ["priceFen: must be at most \(Self.largest) fen"])
        #expect(BidContents(priceFen: Int.min, proposal: "x").issues(ceilingFen: ceiling).map(\.field) == ["priceFen"])
        let overflowing = BidContents(priceFen: 100, priceBreakdown: [CostItem(item: "a", amountFen: Int.max), CostItem(item: "b", amountFen: 1)], proposal: "x")
        #expect(overflowing.issues(ceilingFen: ceiling).map(\.field) == ["priceBreakdown[0]"])
        let negative = BidContents(priceFen: 100, priceBreakdown: [CostItem(item: "a", amountFen: -100), CostItem(item: "b", amountFen: 200)], proposal: "x")
        #expect(negative.issues(ceilingFen: ceiling).map(\.field) == ["priceBreakdown[0]"], "a negative item cannot make the sum come out right")
        let justOver = BidContents(priceFen: Self.largest, priceBreakdown: [CostItem(item: "a", amountFen: Self.largest), CostItem(item: "b", amountFen: 1)], proposal: "x")
        #expect(justOver.issues(ceilingFen: Self.largest).map(\.description) == ["priceBreakdown: adds up to \(Self.largest + 1) fen, not the price \(Self.largest) fen"])
    }

    @Test func milestonesAndPaymentsAreCheckedWithoutTrapping() {
        func milestone(_ amount: Int, _ day: String = "2027-01-15") -> MilestonePlan {
            MilestonePlan(title: "Step", deliverable: "A report", dueOn: day, amountFen: amount)
        }
        #expect(ContractRules.issues([milestone(Int.max), milestone(1)], contractValueFen: 100).map(\.field) == ["milestones[0].amountFen"])
        #expect(ContractRules.issues([milestone(Int.min)], contractValueFen: 100).map(\.field) == ["milestones[0].amountFen"])
        #expect(ContractRules.issues([milestone(Self.largest), milestone(1)], contractValueFen: Self.largest).map(\.field) == ["milestones"])
        #expect(ContractRules.issues([milestone(-50), milestone(150)], contractValueFen: 100).map(\.field) == ["milestones[0].amountFen"])

        #expect(ContractRules.paymentRefusal(status: .accepted, amountFen: Int.max, paidFen: 1, contractValueFen: Self.largest) != nil)
        #expect(ContractRules.paymentRefusal(status: .accepted, amountFen: 1, paidFen: Int.max, contractValueFen: Self.largest) != nil)
        #expect(ContractRules.paymentRefusal(status: .accepted, amountFen: -1, paidFen: 0, contractValueFen: 100) != nil, "a negative payment is no payment")
        #expect(ContractRules.paymentRefusal(status: .accepted, amountFen: Self.largest, paidFen: 0, contractValueFen: Self.largest) == nil)
    }

    @Test func weightsOfIntMaxAreFieldErrorsNotATrap() {
        let weights = ScoreWeights(price: Int.max, expert: Int.max, purchaser: 0, recipients: 0, thirdParty: 0)
        #expect(Set(weights.issues().map(\.field)) == ["weights.price", "weights.expert", "weights"])
        #expect(ScoreWeights(price: Int.min, expert: -1, purchaser: 0, recipients: 0, thirdParty: 0).issues().contains { $0.field == "weights" })
    }

    @Test func scoresOutOfRangeRankWithoutTrapping() {
        let weights = ScoreWeights.standard
        func bid(_ n: Int, price: Int, score: Int) -> BidForEvaluation {
            BidForEvaluation(
                bidId: UUID(uuidString: String(format: "00000000-0000-0000-0000-%012d", n))!, organisationId: UUID(), priceFen: price,
                submittedAt: Date(timeIntervalSince1970: 0),
                scores: [.expert: ["a": score, "b": score], .purchaser: ["p": score], .recipients: ["r": score], .thirdParty: ["t": score]])
        }
        let ranked = Evaluation.rank([bid(1, price: Int.max, score: Int.max), bid(2, price: 1, score: Int.min), bid(3, price: Self.largest, score: 50)], weights: weights)
        #expect(ranked.count == 3 && ranked.map(\.rank) == [1, 2, 3])
        #expect(ranked[0].bid.priceFen == Int.max, "a huge score sorts first, clamped rather than trapped")
    }
}

/// Text the database cannot store (U+0000) is a field error in every bidding rule that takes text.
@Suite struct BiddingStorableText {
    @Test func aProposalTeamOrItemHoldingNULIsRefusedWithItsField() {
        let bid = BidContents(
            priceFen: 100, priceBreakdown: [CostItem(item: "staff\u{0}", amountFen: 100)], proposal: "Weekly visits\u{0}", team: ["Li Na", "\u{0}"])
        #expect(bid.issues(ceilingFen: 1000).map(\.field) == ["proposal", "priceBreakdown[0].item", "team[1]"])
        #expect(bid.issues(ceilingFen: 1000).allSatisfy { $0.problem.contains("U+0000") })
        #expect(BidContents(priceFen: 100, proposal: #"the text \u0000 is six characters, not U+0000"#).issues(ceilingFen: 1000).isEmpty)
    }

    @Test func projectTenderAndMilestoneTextHoldingNULIsRefused() {
        var plan = PurchaseRules.plan
        plan.title = "Care\u{0}"
        plan.standards[0].target = "\u{0}2"
        #expect(plan.issues().map(\.field) == ["title", "standards[0].target"])
        let tender = TenderPlan(
            title: "T\u{0}", biddingDeadline: Date(timeIntervalSince1970: 2_000_000_000), panelFields: ["law\u{0}"], panelSize: 3, weights: .standard,
            purchaserOrganisationId: nil, thirdPartyOrganisationId: nil)
        #expect(tender.issues(now: Date(timeIntervalSince1970: 0)).map(\.field) == ["title", "panel.fields"])
        let milestone = MilestonePlan(title: "Start\u{0}", deliverable: "Report\u{0}", dueOn: "2027-01-15", amountFen: 100)
        #expect(ContractRules.issues([milestone], contractValueFen: 100).map(\.field) == ["milestones[0].title", "milestones[0].deliverable"])
    }
}
