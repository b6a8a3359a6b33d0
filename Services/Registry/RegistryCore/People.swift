import Foundation

/// Whether a resident is registered here (户籍) or floating (流动人口, registered on arrival).
public enum Residency: String, Codable, Sendable, CaseIterable {
    case registered
    case floating
}

/// Groups that services target (DOMAIN.md; 001, 003). The sensitive ones are served too, but their
/// membership is visible only to roles that need it and every read is audit-logged.
public enum PopulationGroup: String, Codable, Sendable, CaseIterable {
    case elderly
    case disabled
    case severelyDisabled = "severely-disabled"
    case minor
    /// 低保
    case lowIncome = "low-income"
    case unemployed
    case migrantWorker = "migrant-worker"
    case singleParentChild = "single-parent-child"
    /// 优抚对象
    case entitled
    case communityCorrection = "community-correction"
    case releasedPrisoner = "released-prisoner"
    case drugUser = "drug-user"
    case mentalIllness = "mental-illness"

    public var isSensitive: Bool {
        switch self {
        case .communityCorrection, .releasedPrisoner, .drugUser, .mentalIllness: true
        default: false
        }
    }
}

/// Roles people hold in community work.
public enum PersonRole: String, Codable, Sendable, CaseIterable {
    /// 网格员 / 信息员
    case gridWorker = "grid-worker"
    /// 调解员
    case mediator
    case socialWorker = "social-worker"
    case volunteer
    /// 专家库
    case expert
    case communityWorker = "community-worker"
    /// 栋长
    case buildingHead = "building-head"
}

/// Kinds of organisation the registry knows.
public enum OrganisationKind: String, Codable, Sendable, CaseIterable {
    case residentsCommittee = "residents-committee"
    /// 业委会
    case ownersCommittee = "owners-committee"
    /// 物业
    case propertyCompany = "property-company"
    /// 社会团体
    case socialGroup = "social-group"
    /// 民办非企业单位
    case privateNonEnterprise = "private-non-enterprise"
    /// 基金会
    case foundation
    case enterprise
    case institution
    /// 驻区单位
    case residentUnit = "resident-unit"
    case volunteerOrganisation = "volunteer-organisation"

    var isSocialOrganisation: Bool {
        [.socialGroup, .privateNonEnterprise, .foundation, .volunteerOrganisation].contains(self)
    }
}

/// Who may bid for purchased services (001): social organisations with independent legal-person status,
/// and enterprises (property companies among them) or institutions registered with the commerce or
/// industry authority.
public func isEligibleBidder(kind: OrganisationKind, hasLegalPersonStatus: Bool, registrationAuthority: String?) -> Bool {
    if kind.isSocialOrganisation { return hasLegalPersonStatus }
    // A property company (物业) is an enterprise in law.
    if kind == .enterprise || kind == .institution || kind == .propertyCompany {
        return !(registrationAuthority ?? "").trimmingCharacters(in: .whitespaces).isEmpty
    }
    return false
}
