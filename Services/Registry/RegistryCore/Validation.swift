import Contracts
import Foundation

/// A record that breaks the registry's rules; every issue found is listed, not just the first.
public struct InvalidRecord: Error, Sendable, CustomStringConvertible {
    public var issues: [FieldIssue]

    public init(_ issues: [FieldIssue]) { self.issues = issues }

    public var description: String { issues.map(\.description).joined(separator: "; ") }
}

/// Collects issues while a record is checked.
struct IssueList {
    var issues: [FieldIssue] = []

    mutating func add(_ field: String, _ problem: String) { issues.append(FieldIssue(field, problem)) }

    mutating func text(_ field: String, _ value: String, maxLength: Int = 200) -> String {
        let trimmed = Self.trimmed(value)
        if trimmed.isEmpty { add(field, "must not be empty") }
        if Self.longer(trimmed, than: maxLength) { add(field, "must have at most \(maxLength) characters") }
        return trimmed
    }

    mutating func optionalText(_ field: String, _ value: String?, maxLength: Int = 200) -> String? {
        guard let value else { return nil }
        let trimmed = Self.trimmed(value)
        if Self.longer(trimmed, than: maxLength) { add(field, "must have at most \(maxLength) characters") }
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Without leading and trailing white space; most values have none, and are returned as they are
    /// without Foundation's (slow) trimming.
    static func trimmed(_ value: String) -> String {
        guard let first = value.unicodeScalars.first, let last = value.unicodeScalars.last else { return value }
        let space = CharacterSet.whitespacesAndNewlines
        guard space.contains(first) || space.contains(last) else { return value }
        return value.trimmingCharacters(in: space)
    }

    /// Whether `text` has more than `limit` characters; UTF-8 bytes are never fewer than characters, so
    /// short texts are answered without counting.
    static func longer(_ text: String, than limit: Int) -> Bool {
        text.utf8.count > limit && text.count > limit
    }

    mutating func day(_ field: String, _ value: String?) -> CalendarDay? {
        guard let value else { return nil }
        guard let day = CalendarDay(value) else {
            add(field, "must be a date written YYYY-MM-DD, got '\(value.prefix(40))'")
            return nil
        }
        return day
    }

    func check() throws(InvalidRecord) {
        if !issues.isEmpty { throw InvalidRecord(issues) }
    }
}

/// A date without time of day, `YYYY-MM-DD`, as the policy documents and district systems write them.
public struct CalendarDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int, month: Int, day: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            (1900...2200).contains(year), (1...12).contains(month)
        else { return nil }
        let days = [31, (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...days[month - 1]).contains(day) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    public var description: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }

    public static func < (a: Self, b: Self) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}

/// Place codes are what operators and district systems type: letters, digits and dashes.
public enum PlaceCode {
    public static func problem(_ code: String) -> String? {
        guard (1...40).contains(code.count) else { return "must have 1 to 40 characters" }
        guard let first = code.unicodeScalars.first, CharacterSet.alphanumerics.contains(first),
            code.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-") })
        else { return "may hold only ASCII letters, digits and dashes, starting with a letter or digit" }
        return nil
    }
}

/// A place as sent to the registry, checked.
public struct PlaceFacts: Sendable, Hashable {
    public var code: String
    public var level: PlaceLevel
    public var name: String
    public var parentCode: String?
    public var communityType: CommunityType?
    public var workstation: String?
    public var boundary: String?
    public var address: String?

    public init(
        code: String, level: String, name: String, parentCode: String?, communityType: String?, workstation: String?,
        boundary: String?, address: String?
    ) throws(InvalidRecord) {
        var issues = IssueList()
        if let problem = PlaceCode.problem(code) { issues.add("code", problem) }
        let parsedLevel = PlaceLevel(rawValue: level)
        if parsedLevel == nil {
            issues.add("level", "must be one of \(PlaceLevel.placeLevels.map(\.rawValue).joined(separator: ", ")), got '\(level.prefix(40))'")
        }
        if parsedLevel == .household { issues.add("level", "households are registered at /households, not as places") }
        let name = issues.text("name", name, maxLength: 100)
        if let parsedLevel {
            switch (parsedLevel, parentCode) {
            case (.district, .some): issues.add("parentCode", "a district hangs under the city and has no parent")
            case (.district, .none): break
            case (_, .none): issues.add("parentCode", "a \(parsedLevel.rawValue) needs the code of its \(parsedLevel.parent!.rawValue)")
            case (_, .some(let parent)):
                if let problem = PlaceCode.problem(parent) { issues.add("parentCode", problem) }
            }
        }
        var type: CommunityType?
        if let communityType {
            type = CommunityType(rawValue: communityType)
            if type == nil {
                issues.add("communityType", "must be one of \(CommunityType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if parsedLevel == .community && communityType == nil {
            issues.add("communityType", "a community needs its type (policy depends on it)")
        }
        if parsedLevel != .community && communityType != nil { issues.add("communityType", "only communities have a type") }
        if parsedLevel != .community && workstation != nil { issues.add("workstation", "only communities are served by a workstation") }
        if parsedLevel != .grid && boundary != nil { issues.add("boundary", "only grids have a boundary") }
        if parsedLevel != .building && address != nil { issues.add("address", "only buildings have an address") }
        let workstation = issues.optionalText("workstation", workstation, maxLength: 100)
        let boundary = issues.optionalText("boundary", boundary, maxLength: 100_000)
        let address = issues.optionalText("address", address, maxLength: 200)
        try issues.check()
        self.code = code
        self.level = parsedLevel!
        self.name = name
        self.parentCode = parentCode
        self.communityType = type
        self.workstation = workstation
        self.boundary = boundary
        self.address = address
    }
}

extension PlaceLevel {
    /// The levels kept as places (households are their own records).
    public static let placeLevels: [PlaceLevel] = [.district, .street, .community, .grid, .building]
}

/// A household as sent to the registry, checked.
public struct HouseholdFacts: Sendable, Hashable {
    public var id: UUID
    public var buildingCode: String
    public var address: String

    public init(_ record: DistrictHousehold) throws(InvalidRecord) {
        var issues = IssueList()
        if let problem = PlaceCode.problem(record.buildingCode) { issues.add("buildingCode", problem) }
        let address = issues.text("address", record.address, maxLength: 200)
        try issues.check()
        id = record.id
        buildingCode = record.buildingCode
        self.address = address
    }
}

/// Floating-population registration, checked.
public struct FloatingFacts: Sendable, Hashable, Codable {
    public var origin: String
    public var arrivedOn: String
    public var permitNumber: String?
    public var permitExpiresOn: String?
    public var purpose: String?
}

/// A resident as sent to the registry, checked. `nationalID` is `nil` only on a partial update that
/// leaves the number as it is.
public struct ResidentFacts: Sendable, Hashable {
    public var id: UUID
    public var householdId: UUID
    public var name: String
    public var nationalID: NationalID?
    public var phone: String?
    public var residency: Residency
    public var floating: FloatingFacts?
    public var groups: Set<PopulationGroup>

    public init(_ record: DistrictResident, today: Date = Date()) throws(InvalidRecord) {
        try self.init(
            id: record.id, householdId: record.householdId, name: record.name, nationalID: record.nationalId, phone: record.phone,
            residency: record.residency, floating: record.floating, groups: record.groups ?? [], today: today)
    }

    public init(
        id: UUID, householdId: UUID, name: String, nationalID: String?, phone: String?, residency: String,
        floating: FloatingRegistration?, groups: [String], today: Date = Date()
    ) throws(InvalidRecord) {
        var issues = IssueList()
        let name = issues.text("name", name, maxLength: 64)
        var parsedID: NationalID?
        if let nationalID {
            do {
                parsedID = try NationalID(nationalID, today: today)
            } catch {
                issues.add("nationalId", error.description)
            }
        }
        let phone = issues.optionalText("phone", phone, maxLength: 20)
        if let phone, !phone.allSatisfy({ $0.isASCII && ($0.isNumber || "+- ".contains($0)) }) {
            issues.add("phone", "may hold only digits, spaces, '+' and '-'")
        }
        let parsedResidency = Residency(rawValue: residency)
        if parsedResidency == nil { issues.add("residency", "must be registered or floating, got '\(residency.prefix(40))'") }
        var floatingFacts: FloatingFacts?
        switch (parsedResidency, floating) {
        case (.floating, .none): issues.add("floating", "a floating resident needs the floating registration (origin, arrivedOn)")
        case (.registered, .some): issues.add("floating", "only floating residents have a floating registration")
        case (.floating, .some(let registration)):
            let origin = issues.text("floating.origin", registration.origin, maxLength: 100)
            let arrived = issues.day("floating.arrivedOn", registration.arrivedOn)
            let expires = issues.day("floating.permitExpiresOn", registration.permitExpiresOn)
            if let arrived, let expires, expires < arrived { issues.add("floating.permitExpiresOn", "is before arrivedOn") }
            floatingFacts = FloatingFacts(
                origin: origin, arrivedOn: arrived?.description ?? "",
                permitNumber: issues.optionalText("floating.permitNumber", registration.permitNumber, maxLength: 40),
                permitExpiresOn: expires?.description,
                purpose: issues.optionalText("floating.purpose", registration.purpose, maxLength: 100))
        default: break
        }
        var parsedGroups: Set<PopulationGroup> = []
        for (index, group) in groups.enumerated() {
            if let parsed = PopulationGroup(rawValue: group) {
                parsedGroups.insert(parsed)
            } else {
                issues.add("groups[\(index)]", "unknown group '\(group.prefix(40))'; known: \(PopulationGroup.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        try issues.check()
        self.id = id
        self.householdId = householdId
        self.name = name
        self.nationalID = parsedID
        self.phone = phone
        self.residency = parsedResidency!
        self.floating = floatingFacts
        self.groups = parsedGroups
    }

    /// Groups that may travel in events and lists, sorted for stable output.
    public var ordinaryGroups: [String] { groups.filter { !$0.isSensitive }.map(\.rawValue).sorted() }
    /// Groups seen only by roles that need them.
    public var sensitiveGroups: [String] { groups.filter(\.isSensitive).map(\.rawValue).sorted() }
}

/// An organisation as sent to the registry, checked.
public struct OrganisationFacts: Sendable, Hashable {
    public var id: UUID
    public var name: String
    public var kind: OrganisationKind
    public var legalPerson: Bool
    public var registrationAuthority: String?
    public var registrationNumber: String?
    public var servesPlace: String?

    public init(
        id: UUID, name: String, kind: String, legalPerson: Bool, registrationAuthority: String?, registrationNumber: String?,
        servesPlace: String?
    ) throws(InvalidRecord) {
        var issues = IssueList()
        let name = issues.text("name", name, maxLength: 200)
        let parsedKind = OrganisationKind(rawValue: kind)
        if parsedKind == nil {
            issues.add("kind", "must be one of \(OrganisationKind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(kind.prefix(40))'")
        }
        if let servesPlace, let problem = PlaceCode.problem(servesPlace) { issues.add("servesPlace", problem) }
        let authority = issues.optionalText("registrationAuthority", registrationAuthority, maxLength: 100)
        let number = issues.optionalText("registrationNumber", registrationNumber, maxLength: 40)
        try issues.check()
        self.id = id
        self.name = name
        self.kind = parsedKind!
        self.legalPerson = legalPerson
        self.registrationAuthority = authority
        self.registrationNumber = number
        self.servesPlace = servesPlace
    }

    public var eligibleBidder: Bool {
        isEligibleBidder(kind: kind, hasLegalPersonStatus: legalPerson, registrationAuthority: registrationAuthority)
    }
}

/// A role assignment as sent to the registry, checked against the role's own rules. `placeLevel` is
/// the level of the place named, once the caller has looked it up.
public struct RoleFacts: Sendable, Hashable {
    public var id: UUID
    public var residentId: UUID
    public var role: PersonRole
    public var placeCode: String?
    public var details: RoleDetails
    public var startedOn: CalendarDay

    static let weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    public init(
        id: UUID, residentId: UUID, role: String, placeCode: String?, placeLevel: PlaceLevel?, details: RoleDetails?,
        startedOn: String?, today: CalendarDay
    ) throws(InvalidRecord) {
        var issues = IssueList()
        let parsedRole = PersonRole(rawValue: role)
        if parsedRole == nil {
            issues.add("role", "must be one of \(PersonRole.allCases.map(\.rawValue).joined(separator: ", ")), got '\(role.prefix(40))'")
        }
        if let placeCode, let problem = PlaceCode.problem(placeCode) { issues.add("placeCode", problem) }
        let details = details ?? RoleDetails()
        let started = issues.day("startedOn", startedOn) ?? today
        if let parsedRole {
            Self.checkDetails(parsedRole, placeCode: placeCode, placeLevel: placeLevel, details: details, issues: &issues)
        }
        try issues.check()
        self.id = id
        self.residentId = residentId
        self.role = parsedRole!
        self.placeCode = placeCode
        self.details = details
        self.startedOn = started
    }

    private static func checkDetails(
        _ role: PersonRole, placeCode: String?, placeLevel: PlaceLevel?, details: RoleDetails, issues: inout IssueList
    ) {
        func requirePlace(_ levels: [PlaceLevel]) {
            guard placeCode != nil else {
                issues.add("placeCode", "a \(role.rawValue) serves a \(levels.map(\.rawValue).joined(separator: " or ")); name it")
                return
            }
            if let placeLevel, !levels.contains(placeLevel) {
                issues.add("placeCode", "a \(role.rawValue) serves a \(levels.map(\.rawValue).joined(separator: " or ")), not a \(placeLevel.rawValue)")
            }
        }
        switch role {
        case .gridWorker: requirePlace([.grid])
        case .buildingHead: requirePlace([.building])
        case .mediator:
            let levels: [PlaceLevel] = [.community, .street, .district]
            guard let level = details.mediatorLevel.flatMap(PlaceLevel.init(rawValue:)), levels.contains(level) else {
                issues.add("details.mediatorLevel", "a mediator sits on a community, street or district committee: say which")
                return
            }
            requirePlace([level])
        case .volunteer:
            requirePlace([.community, .grid, .street])
            if (details.skills ?? []).isEmpty { issues.add("details.skills", "a volunteer needs at least one skill to be matched") }
            for (index, slot) in (details.availability ?? []).enumerated() where !isAvailabilitySlot(slot) {
                issues.add("details.availability[\(index)]", "write a slot as 'mon 09:00-12:00', got '\(slot.prefix(40))'")
            }
        case .expert:
            if (details.fields ?? []).isEmpty { issues.add("details.fields", "an expert needs at least one field of expertise") }
        case .socialWorker, .communityWorker:
            requirePlace([.community, .street, .district])
        }
        if role != .mediator && (details.mediatorLevel != nil || details.fullTime != nil) {
            issues.add("details.mediatorLevel", "only mediators have a committee level or full-time status")
        }
        if role != .volunteer && (details.skills != nil || details.availability != nil) {
            issues.add("details.skills", "only volunteers have skills and availability")
        }
        if role != .expert && (details.fields != nil || details.affiliations != nil) {
            issues.add("details.fields", "only experts have fields and affiliations")
        }
    }

    /// `mon 09:00-12:00`: a weekday and a time range that starts before it ends.
    public static func isAvailabilitySlot(_ slot: String) -> Bool {
        let parts = slot.split(separator: " ")
        guard parts.count == 2, weekdays.contains(String(parts[0])) else { return false }
        let times = parts[1].split(separator: "-")
        guard times.count == 2, let from = minutes(times[0]), let to = minutes(times[1]) else { return false }
        return from < to
    }

    static func minutes(_ text: Substring) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
            (0...24).contains(hours), (0...59).contains(minutes), hours * 60 + minutes <= 24 * 60
        else { return nil }
        return hours * 60 + minutes
    }
}
