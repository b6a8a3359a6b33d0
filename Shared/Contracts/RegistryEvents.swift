import Foundation

// The registry's public contract on `registry.events`: what the other services learn about places,
// people and organisations. Every event carries the whole current state of its aggregate (a snapshot),
// so a consumer keeps its read model by upserting on the aggregate id and needs no history.
// National ID numbers and sensitive-group membership never appear here.

/// Where something sits in the city's hierarchy. Codes are the registry's place codes; `gridVersion`
/// names the grid as it was drawn when the record was placed (grids get redrawn; old records keep
/// pointing at the version they were made under).
public struct PlaceLocation: Codable, Sendable, Hashable {
    public var district: String
    public var street: String?
    public var community: String?
    public var grid: String?
    public var gridVersion: Int?
    public var building: String?

    public init(
        district: String, street: String? = nil, community: String? = nil, grid: String? = nil, gridVersion: Int? = nil,
        building: String? = nil
    ) {
        self.district = district
        self.street = street
        self.community = community
        self.grid = grid
        self.gridVersion = gridVersion
        self.building = building
    }
}

/// A district, street, community, grid or building.
public struct PlaceSnapshot: Codable, Sendable, Hashable {
    public var code: String
    /// `district`, `street`, `community`, `grid`, `building`.
    public var level: String
    public var name: String
    public var parentCode: String?
    /// The place's own position: its ancestors' codes and, for a grid, its own code and version.
    public var location: PlaceLocation
    /// Increases each time the place is redrawn (moved under another parent or given a new boundary).
    public var version: Int
    /// Communities: old-city, new-build, resettlement, work-unit, village-to-residence, rural.
    public var communityType: String?
    /// Communities: the community workstation (社区工作站) that serves them; one may serve several.
    public var workstation: String?
    /// Grids: a description or GeoJSON of the boundary.
    public var boundary: String?
    /// Buildings: street address.
    public var address: String?

    public init(
        code: String, level: String, name: String, parentCode: String?, location: PlaceLocation, version: Int,
        communityType: String? = nil, workstation: String? = nil, boundary: String? = nil, address: String? = nil
    ) {
        self.code = code
        self.level = level
        self.name = name
        self.parentCode = parentCode
        self.location = location
        self.version = version
        self.communityType = communityType
        self.workstation = workstation
        self.boundary = boundary
        self.address = address
    }
}

public struct PlaceRegistered: EventPayload, Hashable {
    public static let eventType: EventType = "registry.place.registered.v1"
    public var place: PlaceSnapshot
    public init(place: PlaceSnapshot) { self.place = place }
}

/// Name, details or boundary changed. When `redrawn` is true the place moved under another parent or
/// got a new boundary, and `place.version` is the new version.
public struct PlaceUpdated: EventPayload, Hashable {
    public static let eventType: EventType = "registry.place.updated.v1"
    public var place: PlaceSnapshot
    public var redrawn: Bool
    public init(place: PlaceSnapshot, redrawn: Bool) {
        self.place = place
        self.redrawn = redrawn
    }
}

/// A dwelling unit (户), attached to a building.
public struct HouseholdSnapshot: Codable, Sendable, Hashable {
    public var id: UUID
    public var address: String
    public var location: PlaceLocation

    public init(id: UUID, address: String, location: PlaceLocation) {
        self.id = id
        self.address = address
        self.location = location
    }
}

public struct HouseholdRegistered: EventPayload, Hashable {
    public static let eventType: EventType = "registry.household.registered.v1"
    public var household: HouseholdSnapshot
    public init(household: HouseholdSnapshot) { self.household = household }
}

public struct HouseholdUpdated: EventPayload, Hashable {
    public static let eventType: EventType = "registry.household.updated.v1"
    public var household: HouseholdSnapshot
    public init(household: HouseholdSnapshot) { self.household = household }
}

/// The household moved to another building; its residents moved with it (no separate resident events).
public struct HouseholdMoved: EventPayload, Hashable {
    public static let eventType: EventType = "registry.household.moved.v1"
    public var household: HouseholdSnapshot
    public var from: PlaceLocation
    public init(household: HouseholdSnapshot, from: PlaceLocation) {
        self.household = household
        self.from = from
    }
}

/// What the other services may know of a resident: no ID number, no phone number, no sensitive groups.
public struct ResidentSnapshot: Codable, Sendable, Hashable {
    public var id: UUID
    public var householdId: UUID?
    public var name: String
    public var birthYear: Int
    /// `registered` (户籍) or `floating` (流动人口).
    public var residency: String
    /// Whether the resident can be reached by phone; staff act on the record for those who cannot.
    public var reachableByPhone: Bool
    /// Non-sensitive groups only (elderly, disabled, minor, low-income, ...).
    public var groups: [String]
    public var location: PlaceLocation?

    public init(
        id: UUID, householdId: UUID?, name: String, birthYear: Int, residency: String, reachableByPhone: Bool,
        groups: [String], location: PlaceLocation?
    ) {
        self.id = id
        self.householdId = householdId
        self.name = name
        self.birthYear = birthYear
        self.residency = residency
        self.reachableByPhone = reachableByPhone
        self.groups = groups
        self.location = location
    }
}

public struct ResidentRegistered: EventPayload, Hashable {
    public static let eventType: EventType = "registry.resident.registered.v1"
    public var resident: ResidentSnapshot
    public init(resident: ResidentSnapshot) { self.resident = resident }
}

public struct ResidentUpdated: EventPayload, Hashable {
    public static let eventType: EventType = "registry.resident.updated.v1"
    public var resident: ResidentSnapshot
    public init(resident: ResidentSnapshot) { self.resident = resident }
}

/// The resident moved to another household (以房管人: moving is an event, not an edit).
public struct ResidentMoved: EventPayload, Hashable {
    public static let eventType: EventType = "registry.resident.moved.v1"
    public var resident: ResidentSnapshot
    public var fromHouseholdId: UUID?
    public var from: PlaceLocation?
    public init(resident: ResidentSnapshot, fromHouseholdId: UUID?, from: PlaceLocation?) {
        self.resident = resident
        self.fromHouseholdId = fromHouseholdId
        self.from = from
    }
}

/// An organisation and whether it may bid for purchased services (001).
public struct OrganisationSnapshot: Codable, Sendable, Hashable {
    public var id: UUID
    public var name: String
    public var kind: String
    public var legalPerson: Bool
    public var registrationAuthority: String?
    /// The district or community it serves; `nil` for the whole city.
    public var serves: PlaceLocation?
    public var eligibleBidder: Bool

    public init(
        id: UUID, name: String, kind: String, legalPerson: Bool, registrationAuthority: String?, serves: PlaceLocation?,
        eligibleBidder: Bool
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.legalPerson = legalPerson
        self.registrationAuthority = registrationAuthority
        self.serves = serves
        self.eligibleBidder = eligibleBidder
    }
}

public struct OrganisationRegistered: EventPayload, Hashable {
    public static let eventType: EventType = "registry.organisation.registered.v1"
    public var organisation: OrganisationSnapshot
    public init(organisation: OrganisationSnapshot) { self.organisation = organisation }
}

public struct OrganisationUpdated: EventPayload, Hashable {
    public static let eventType: EventType = "registry.organisation.updated.v1"
    public var organisation: OrganisationSnapshot
    public init(organisation: OrganisationSnapshot) { self.organisation = organisation }
}

/// Role-specific facts. Only the part for the role is set.
public struct RoleDetails: Codable, Sendable, Hashable {
    /// Mediators: `community`, `street` or `district` (the level of the committee they sit on).
    public var mediatorLevel: String?
    public var fullTime: Bool?
    /// Volunteers: what they can do (`elder-care`, `tutoring`, ...).
    public var skills: [String]?
    /// Volunteers: when they can help, e.g. `mon 09:00-12:00`.
    public var availability: [String]?
    /// Experts: fields of expertise (`social-work`, `law`, `finance`, ...).
    public var fields: [String]?
    /// Experts: organisations they are affiliated with (a panel excludes experts tied to a bidder).
    public var affiliations: [UUID]?

    public init(
        mediatorLevel: String? = nil, fullTime: Bool? = nil, skills: [String]? = nil, availability: [String]? = nil,
        fields: [String]? = nil, affiliations: [UUID]? = nil
    ) {
        self.mediatorLevel = mediatorLevel
        self.fullTime = fullTime
        self.skills = skills
        self.availability = availability
        self.fields = fields
        self.affiliations = affiliations
    }
}

/// A role a person holds, where, and while when.
public struct RoleSnapshot: Codable, Sendable, Hashable {
    public var id: UUID
    public var residentId: UUID
    public var personName: String
    /// grid-worker, mediator, social-worker, volunteer, expert, community-worker, building-head.
    public var role: String
    /// The place the role serves (a grid for a grid worker, the committee's place for a mediator, ...).
    public var placeCode: String?
    public var location: PlaceLocation?
    public var details: RoleDetails
    public var active: Bool
    public var startedOn: String
    public var endedOn: String?

    public init(
        id: UUID, residentId: UUID, personName: String, role: String, placeCode: String?, location: PlaceLocation?,
        details: RoleDetails, active: Bool, startedOn: String, endedOn: String?
    ) {
        self.id = id
        self.residentId = residentId
        self.personName = personName
        self.role = role
        self.placeCode = placeCode
        self.location = location
        self.details = details
        self.active = active
        self.startedOn = startedOn
        self.endedOn = endedOn
    }
}

public struct RoleAssigned: EventPayload, Hashable {
    public static let eventType: EventType = "registry.role.assigned.v1"
    public var role: RoleSnapshot
    public init(role: RoleSnapshot) { self.role = role }
}

public struct RoleUpdated: EventPayload, Hashable {
    public static let eventType: EventType = "registry.role.updated.v1"
    public var role: RoleSnapshot
    public init(role: RoleSnapshot) { self.role = role }
}

public struct RoleEnded: EventPayload, Hashable {
    public static let eventType: EventType = "registry.role.ended.v1"
    public var role: RoleSnapshot
    public var reason: String
    public init(role: RoleSnapshot, reason: String) {
        self.role = role
        self.reason = reason
    }
}

/// Every event type the registry publishes, for consumers' dispositions and the catalogue.
public enum RegistryEventTypes {
    public static let all: [EventType] = [
        PlaceRegistered.eventType, PlaceUpdated.eventType,
        HouseholdRegistered.eventType, HouseholdUpdated.eventType, HouseholdMoved.eventType,
        ResidentRegistered.eventType, ResidentUpdated.eventType, ResidentMoved.eventType,
        OrganisationRegistered.eventType, OrganisationUpdated.eventType,
        RoleAssigned.eventType, RoleUpdated.eventType, RoleEnded.eventType,
    ]
}
