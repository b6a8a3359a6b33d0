import Foundation
import Hummingbird
import JWTKit

/// Who may do what: a role and the part of the city it covers.
public enum Role: String, Codable, Sendable, CaseIterable {
    case cityAdmin = "city-admin"
    case districtOperator = "district-operator"
    case streetOperator = "street-operator"
    case communityWorker = "community-worker"
    case gridWorker = "grid-worker"
    case mediator
    case volunteer
    case organisation
    case districtIntegrator = "district-integrator"
    case auditor
    /// A member of the expert pool; the subject is the expert's registry role id.
    case expert
}

/// The part of the city a token covers: `city`, `district:<code>`, `street:<code>`, `community:<code>`,
/// `organisation:<id>`.
public struct Scope: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Level: String, Sendable, Codable, CaseIterable { case city, district, street, community, organisation }

    public var level: Level
    public var id: String?

    public init(level: Level, id: String? = nil) {
        self.level = level
        self.id = id
    }

    public static let city = Scope(level: .city)

    public init?(text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard let level = parts.first.flatMap(Level.init(rawValue:)) else { return nil }
        if level == .city {
            guard parts.count == 1 else { return nil }
            self.init(level: .city)
        } else {
            guard parts.count == 2, !parts[1].isEmpty else { return nil }
            self.init(level: level, id: parts[1])
        }
    }

    public var description: String { id.map { "\(level.rawValue):\($0)" } ?? level.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let scope = Scope(text: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad scope '\(text)'"))
        }
        self = scope
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Whether this scope includes a place. A place names the codes of its ancestors it knows.
    public func covers(_ place: PlacePath) -> Bool {
        switch level {
        case .city: true
        case .district: place.district == id
        case .street: place.street == id
        case .community: place.community == id
        case .organisation: place.organisation == id
        }
    }
}

/// Where something is in the city's hierarchy, as far as it is known.
public struct PlacePath: Sendable, Hashable {
    public var district: String?
    public var street: String?
    public var community: String?
    public var organisation: String?

    public init(district: String? = nil, street: String? = nil, community: String? = nil, organisation: String? = nil) {
        self.district = district
        self.street = street
        self.community = community
        self.organisation = organisation
    }
}

extension PlacePath: CustomStringConvertible {
    public var description: String {
        let parts = [district.map { "district \($0)" }, street.map { "street \($0)" }, community.map { "community \($0)" }].compactMap { $0 }
        return parts.isEmpty ? "the whole city" : parts.joined(separator: " / ")
    }
}

/// The claims in a bearer token.
public struct AccessClaims: JWTPayload, Equatable {
    public var sub: SubjectClaim
    public var exp: ExpirationClaim
    public var role: Role
    public var scope: Scope
    /// Display name for audit trails.
    public var name: String?

    public init(subject: String, role: Role, scope: Scope, expires: Date, name: String? = nil) {
        self.sub = SubjectClaim(value: subject)
        self.exp = ExpirationClaim(value: expires)
        self.role = role
        self.scope = scope
        self.name = name
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// The authenticated caller of a request.
public struct Principal: Sendable, Hashable {
    public var subject: String
    public var role: Role
    public var scope: Scope
    public var name: String?

    public init(subject: String, role: Role, scope: Scope, name: String? = nil) {
        self.subject = subject
        self.role = role
        self.scope = scope
        self.name = name
    }

    /// Throws 403 unless the caller's scope includes `place`.
    public func requireScope(covering place: PlacePath, action: String) throws(ProblemDetails) {
        guard scope.covers(place) else {
            throw .forbidden("Your scope \(scope) does not include this \(action).")
        }
    }

    /// Throws 403 unless the caller holds one of `roles`.
    public func requireRole(_ roles: Set<Role>, action: String) throws(ProblemDetails) {
        guard roles.contains(role) else {
            throw .forbidden("The role \(role.rawValue) may not \(action).")
        }
    }
}

/// Verifies and issues HS256 bearer tokens.
public struct TokenAuthority: Sendable {
    let keys: JWTKeyCollection

    public init(secret: String) async {
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    }

    public func issue(_ claims: AccessClaims) async throws -> String {
        try await keys.sign(claims)
    }

    public func verify(_ token: String) async throws(ProblemDetails) -> Principal {
        do {
            let claims = try await keys.verify(token, as: AccessClaims.self)
            return Principal(subject: claims.sub.value, role: claims.role, scope: claims.scope, name: claims.name)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw .unauthorized("The token has expired; request a new one.")
        } catch {
            throw .unauthorized("The token is not valid: it is malformed, its signature does not match, or a claim is missing.")
        }
    }
}

/// A request context that carries the authenticated caller.
public protocol AuthenticatedContext: RequestContext {
    var principal: Principal? { get set }
}

extension AuthenticatedContext {
    /// The caller, or 401 when the route was reached without authentication.
    public func requirePrincipal() throws(ProblemDetails) -> Principal {
        guard let principal else { throw .unauthorized("This endpoint needs a bearer token.") }
        return principal
    }

    /// The caller, who must hold one of `roles` (403 otherwise).
    public func requirePrincipal(roles: Set<Role>, action: String) throws(ProblemDetails) -> Principal {
        let principal = try requirePrincipal()
        try principal.requireRole(roles, action: action)
        return principal
    }

    /// A path parameter that must be a UUID (400 otherwise).
    public func uuidParameter(_ name: String = "id") throws -> UUID {
        let text = try parameters.require(name)
        guard let id = UUID(uuidString: text) else { throw ProblemDetails.badRequest("\(name) must be a UUID, got '\(text.prefix(40))'.") }
        return id
    }
}

/// Requires `Authorization: Bearer <jwt>` on every route behind it.
public struct BearerAuthMiddleware<Context: AuthenticatedContext>: RouterMiddleware {
    let authority: TokenAuthority

    public init(authority: TokenAuthority) {
        self.authority = authority
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw ProblemDetails.unauthorized("Send a bearer token: Authorization: Bearer <token>.")
        }
        guard header.lowercased().hasPrefix("bearer ") else {
            throw ProblemDetails.unauthorized("Only bearer tokens are accepted.")
        }
        var context = context
        context.principal = try await authority.verify(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        context.logger[metadataKey: "auth.subject"] = "\(context.principal!.subject)"
        return try await next(request, context)
    }
}
