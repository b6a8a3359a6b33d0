/// Levels of the city's hierarchy: city (市) > district (区/县) > street (街道/镇) > community (社区) >
/// grid (网格) > building (楼栋) > household (户).
public enum PlaceLevel: String, Codable, Sendable, CaseIterable {
    case district, street, community, grid, building, household

    /// The level a place of this level hangs under, `nil` for a district (it hangs under the city).
    public var parent: PlaceLevel? {
        switch self {
        case .district: nil
        case .street: .district
        case .community: .street
        case .grid: .community
        case .building: .grid
        case .household: .building
        }
    }
}

/// Community types change which policies apply (DOMAIN.md, 001 §(三)5).
public enum CommunityType: String, Codable, Sendable, CaseIterable {
    case oldCity = "old-city"
    case newBuild = "new-build"
    /// 拆迁安置 / 保障房
    case resettlement
    /// 单位型
    case workUnit = "work-unit"
    /// 村改居
    case villageToResidence = "village-to-residence"
    case rural
}

/// Sizes the policy asks for: a community 1,000–3,000 households (002), a grid 300–500 (001).
/// Places outside them are reported, never refused: the city redraws boundaries over time.
public struct SizePolicy: Sendable, Equatable {
    public var community: ClosedRange<Int> = 1000...3000
    public var grid: ClosedRange<Int> = 300...500

    public init() {}

    public enum Verdict: String, Codable, Sendable, Equatable {
        case tooSmall = "too-small"
        case withinPolicy = "within-policy"
        case tooLarge = "too-large"
    }

    public func verdict(level: PlaceLevel, households: Int) -> Verdict? {
        let range: ClosedRange<Int>
        switch level {
        case .community: range = community
        case .grid: range = grid
        default: return nil
        }
        if households < range.lowerBound { return .tooSmall }
        if households > range.upperBound { return .tooLarge }
        return .withinPolicy
    }
}
