import Foundation
import ServiceRuntime

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Where the four services answer, from flags or `REGISTRY_URL`, `MEDIATION_URL`,
/// `VOLUNTEER_MATCHING_URL` and `BIDDING_URL` (defaults: the local stack's 8081–8084).
public struct ServiceEndpoints: Sendable {
    public var registry: URL
    public var mediation: URL
    public var volunteerMatching: URL
    public var bidding: URL

    public static let variables = ["REGISTRY_URL", "MEDIATION_URL", "VOLUNTEER_MATCHING_URL", "BIDDING_URL"]

    public init(environment: [String: String]) throws(CityAPIError) {
        func url(_ variable: String, _ port: Int) throws(CityAPIError) -> URL {
            let text = environment[variable] ?? "http://127.0.0.1:\(port)"
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw .configuration("\(variable) must be an http(s) URL, got '\(text)'")
            }
            return url
        }
        registry = try url("REGISTRY_URL", 8081)
        mediation = try url("MEDIATION_URL", 8082)
        volunteerMatching = try url("VOLUNTEER_MATCHING_URL", 8083)
        bidding = try url("BIDDING_URL", 8084)
    }

    public var all: [(name: String, url: URL)] {
        [("registry", registry), ("mediation", mediation), ("volunteer-matching", volunteerMatching), ("bidding", bidding)]
    }
}

/// Every variable cityctl reads besides librdkafka's `KAFKA_*` (the compose file is checked against it).
public enum CityControlEnvironment {
    public static let variables = ServiceEndpoints.variables + ["KAFKA_BOOTSTRAP_SERVERS", "AUTH_JWT_SECRET", "CITY_TOKEN", "CITY_SCHEMAS_DIR"]
}

public enum CityAPIError: Error, CustomStringConvertible {
    case configuration(String)
    case unreachable(URL, String)
    case status(URL, Int, String)

    public var description: String {
        switch self {
        case .configuration(let problem): problem
        case .unreachable(let url, let reason): "\(url.absoluteString) did not answer: \(reason)"
        case .status(let url, let code, let body): "\(url.absoluteString) answered \(code): \(body.prefix(400))"
        }
    }
}

/// A small HTTP client for the services' APIs, with a bearer token: the one given (`CITY_TOKEN`), or
/// one minted for the operator from `AUTH_JWT_SECRET` (city-admin, city scope, one hour).
public struct CityAPI: Sendable {
    public var token: String?
    let session: URLSession

    public init(token: String?) {
        self.token = token
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        session = URLSession(configuration: configuration)
    }

    public static func operatorToken(environment: [String: String]) async throws -> String? {
        if let token = environment["CITY_TOKEN"], !token.isEmpty { return token }
        guard let secret = environment["AUTH_JWT_SECRET"], secret.count >= 32 else { return nil }
        let authority = await TokenAuthority(secret: secret)
        return try await authority.issue(
            AccessClaims(subject: "cityctl", role: .cityAdmin, scope: .city, expires: Date().addingTimeInterval(3600), name: "cityctl"))
    }

    /// The body and status of a GET; a connection failure is thrown, any status is returned.
    public func get(_ url: URL, authorised: Bool = true) async throws(CityAPIError) -> (status: Int, body: Data) {
        var request = URLRequest(url: url)
        if authorised, let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        do {
            let (data, response) = try await session.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        } catch {
            throw .unreachable(url, error.localizedDescription)
        }
    }

    /// POSTs a JSON body; returns the 2xx JSON answer, or throws the problem the service answered with.
    public func post(_ url: URL, json: Data) async throws(CityAPIError) -> JSONValue {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = json
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        let status: Int, body: Data
        do {
            let (data, response) = try await session.data(for: request)
            (status, body) = ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        } catch {
            throw .unreachable(url, error.localizedDescription)
        }
        return try Self.answer(url, status: status, body: body)
    }

    /// A 2xx JSON body, or the problem the service answered with.
    public func json(_ url: URL) async throws(CityAPIError) -> JSONValue {
        let (status, body) = try await get(url)
        return try Self.answer(url, status: status, body: body)
    }

    private static func answer(_ url: URL, status: Int, body: Data) throws(CityAPIError) -> JSONValue {
        guard (200..<300).contains(status) else {
            let problem = try? JSONValue.parse(body)
            var detail = problem?["detail"]?.stringValue ?? String(decoding: body, as: UTF8.self)
            if case .array(let errors)? = problem?["errors"] {
                detail += errors.compactMap { error in
                    error["field"]?.stringValue.map { " \($0): \(error["problem"]?.stringValue ?? "")." }
                }.joined()
            }
            throw .status(url, status, status == 401 ? "\(detail) (set AUTH_JWT_SECRET or CITY_TOKEN)" : detail)
        }
        do {
            return try JSONValue.parse(body)
        } catch {
            throw .status(url, status, "the body is not JSON")
        }
    }

    /// Every item of a paged list (`items`, `nextCursor`), up to `limit` items.
    public func list(_ url: URL, limit: Int = 10_000) async throws(CityAPIError) -> [JSONValue] {
        var items: [JSONValue] = []
        var cursor: String?
        repeat {
            var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
            var query = components.queryItems ?? []
            query.append(URLQueryItem(name: "limit", value: "500"))
            if let cursor { query.append(URLQueryItem(name: "cursor", value: cursor)) }
            components.queryItems = query
            let page = try await json(components.url!)
            if case .array(let found) = page["items"] { items += found }
            cursor = page["nextCursor"]?.stringValue
        } while cursor != nil && items.count < limit
        return Array(items.prefix(limit))
    }

    /// The grids and buildings of a district, as the registry knows them (for the simulator).
    public func places(of district: String, registry: URL) async throws(CityAPIError) -> DistrictSimulator.Places {
        func codes(_ level: String) async throws(CityAPIError) -> [String] {
            var components = URLComponents(url: registry.appendingPathComponent("api/v1/places"), resolvingAgainstBaseURL: false)!
            components.queryItems = [URLQueryItem(name: "level", value: level), URLQueryItem(name: "district", value: district)]
            return try await list(components.url!).compactMap { $0["code"]?.stringValue }
        }
        return DistrictSimulator.Places(grids: try await codes("grid"), buildings: try await codes("building"))
    }
}
