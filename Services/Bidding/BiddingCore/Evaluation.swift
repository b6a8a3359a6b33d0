import Contracts
import Foundation

/// Who scores a bid's quality. The panel combines the purchaser, the service recipients and a third
/// party (001) with experts drawn from the pool (003).
public enum ScorePart: String, Codable, Sendable, CaseIterable {
    case expert, purchaser, recipients
    case thirdParty = "third-party"
}

/// How much each part counts, in percent; they add up to 100. Price is a part of its own.
public struct ScoreWeights: Codable, Sendable, Hashable {
    public var price: Int
    public var expert: Int
    public var purchaser: Int
    public var recipients: Int
    public var thirdParty: Int

    public init(price: Int, expert: Int, purchaser: Int, recipients: Int, thirdParty: Int) {
        self.price = price
        self.expert = expert
        self.purchaser = purchaser
        self.recipients = recipients
        self.thirdParty = thirdParty
    }

    /// Price 30, experts 40, purchaser 10, recipients 10, third party 10.
    public static let standard = ScoreWeights(price: 30, expert: 40, purchaser: 10, recipients: 10, thirdParty: 10)

    /// National procurement rules put the price of a service purchase at no less than 10% of the
    /// total; we cap it at half so that the quality of the service, not only its price, decides.
    public static let smallestPriceWeight = 10
    public static let largestPriceWeight = 50

    public func weight(of part: ScorePart) -> Int {
        switch part {
        case .expert: expert
        case .purchaser: purchaser
        case .recipients: recipients
        case .thirdParty: thirdParty
        }
    }

    public var published: [String: Int] {
        var all = ["price": price]
        for part in ScorePart.allCases { all[part.rawValue] = weight(of: part) }
        return all
    }

    public func issues() -> [FieldIssue] {
        var issues: [FieldIssue] = []
        for (name, value) in [("price", price), ("expert", expert), ("purchaser", purchaser), ("recipients", recipients), ("thirdParty", thirdParty)]
        where value < 0 || value > 100 {
            issues.append(FieldIssue("weights.\(name)", "must be 0 to 100"))
        }
        if price < Self.smallestPriceWeight || price > Self.largestPriceWeight {
            issues.append(FieldIssue("weights.price", "must be \(Self.smallestPriceWeight) to \(Self.largestPriceWeight)"))
        }
        if expert < 1 { issues.append(FieldIssue("weights.expert", "the expert panel must count (at least 1)")) }
        // Checked: a weight out of range is reported above, and must not trap the sum.
        if let sum = Money.sum([price, expert, purchaser, recipients, thirdParty]) {
            if sum != 100 { issues.append(FieldIssue("weights", "must add up to 100, not \(sum)")) }
        } else {
            issues.append(FieldIssue("weights", "must add up to 100"))
        }
        return issues
    }
}

/// A qualified bid as the evaluation sees it.
public struct BidForEvaluation: Sendable, Hashable {
    public var bidId: UUID
    public var organisationId: UUID
    public var priceFen: Int
    /// When the version that was opened was submitted.
    public var submittedAt: Date
    /// Part → evaluator → quality score out of 100.
    public var scores: [ScorePart: [String: Int]]

    public init(bidId: UUID, organisationId: UUID, priceFen: Int, submittedAt: Date, scores: [ScorePart: [String: Int]]) {
        self.bidId = bidId
        self.organisationId = organisationId
        self.priceFen = priceFen
        self.submittedAt = submittedAt
        self.scores = scores
    }
}

/// One bid's evaluated line, before it is published.
public struct EvaluatedBid: Sendable, Hashable {
    public var bid: BidForEvaluation
    /// Each part out of 100: `price` and every `ScorePart`.
    public var parts: [String: Double]
    /// Weighted total in hundredths of a point (so that ties are exact).
    public var totalHundredths: Int
    /// The panel's mean score, in hundredths of a point.
    public var expertHundredths: Int
    public var rank: Int

    public var total: Double { Double(totalHundredths) / 100 }
}

/// A score that is missing before the tender can be evaluated.
public struct MissingScore: Sendable, Hashable, CustomStringConvertible {
    public var bidId: UUID
    public var part: ScorePart
    public var evaluator: String?

    public var description: String {
        "bid \(bidId.uuidString.lowercased()) has no \(part.rawValue) score" + (evaluator.map { " from \($0)" } ?? "")
    }
}

/// The comprehensive scoring method (综合评分法): a price part and quality parts, weighted.
///
/// - price part = 100 × lowest qualified price ÷ this bid's price;
/// - expert part = the mean of the panel's scores; the other parts are one score each;
/// - total = Σ weight × part ÷ 100, rounded to two decimals.
///
/// Tie rule, in order: the higher total; then the lower price; then the experts' higher mean score
/// (their technical judgement); then the earlier submission of the opened version; then the smaller
/// bid id, so that the order is always the same.
public enum Evaluation {
    /// Scores still missing: every panel expert for every bid, and one score for each other part
    /// that has a weight.
    public static func missing(_ bids: [BidForEvaluation], weights: ScoreWeights, panel: [UUID]) -> [MissingScore] {
        var missing: [MissingScore] = []
        for bid in bids.sorted(by: { $0.bidId.uuidString < $1.bidId.uuidString }) {
            for expert in panel where bid.scores[.expert]?[expert.uuidString.lowercased()] == nil {
                missing.append(MissingScore(bidId: bid.bidId, part: .expert, evaluator: expert.uuidString.lowercased()))
            }
            for part in ScorePart.allCases where part != .expert && weights.weight(of: part) > 0 && (bid.scores[part] ?? [:]).isEmpty {
                missing.append(MissingScore(bidId: bid.bidId, part: part, evaluator: nil))
            }
        }
        return missing
    }

    /// Ranks the bids; the first is the award. Expects no missing scores.
    public static func rank(_ bids: [BidForEvaluation], weights: ScoreWeights) -> [EvaluatedBid] {
        guard let lowest = bids.map(\.priceFen).min(), lowest > 0 else { return [] }
        var lines: [EvaluatedBid] = bids.map { bid in
            var parts: [String: Double] = ["price": 100 * Double(lowest) / Double(bid.priceFen)]
            var quality = 0.0
            for part in ScorePart.allCases {
                // Summed as `Double`: scores are 0 to 100 when recorded, and no score can trap the sum.
                let given = Array((bid.scores[part] ?? [:]).values)
                let mean = given.isEmpty ? 0 : given.reduce(0.0) { $0 + Double($1) } / Double(given.count)
                parts[part.rawValue] = mean
                quality += Double(weights.weight(of: part)) * mean / 100
            }
            let total = Double(weights.price) * parts["price"]! / 100 + quality
            return EvaluatedBid(
                bid: bid, parts: parts.mapValues(roundedToHundredths), totalHundredths: hundredths(total), expertHundredths: hundredths(parts["expert"]!),
                rank: 0)
        }
        lines.sort { a, b in
            if a.totalHundredths != b.totalHundredths { return a.totalHundredths > b.totalHundredths }
            if a.bid.priceFen != b.bid.priceFen { return a.bid.priceFen < b.bid.priceFen }
            if a.expertHundredths != b.expertHundredths { return a.expertHundredths > b.expertHundredths }
            if a.bid.submittedAt != b.bid.submittedAt { return a.bid.submittedAt < b.bid.submittedAt }
            return a.bid.bidId.uuidString.lowercased() < b.bid.bidId.uuidString.lowercased()
        }
        for index in lines.indices { lines[index].rank = index + 1 }
        return lines
    }

    /// `value` in hundredths, rounded. Parts are 0 to 100 for checked scores; anything else is clamped
    /// into what an `Int` holds rather than trapping.
    static func hundredths(_ value: Double) -> Int {
        let scaled = (value * 100).rounded(.toNearestOrAwayFromZero)
        guard scaled.isFinite else { return scaled > 0 ? largestHundredths : scaled < 0 ? -largestHundredths : 0 }
        return Int(max(-Double(largestHundredths), min(Double(largestHundredths), scaled)))
    }

    /// Far beyond any real total, and exactly representable as a `Double` inside `Int`'s range.
    static let largestHundredths = 1 << 60
    static func roundedToHundredths(_ value: Double) -> Double { Double(hundredths(value)) / 100 }
}
