import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kafka
import ServiceLifecycle
import ServiceRuntime
import Storage

/// What a service's router answered, and the JSON it holds.
struct APIReply {
    var status: HTTPResponse.Status
    var body: String
    var headers: HTTPFields

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
    var fieldsWithProblems: [String] { (json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String } }
}

/// A service's router under test, called the way a client would call the API.
protocol RouterHarness {
    var client: any TestClientProtocol { get }
}

extension RouterHarness {
    /// One request with a bearer token; `body` is encoded as JSON.
    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ uri: String, token: String, body: [String: Any]? = nil, headers extra: [String: String] = [:]
    ) async throws -> APIReply {
        var headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
        for (name, value) in extra { headers[HTTPFields.Element.Name(name)!] = value }
        let buffer = try body.map { ByteBuffer(data: try JSONSerialization.data(withJSONObject: $0)) }
        return try await client.execute(uri: uri, method: method, headers: headers, body: buffer) { response in
            APIReply(status: response.status, body: String(buffer: response.body), headers: response.headers)
        }
    }
}

/// What a router drill gets: the client that calls the router, the token authority, and the service's
/// workers built on the same dependencies (for rounds run by hand).
struct ServedRouter {
    var client: any TestClientProtocol
    var authority: TokenAuthority
    var workers: [any Service]
}

extension Stack {
    /// Serves `descriptor`'s router on `database` (schema `schema`) for `body`, as the service would
    /// build it, and shuts its producer down afterwards.
    static func serveRouter(
        _ descriptor: ServiceDescriptor, schema: String, secret: String, database: Database, _ body: @Sendable (ServedRouter) async throws -> Void
    ) async throws {
        var environment = Stack.environment
        environment["AUTH_JWT_SECRET"] = secret
        environment["POSTGRES_SCHEMA"] = schema
        let configuration = try RuntimeConfiguration.load(service: descriptor.name, schema: schema, environment: environment)
        let producer = try KafkaProducer(config: try Stack.kafka(), logger: Stack.logger)
        let authority = await TokenAuthority(secret: secret)
        let dependencies = ServiceDependencies(configuration: configuration, database: database, producer: producer, authority: authority, logger: Stack.logger)
        let router = ServiceHost.router(for: descriptor, dependencies: dependencies, readiness: [])
        let workers = descriptor.workers(dependencies)
        let app = Application(router: router, logger: Stack.logger)
        do {
            try await app.test(.router) { client in
                try await body(ServedRouter(client: client, authority: authority, workers: workers))
            }
        } catch {
            await producer.shutdown()
            throw error
        }
        await producer.shutdown()
    }
}
