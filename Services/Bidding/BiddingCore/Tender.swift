import Foundation

/// Where a tender stands. The path is the one government purchase of services takes (001 §(四)3,
/// 003): published with questions answered in the open, closed at the deadline, a panel drawn at
/// random, evaluated, awarded (or failed, or cancelled), then the contract, its milestones, completion
/// and the final performance evaluation. A complaint suspends the tender until it is decided.
public enum TenderStatus: String, Codable, Sendable, CaseIterable {
    case draft
    case published
    /// A bidder's complaint stops the clock and every step until it is decided.
    case suspended
    case biddingClosed = "bidding-closed"
    case panelDrawn = "panel-drawn"
    case evaluated
    case awarded
    /// No eligible bid: nothing to award.
    case failed
    case cancelled
    case contracted
    case completed
    case performanceEvaluated = "performance-evaluated"

    /// Before the award: a bidder may still complain, and the purchaser may still cancel.
    public var isBeforeAward: Bool {
        switch self {
        case .draft, .published, .suspended, .biddingClosed, .panelDrawn, .evaluated: true
        default: false
        }
    }

    /// Bid contents may be read: the deadline passed and the bids were opened.
    public var bidsOpened: Bool {
        switch self {
        case .draft, .published: false
        case .suspended: false  // decided by where it was suspended from; see `TenderState.bidsOpened`
        default: true
        }
    }
}

/// Something that happens to a tender. Each is one recorded transition.
public enum TenderAction: Sendable, Hashable {
    case publish
    /// A bidder's complaint; the tender remembers where it stood.
    case complain
    /// The complaint decided. Upheld against an evaluation sends the tender back to the panel.
    case decideComplaint(upheld: Bool)
    /// The deadline passed (the scheduler's step). With no qualified bid the tender fails.
    case closeBidding(qualifiedBids: Int)
    case drawPanel
    /// Every score is in. With no qualified bid left the tender fails.
    case evaluate(qualifiedBids: Int)
    case award
    case cancel(reason: String)
    case signContract
    /// Every milestone paid.
    case complete
    case evaluatePerformance

    public var name: String {
        switch self {
        case .publish: "publish"
        case .complain: "complain"
        case .decideComplaint: "decide-complaint"
        case .closeBidding: "close-bidding"
        case .drawPanel: "draw-panel"
        case .evaluate: "evaluate"
        case .award: "award"
        case .cancel: "cancel"
        case .signContract: "sign-contract"
        case .complete: "complete"
        case .evaluatePerformance: "evaluate-performance"
        }
    }
}

/// Why a transition was refused: the action does not apply where the tender stands.
public struct IllegalTenderTransition: Error, Sendable, Equatable, CustomStringConvertible {
    public var action: String
    public var status: TenderStatus
    public var hint: String

    public init(action: String, status: TenderStatus, hint: String) {
        self.action = action
        self.status = status
        self.hint = hint
    }

    public var description: String { "a tender that is \(status.rawValue) cannot \(action): \(hint)" }
}

/// The part of a tender the state machine decides on.
public struct TenderState: Sendable, Hashable {
    public var status: TenderStatus
    /// Where a suspended tender returns when the complaint is decided.
    public var suspendedFrom: TenderStatus?

    public init(status: TenderStatus = .draft, suspendedFrom: TenderStatus? = nil) {
        self.status = status
        self.suspendedFrom = suspendedFrom
    }

    /// Whether bid contents may be read: after the bids were opened, suspended or not.
    public var bidsOpened: Bool {
        status == .suspended ? (suspendedFrom?.bidsOpened ?? false) : status.bidsOpened
    }

    /// Every transition of the tender lifecycle, in one place.
    public func applying(_ action: TenderAction) throws(IllegalTenderTransition) -> TenderState {
        func refuse(_ hint: String) -> IllegalTenderTransition { IllegalTenderTransition(action: action.name, status: status, hint: hint) }
        var next = self
        switch (status, action) {
        case (.draft, .publish):
            next.status = .published
        case (.published, .complain), (.biddingClosed, .complain), (.panelDrawn, .complain), (.evaluated, .complain):
            next.suspendedFrom = status
            next.status = .suspended
        case (.suspended, .decideComplaint(let upheld)):
            guard let from = suspendedFrom else { throw refuse("it does not know where it was suspended from") }
            // An upheld complaint against the evaluation voids the scores: the panel scores again.
            next.status = upheld && from == .evaluated ? .panelDrawn : from
            next.suspendedFrom = nil
        case (.published, .closeBidding(let qualified)):
            next.status = qualified > 0 ? .biddingClosed : .failed
        case (.biddingClosed, .drawPanel):
            next.status = .panelDrawn
        case (.panelDrawn, .evaluate(let qualified)):
            next.status = qualified > 0 ? .evaluated : .failed
        case (.evaluated, .award):
            next.status = .awarded
        case (let current, .cancel) where current.isBeforeAward:
            next.status = .cancelled
            next.suspendedFrom = nil
        case (.awarded, .signContract):
            next.status = .contracted
        case (.contracted, .complete):
            next.status = .completed
        case (.completed, .evaluatePerformance):
            next.status = .performanceEvaluated
        default:
            throw refuse(Self.hint(for: status))
        }
        return next
    }

    public static func hint(for status: TenderStatus) -> String {
        switch status {
        case .draft: "publish it first"
        case .published: "bidding is open until the deadline; it closes by itself then"
        case .suspended: "a complaint is being decided; decide it first"
        case .biddingClosed: "the expert panel is drawn next"
        case .panelDrawn: "the panel is scoring; evaluate once every score is in"
        case .evaluated: "award it, or cancel it with a reason"
        case .awarded: "sign the contract next"
        case .failed, .cancelled: "it has ended; start a new tender for the project"
        case .contracted: "it completes when every milestone is paid"
        case .completed: "record the performance evaluation"
        case .performanceEvaluated: "it has ended"
        }
    }
}
