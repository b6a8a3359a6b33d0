import Foundation

// The bidding service's public contract on `bidding.events`, keyed by the tender id so that a
// tender's events stay in order. Amounts are in fen (1/100 yuan), whole numbers. No event ever
// carries a bid's contents before bidding closes: a submission is announced by its SHA-256 only.

/// A tender as the public and other services see it.
public struct TenderSnapshot: Codable, Sendable, Hashable {
    public var id: UUID
    public var projectId: UUID
    public var title: String
    /// draft, published, suspended, bidding-closed, panel-drawn, evaluated, awarded, failed, cancelled,
    /// contracted, completed, performance-evaluated.
    public var status: String
    public var serviceKind: String
    /// The district, street or community the purchase serves.
    public var placeCode: String
    public var location: PlaceLocation
    public var ceilingFen: Int
    public var biddingDeadline: Date?
    public var publishedAt: Date?
    public var awardedOrganisationId: UUID?
    public var awardedFen: Int?

    public init(
        id: UUID, projectId: UUID, title: String, status: String, serviceKind: String, placeCode: String, location: PlaceLocation,
        ceilingFen: Int, biddingDeadline: Date?, publishedAt: Date?, awardedOrganisationId: UUID?, awardedFen: Int?
    ) {
        self.id = id
        self.projectId = projectId
        self.title = title
        self.status = status
        self.serviceKind = serviceKind
        self.placeCode = placeCode
        self.location = location
        self.ceilingFen = ceilingFen
        self.biddingDeadline = biddingDeadline
        self.publishedAt = publishedAt
        self.awardedOrganisationId = awardedOrganisationId
        self.awardedFen = awardedFen
    }
}

/// One recorded transition of a tender: published, suspended, resumed, cancelled, failed, evaluated,
/// contracted, completed. `type` of the event says which family it belongs to.
public struct TenderTransitioned: Codable, Sendable, Hashable {
    public var tender: TenderSnapshot
    public var action: String
    public var fromStatus: String?
    public var actor: String
    public var reason: String?

    public init(tender: TenderSnapshot, action: String, fromStatus: String?, actor: String, reason: String?) {
        self.tender = tender
        self.action = action
        self.fromStatus = fromStatus
        self.actor = actor
        self.reason = reason
    }
}

/// A sealed bid was submitted (or replaced): who, when, and the SHA-256 of the sealed contents, so
/// that anyone can check later that the opened bid is the one submitted. Never the contents.
public struct BidSubmitted: Codable, Sendable, Hashable {
    public var tenderId: UUID
    public var bidId: UUID
    public var organisationId: UUID
    /// 1 for the first submission, then one more for each replacement.
    public var version: Int
    /// Hex SHA-256 of the sealed plaintext (a random salt and the contents).
    public var sha256: String
    public var submittedAt: Date

    public init(tenderId: UUID, bidId: UUID, organisationId: UUID, version: Int, sha256: String, submittedAt: Date) {
        self.tenderId = tenderId
        self.bidId = bidId
        self.organisationId = organisationId
        self.version = version
        self.sha256 = sha256
        self.submittedAt = submittedAt
    }
}

/// A bid as it stood when bidding closed.
public struct OpenedBid: Codable, Sendable, Hashable {
    public var bidId: UUID
    public var organisationId: UUID
    public var sha256: String
    /// `qualified` or `disqualified`.
    public var status: String
    public var reason: String?

    public init(bidId: UUID, organisationId: UUID, sha256: String, status: String, reason: String?) {
        self.bidId = bidId
        self.organisationId = organisationId
        self.sha256 = sha256
        self.status = status
        self.reason = reason
    }
}

/// The deadline passed: the tender's sealing key is released (base64), so that anyone holding a
/// ciphertext can open it and check its hash; every bid is listed with its hash and standing.
public struct BiddingClosed: Codable, Sendable, Hashable {
    public var tender: TenderSnapshot
    public var sealingKey: String
    public var bids: [OpenedBid]

    public init(tender: TenderSnapshot, sealingKey: String, bids: [OpenedBid]) {
        self.tender = tender
        self.sealingKey = sealingKey
        self.bids = bids
    }
}

/// The expert panel, with everything needed to redo the draw: the seed, what it was made from, and
/// the candidates in the order the draw used.
public struct PanelDrawn: Codable, Sendable, Hashable {
    public var tenderId: UUID
    /// Hex SHA-256 of `seedMaterial`.
    public var seed: String
    public var seedMaterial: String
    public var fields: [String]
    public var candidates: [UUID]
    public var excluded: [UUID]
    public var panel: [UUID]
    public var drawnAt: Date

    public init(tenderId: UUID, seed: String, seedMaterial: String, fields: [String], candidates: [UUID], excluded: [UUID], panel: [UUID], drawnAt: Date) {
        self.tenderId = tenderId
        self.seed = seed
        self.seedMaterial = seedMaterial
        self.fields = fields
        self.candidates = candidates
        self.excluded = excluded
        self.panel = panel
        self.drawnAt = drawnAt
    }
}

/// One bid's line on the published score sheet.
public struct ScoreLine: Codable, Sendable, Hashable {
    public var bidId: UUID
    public var organisationId: UUID
    public var priceFen: Int
    /// Each part out of 100 before weighting: `price`, `expert`, `purchaser`, `recipients`, `third-party`.
    public var parts: [String: Double]
    /// The weighted total out of 100, rounded to two decimals.
    public var total: Double
    /// 1 is the award; bids with equal totals are ordered by the documented tie rule.
    public var rank: Int
    /// `awarded` or `lost`.
    public var outcome: String

    public init(bidId: UUID, organisationId: UUID, priceFen: Int, parts: [String: Double], total: Double, rank: Int, outcome: String) {
        self.bidId = bidId
        self.organisationId = organisationId
        self.priceFen = priceFen
        self.parts = parts
        self.total = total
        self.rank = rank
        self.outcome = outcome
    }
}

/// The award and the full score sheet it rests on.
public struct TenderAwarded: Codable, Sendable, Hashable {
    public var tender: TenderSnapshot
    public var bidId: UUID
    public var organisationId: UUID
    public var priceFen: Int
    /// The weights used, in percent: `price`, `expert`, `purchaser`, `recipients`, `third-party`.
    public var weights: [String: Int]
    public var scoreSheet: [ScoreLine]
    public var disqualified: [OpenedBid]

    public init(
        tender: TenderSnapshot, bidId: UUID, organisationId: UUID, priceFen: Int, weights: [String: Int], scoreSheet: [ScoreLine],
        disqualified: [OpenedBid]
    ) {
        self.tender = tender
        self.bidId = bidId
        self.organisationId = organisationId
        self.priceFen = priceFen
        self.weights = weights
        self.scoreSheet = scoreSheet
        self.disqualified = disqualified
    }
}

/// A milestone's deliverable was accepted by the purchaser; its payment may now be released.
public struct MilestoneAccepted: Codable, Sendable, Hashable {
    public var tenderId: UUID
    public var contractId: UUID
    public var milestoneId: UUID
    public var title: String
    public var amountFen: Int
    public var acceptedAt: Date

    public init(tenderId: UUID, contractId: UUID, milestoneId: UUID, title: String, amountFen: Int, acceptedAt: Date) {
        self.tenderId = tenderId
        self.contractId = contractId
        self.milestoneId = milestoneId
        self.title = title
        self.amountFen = amountFen
        self.acceptedAt = acceptedAt
    }
}

/// Money paid for an accepted milestone; `paidTotalFen` never exceeds `contractValueFen`.
public struct PaymentReleased: Codable, Sendable, Hashable {
    public var tenderId: UUID
    public var contractId: UUID
    public var milestoneId: UUID
    public var organisationId: UUID
    public var amountFen: Int
    public var paidTotalFen: Int
    public var contractValueFen: Int
    public var releasedAt: Date

    public init(
        tenderId: UUID, contractId: UUID, milestoneId: UUID, organisationId: UUID, amountFen: Int, paidTotalFen: Int, contractValueFen: Int,
        releasedAt: Date
    ) {
        self.tenderId = tenderId
        self.contractId = contractId
        self.milestoneId = milestoneId
        self.organisationId = organisationId
        self.amountFen = amountFen
        self.paidTotalFen = paidTotalFen
        self.contractValueFen = contractValueFen
        self.releasedAt = releasedAt
    }
}

/// The final performance evaluation of a completed contract, which joins the organisation's record.
public struct PerformanceEvaluated: Codable, Sendable, Hashable {
    public var tenderId: UUID
    public var contractId: UUID
    public var organisationId: UUID
    /// Out of 100.
    public var score: Int
    /// How many of the project's standards were met, of how many.
    public var standardsMet: Int
    public var standardsTotal: Int
    public var summary: String
    public var evaluatedAt: Date

    public init(
        tenderId: UUID, contractId: UUID, organisationId: UUID, score: Int, standardsMet: Int, standardsTotal: Int, summary: String, evaluatedAt: Date
    ) {
        self.tenderId = tenderId
        self.contractId = contractId
        self.organisationId = organisationId
        self.score = score
        self.standardsMet = standardsMet
        self.standardsTotal = standardsTotal
        self.summary = summary
        self.evaluatedAt = evaluatedAt
    }
}

/// The event types on `bidding.events` and the payload each carries.
public enum BiddingEventTypes {
    /// `TenderTransitioned`.
    public static let published: EventType = "bidding.tender.published.v1"
    /// `TenderTransitioned`: suspended, resumed, cancelled, failed, evaluated, contracted, completed.
    public static let changed: EventType = "bidding.tender.changed.v1"
    /// `BidSubmitted`.
    public static let bidSubmitted: EventType = "bidding.bid.submitted.v1"
    /// `BiddingClosed`.
    public static let closed: EventType = "bidding.bidding.closed.v1"
    /// `PanelDrawn`.
    public static let panelDrawn: EventType = "bidding.panel.drawn.v1"
    /// `TenderAwarded`.
    public static let awarded: EventType = "bidding.tender.awarded.v1"
    /// `MilestoneAccepted`.
    public static let milestoneAccepted: EventType = "bidding.milestone.accepted.v1"
    /// `PaymentReleased`.
    public static let paymentReleased: EventType = "bidding.payment.released.v1"
    /// `PerformanceEvaluated`.
    public static let performanceEvaluated: EventType = "bidding.performance.evaluated.v1"

    public static let all: [EventType] = [
        published, changed, bidSubmitted, closed, panelDrawn, awarded, milestoneAccepted, paymentReleased, performanceEvaluated,
    ]
}
