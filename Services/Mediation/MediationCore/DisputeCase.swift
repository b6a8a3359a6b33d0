import Foundation

/// What a dispute is about (DOMAIN.md, "People's mediation"; 000, 001, 004).
public enum DisputeCategory: String, Codable, Sendable, CaseIterable {
    case neighbours
    case family
    case propertyManagement = "property-management"
    /// 拆迁安置补偿
    case demolitionRelocation = "demolition-relocation"
    case labour
    case environment
    case publicOrder = "public-order"
    case other
}

/// "Minor disputes do not stay overnight, major conflicts do not leave the community" (000).
public enum Severity: String, Codable, Sendable, CaseIterable {
    case minor, major
}

/// Where the dispute came from.
public enum IntakeChannel: String, Codable, Sendable, CaseIterable {
    case gridWorker = "grid-worker"
    case resident
    case hotline
    case online
    case districtSystem = "district-system"
}

/// The level of the mediation network that holds a case (004 "六约模式"): a community mediation
/// committee, then the street, then the district.
public enum MediationLevel: String, Codable, Sendable, CaseIterable, Comparable {
    case community, street, district

    /// Where an overdue or escalated case goes next; `nil` at the top.
    public var next: MediationLevel? {
        switch self {
        case .community: .street
        case .street: .district
        case .district: nil
        }
    }

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Where a case stands. Outcomes stay distinct: an agreement, a failure, a withdrawal, a referral to
/// legal channels and a transfer out are different states, never folded into "resolved".
public enum CaseStatus: String, Codable, Sendable, CaseIterable {
    case reported
    case accepted
    /// Refused at intake (e.g. the matter is already before a court or the police).
    case refused
    case assigned
    case inMediation = "in-mediation"
    /// 调解协议
    case agreementReached = "agreement-reached"
    case failed
    case referredToLegal = "referred-to-legal"
    /// Handed to a body outside people's mediation.
    case transferredOut = "transferred-out"
    case withdrawn
    case closed

    /// Still being worked on: deadlines run and the case counts toward a mediator's load.
    public var isOpen: Bool {
        switch self {
        case .reported, .accepted, .assigned, .inMediation: true
        default: false
        }
    }
}

/// Something that happens to a case. Each is one recorded transition.
public enum CaseAction: Sendable, Hashable {
    case accept
    case refuse(reason: String)
    case assign(mediator: UUID)
    case startMediation
    case reachAgreement(document: String)
    case fail(reason: String)
    case referToLegal(reason: String)
    case withdraw(reason: String)
    /// To the next level, by hand or because the deadline passed.
    case escalate(reason: String)
    /// To another community (routing runs again there) or out of people's mediation.
    case transfer(to: TransferTarget, reason: String)
    /// A follow-up visit (回访) after an agreement: does it hold?
    case followUp(holds: Bool, note: String)
    case close
    case reopen(reason: String)

    public var name: String {
        switch self {
        case .accept: "accept"
        case .refuse: "refuse"
        case .assign: "assign"
        case .startMediation: "start-mediation"
        case .reachAgreement: "reach-agreement"
        case .fail: "fail"
        case .referToLegal: "refer-to-legal"
        case .withdraw: "withdraw"
        case .escalate: "escalate"
        case .transfer: "transfer"
        case .followUp: "follow-up"
        case .close: "close"
        case .reopen: "reopen"
        }
    }
}

public enum TransferTarget: Sendable, Hashable {
    case community(String)
    case outside(body: String)
}

/// The part of a case the state machine decides on.
public struct CaseState: Sendable, Hashable {
    public var status: CaseStatus
    public var level: MediationLevel
    public var community: String
    public var mediator: UUID?
    /// Whether the last follow-up visit found the agreement holding (`nil` before any visit).
    public var agreementHolds: Bool?

    public init(status: CaseStatus = .reported, level: MediationLevel = .community, community: String, mediator: UUID? = nil, agreementHolds: Bool? = nil) {
        self.status = status
        self.level = level
        self.community = community
        self.mediator = mediator
        self.agreementHolds = agreementHolds
    }
}

/// Why a transition was refused: the action does not apply in the case's status.
public struct IllegalTransition: Error, Sendable, Equatable, CustomStringConvertible {
    public var action: String
    public var status: CaseStatus
    public var hint: String

    public init(action: String, status: CaseStatus, hint: String) {
        self.action = action
        self.status = status
        self.hint = hint
    }

    public var description: String { "a case that is \(status.rawValue) cannot \(action): \(hint)" }
}

extension CaseState {
    /// Every transition of the mediation lifecycle, in one place.
    public func applying(_ action: CaseAction) throws(IllegalTransition) -> CaseState {
        func refuse(_ hint: String) -> IllegalTransition { IllegalTransition(action: action.name, status: status, hint: hint) }
        var next = self
        switch (status, action) {
        case (.reported, .accept):
            next.status = .accepted
        case (.reported, .refuse):
            next.status = .refused
        case (.accepted, .assign(let mediator)), (.assigned, .assign(let mediator)), (.inMediation, .assign(let mediator)):
            next.status = status == .inMediation ? .inMediation : .assigned
            next.mediator = mediator
        case (.assigned, .startMediation):
            next.status = .inMediation
        case (.inMediation, .reachAgreement):
            next.status = .agreementReached
            next.agreementHolds = nil
        case (.inMediation, .fail):
            next.status = .failed
        case (.failed, .referToLegal), (.inMediation, .referToLegal):
            next.status = .referredToLegal
        case (let current, .withdraw) where current.isOpen:
            next.status = .withdrawn
        case (let current, .escalate) where current.isOpen:
            guard let higher = level.next else { throw refuse("it is held by the district already; refer it to legal channels instead") }
            next.level = higher
            next.status = .accepted
            next.mediator = nil
        case (let current, .transfer(let target, _)) where current.isOpen:
            switch target {
            case .community(let community):
                guard community != self.community else { throw refuse("it is in community \(community) already") }
                next.community = community
                next.level = .community
                next.status = .accepted
                next.mediator = nil
            case .outside:
                next.status = .transferredOut
            }
        case (.agreementReached, .followUp(let holds, _)):
            next.agreementHolds = holds
        case (.agreementReached, .close):
            guard agreementHolds != false else { throw refuse("the follow-up found the agreement broken; reopen the case") }
            next.status = .closed
        case (.failed, .close), (.referredToLegal, .close), (.refused, .close), (.withdrawn, .close), (.transferredOut, .close):
            next.status = .closed
        case (.agreementReached, .reopen), (.failed, .reopen), (.closed, .reopen), (.withdrawn, .reopen):
            next.status = mediator == nil ? .accepted : .assigned
            next.agreementHolds = nil
        default:
            throw refuse(Self.hint(for: status))
        }
        return next
    }

    static func hint(for status: CaseStatus) -> String {
        switch status {
        case .reported: "accept or refuse it first"
        case .accepted: "assign a mediator first"
        case .assigned: "start the mediation first"
        case .inMediation: "it is being mediated: reach an agreement, record a failure, withdraw, escalate or transfer it"
        case .agreementReached: "record a follow-up visit, close it, or reopen it"
        case .failed: "refer it to legal channels, close it, or reopen it"
        case .referredToLegal, .refused, .transferredOut: "it has left people's mediation; close it"
        case .withdrawn: "close it or reopen it"
        case .closed: "reopen it first"
        }
    }
}
