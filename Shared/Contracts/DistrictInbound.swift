import Foundation

// The contract for district systems publishing into `district.inbound` (docs/district-ingress.md).
//
// - `source` is `/district/<district code>`: the registry refuses any record that touches a place
//   outside that district (the record goes to `district.inbound.dead-letter` with the reason).
// - The record key is the district code, so one district's records stay in order (a household before
//   the residents who live in it) while districts are consumed in parallel.
// - Ids are chosen by the district system (UUIDs it keeps), so re-sending a record is harmless:
//   `registered` creates or brings up to date, `updated` requires the record to exist, and a record
//   that changes nothing publishes nothing.

/// The event types a district may publish, and which record each carries.
public enum DistrictInbound {
    public static let householdRegistered: EventType = "district.household.registered.v1"
    public static let householdUpdated: EventType = "district.household.updated.v1"
    public static let residentRegistered: EventType = "district.resident.registered.v1"
    public static let residentUpdated: EventType = "district.resident.updated.v1"
    public static let organisationRegistered: EventType = "district.organisation.registered.v1"
    public static let organisationUpdated: EventType = "district.organisation.updated.v1"
    public static let roleAssigned: EventType = "district.role.assigned.v1"
    public static let roleEnded: EventType = "district.role.ended.v1"
    /// Taken by the mediation service.
    public static let disputeReported: EventType = "district.dispute.reported.v1"
    /// Taken by the volunteer-matching service.
    public static let serviceNeedReported: EventType = "district.service-need.reported.v1"

    /// The registry's types.
    public static let registryTypes: [EventType] = [
        householdRegistered, householdUpdated, residentRegistered, residentUpdated,
        organisationRegistered, organisationUpdated, roleAssigned, roleEnded,
    ]
    /// Every documented type; anything else on the topic is dead-lettered as unknown.
    public static let allTypes: [EventType] = registryTypes + [disputeReported, serviceNeedReported]

    /// The `source` a district publishes under.
    public static func source(district: String) -> String { "/district/\(district)" }

    /// The district code in a `source`, or `nil` when the source is not a district's.
    public static func district(fromSource source: String) -> String? {
        let prefix = "/district/"
        guard source.hasPrefix(prefix) else { return nil }
        let code = String(source.dropFirst(prefix.count))
        return code.isEmpty || code.contains("/") ? nil : code
    }

    /// Builds an event as a district system would publish it.
    public static func event<Record: Encodable>(
        district: String, type: EventType, subject: String, record: Record, id: UUID = UUID.random(), time: Date = Date()
    ) throws -> CloudEvent {
        CloudEvent(id: id, source: source(district: district), type: type, subject: subject, time: time, data: try EventCoding.encode(record))
    }
}

/// `district.household.registered.v1` / `district.household.updated.v1`.
public struct DistrictHousehold: Codable, Sendable, Hashable {
    public var id: UUID
    /// The building the household lives in; a different building than before is a move.
    public var buildingCode: String
    /// Door, floor and unit within the building.
    public var address: String

    public init(id: UUID, buildingCode: String, address: String) {
        self.id = id
        self.buildingCode = buildingCode
        self.address = address
    }
}

/// Floating-population registration (流动人口登记办证, 003).
public struct FloatingRegistration: Codable, Sendable, Hashable {
    /// Where the resident is registered (户籍地), e.g. a province and county.
    public var origin: String
    /// `YYYY-MM-DD`.
    public var arrivedOn: String
    /// Residence permit (居住证) number, once issued.
    public var permitNumber: String?
    /// `YYYY-MM-DD`.
    public var permitExpiresOn: String?
    /// Why the resident came: work, study, family, ...
    public var purpose: String?

    public init(origin: String, arrivedOn: String, permitNumber: String? = nil, permitExpiresOn: String? = nil, purpose: String? = nil) {
        self.origin = origin
        self.arrivedOn = arrivedOn
        self.permitNumber = permitNumber
        self.permitExpiresOn = permitExpiresOn
        self.purpose = purpose
    }
}

/// `district.resident.registered.v1` / `district.resident.updated.v1`.
public struct DistrictResident: Codable, Sendable, Hashable {
    public var id: UUID
    /// The household the resident lives in; a different household than before is a move.
    public var householdId: UUID
    public var name: String
    /// GB 11643 resident identity number; validated, stored as a keyed digest and a masked form only.
    public var nationalId: String
    public var phone: String?
    /// `registered` or `floating`.
    public var residency: String
    /// Required when `residency` is `floating`.
    public var floating: FloatingRegistration?
    /// Group names (elderly, disabled, low-income, ..., and the sensitive ones).
    public var groups: [String]?

    public init(
        id: UUID, householdId: UUID, name: String, nationalId: String, phone: String? = nil, residency: String,
        floating: FloatingRegistration? = nil, groups: [String]? = nil
    ) {
        self.id = id
        self.householdId = householdId
        self.name = name
        self.nationalId = nationalId
        self.phone = phone
        self.residency = residency
        self.floating = floating
        self.groups = groups
    }
}

/// `district.organisation.registered.v1` / `district.organisation.updated.v1`.
public struct DistrictOrganisation: Codable, Sendable, Hashable {
    public var id: UUID
    public var name: String
    public var kind: String
    public var legalPerson: Bool
    public var registrationAuthority: String?
    public var registrationNumber: String?
    /// The district or a place inside it that the organisation serves.
    public var servesPlace: String

    public init(
        id: UUID, name: String, kind: String, legalPerson: Bool, registrationAuthority: String? = nil,
        registrationNumber: String? = nil, servesPlace: String
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.legalPerson = legalPerson
        self.registrationAuthority = registrationAuthority
        self.registrationNumber = registrationNumber
        self.servesPlace = servesPlace
    }
}

/// `district.role.assigned.v1`: a resident takes a role at a place (assigning an existing role id again
/// brings its details up to date).
public struct DistrictRole: Codable, Sendable, Hashable {
    public var id: UUID
    public var residentId: UUID
    public var role: String
    /// Where the role serves; only a city-wide expert has none.
    public var placeCode: String?
    public var details: RoleDetails?
    /// `YYYY-MM-DD`; today when absent.
    public var startedOn: String?

    public init(id: UUID, residentId: UUID, role: String, placeCode: String?, details: RoleDetails? = nil, startedOn: String? = nil) {
        self.id = id
        self.residentId = residentId
        self.role = role
        self.placeCode = placeCode
        self.details = details
        self.startedOn = startedOn
    }
}

/// `district.role.ended.v1`.
public struct DistrictRoleEnd: Codable, Sendable, Hashable {
    public var id: UUID
    public var reason: String
    /// `YYYY-MM-DD`; today when absent.
    public var endedOn: String?

    public init(id: UUID, reason: String, endedOn: String? = nil) {
        self.id = id
        self.reason = reason
        self.endedOn = endedOn
    }
}

/// `district.dispute.reported.v1`: a dispute a district system recorded (hotline, petition office,
/// online channel). The mediation service opens a case for it, once per `id`.
public struct DistrictDispute: Codable, Sendable, Hashable {
    public struct Party: Codable, Sendable, Hashable {
        public var residentId: UUID?
        public var organisationId: UUID?
        public var name: String
        public var contact: String?

        public init(residentId: UUID? = nil, organisationId: UUID? = nil, name: String, contact: String? = nil) {
            self.residentId = residentId
            self.organisationId = organisationId
            self.name = name
            self.contact = contact
        }
    }

    public var id: UUID
    /// The grid code where the dispute arose; it must lie in the source district.
    public var grid: String
    public var category: String
    /// `minor` or `major`.
    public var severity: String
    public var description: String
    public var specialNeeds: [String]?
    public var parties: [Party]
    /// `court` or `police` when the matter is before them already (the case is refused).
    public var alreadyBefore: String?

    public init(
        id: UUID, grid: String, category: String, severity: String, description: String, specialNeeds: [String]? = nil, parties: [Party],
        alreadyBefore: String? = nil
    ) {
        self.id = id
        self.grid = grid
        self.category = category
        self.severity = severity
        self.description = description
        self.specialNeeds = specialNeeds
        self.parties = parties
        self.alreadyBefore = alreadyBefore
    }
}

/// `district.service-need.reported.v1`: a resident's or household's need for volunteer service, as a
/// district's service hotline or community system recorded it. Taken by the volunteer-matching service.
public struct DistrictServiceNeed: Codable, Sendable, Hashable {
    public var id: UUID
    public var householdId: UUID?
    public var residentId: UUID?
    /// The grid where the service is given; it must lie in the source district.
    public var grid: String
    /// `day-care`, `elder-care`, `meal-delivery`, `after-school-care`, `rehabilitation`, `nursing`,
    /// `tutoring`, `counselling`, `hardship-help`, `migrant-worker-training`, `other`.
    public var kind: String
    public var skills: [String]?
    /// One-off windows.
    public var windows: [ServiceWindow]?
    /// Or a weekly schedule, expanded into windows between `from` and `until`.
    public var schedule: ServiceSchedule?
    /// How many volunteers the need asks for (1 when absent).
    public var volunteers: Int?
    /// `routine`, `soon` or `urgent` (`routine` when absent).
    public var urgency: String?
    /// Who to call and where to go; shown to a volunteer only once the assignment is confirmed.
    public var contact: ServiceContact?
    public var notes: String?

    public init(
        id: UUID, householdId: UUID? = nil, residentId: UUID? = nil, grid: String, kind: String, skills: [String]? = nil,
        windows: [ServiceWindow]? = nil, schedule: ServiceSchedule? = nil, volunteers: Int? = nil, urgency: String? = nil,
        contact: ServiceContact? = nil, notes: String? = nil
    ) {
        self.id = id
        self.householdId = householdId
        self.residentId = residentId
        self.grid = grid
        self.kind = kind
        self.skills = skills
        self.windows = windows
        self.schedule = schedule
        self.volunteers = volunteers
        self.urgency = urgency
        self.contact = contact
        self.notes = notes
    }
}

/// A stretch of time a service takes.
public struct ServiceWindow: Codable, Sendable, Hashable {
    public var start: Date
    public var end: Date

    public init(start: Date, end: Date) {
        self.start = start
        self.end = end
    }
}

/// A recurring weekly schedule: slots such as `tue 14:00-16:00`, from one day until another
/// (`YYYY-MM-DD`, both included), in the city's time zone.
public struct ServiceSchedule: Codable, Sendable, Hashable {
    public var weekly: [String]
    public var from: String
    public var until: String

    public init(weekly: [String], from: String, until: String) {
        self.weekly = weekly
        self.from = from
        self.until = until
    }
}

/// Who a volunteer contacts for a need, and where the service happens.
public struct ServiceContact: Codable, Sendable, Hashable {
    public var name: String
    public var phone: String?
    public var address: String?

    public init(name: String, phone: String? = nil, address: String? = nil) {
        self.name = name
        self.phone = phone
        self.address = address
    }
}
