import Foundation
import Logging
import PostgresNIO
import ServiceRuntime

/// Who is changing or reading the registry: a person through the API, or a district system through
/// the ingress topic. Writes check the actor's scope against every place they touch, the same way for both.
public struct RegistryActor: Sendable {
    public var subject: String
    public var role: Role
    public var name: String?
    public var scope: Scope

    public init(subject: String, role: Role, name: String?, scope: Scope) {
        self.subject = subject
        self.role = role
        self.name = name
        self.scope = scope
    }

    public init(_ principal: Principal) {
        self.init(subject: principal.subject, role: principal.role, name: principal.name, scope: principal.scope)
    }

    /// A district system publishing into `district.inbound`: it may write in its own district only.
    public static func district(_ code: String) -> RegistryActor {
        RegistryActor(subject: "district:\(code)", role: .districtIntegrator, name: nil, scope: Scope(level: .district, id: code))
    }

    /// How history rows name who recorded them.
    var recordedBy: String { subject }

    /// Throws unless the actor's scope includes `place`.
    func requireScope(_ place: PlacePath, kind: String, id: String) throws(RegistryError) {
        guard scope.covers(place) else {
            throw .outOfScope(scope: scope.description, kind: kind, id: id, place: place.description)
        }
    }
}

/// Which roles may do what in the registry (ARCHITECTURE.md, HTTP conventions; DOMAIN.md, sensitive data).
public enum RegistryAccess {
    /// Staff who read the registry within their scope.
    public static let readers: Set<Role> = [.cityAdmin, .districtOperator, .streetOperator, .communityWorker, .gridWorker, .auditor, .districtIntegrator]
    /// Staff who register and update people, households, organisations and roles within their scope.
    public static let writers: Set<Role> = [.cityAdmin, .districtOperator, .streetOperator, .communityWorker, .gridWorker, .districtIntegrator]
    /// Who draws the hierarchy (districts only at city level: see `PlaceStore`).
    public static let placeWriters: Set<Role> = [.cityAdmin, .districtOperator, .streetOperator, .districtIntegrator]
    /// Who may see and record sensitive-group membership (community correction, released prisoners,
    /// drug users, mental illness; 001, 003): those who serve these residents. Every read is logged.
    public static let sensitiveReaders: Set<Role> = [.cityAdmin, .districtOperator, .communityWorker]
    /// Who reads the audit log.
    public static let auditReaders: Set<Role> = [.cityAdmin, .auditor]

    /// The place filter a caller's scope imposes on lists: a district operator lists only its district.
    static func scopeFilter(_ scope: Scope) throws(RegistryError) -> PlacePath {
        switch scope.level {
        case .city: PlacePath()
        case .district: PlacePath(district: scope.id)
        case .street: PlacePath(street: scope.id)
        case .community: PlacePath(community: scope.id)
        case .organisation: throw .forbidden("An organisation's token does not cover people or places; use a staff token.")
        }
    }
}
