import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import ServiceRuntime
import Testing

let validEnvironment = [
    "POSTGRES_HOST": "db", "POSTGRES_USER": "registry", "POSTGRES_PASSWORD": "pw", "POSTGRES_DB": "city",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092", "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_PASSWORD": "hunter2",
    "AUTH_JWT_SECRET": String(repeating: "s", count: 32),
]

@Suite struct Configuration {
    @Test func aCompleteEnvironmentLoadsWithDefaults() throws {
        let configuration = try RuntimeConfiguration.load(service: "registry", schema: "registry", environment: validEnvironment)
        #expect(configuration.httpPort == 8080)
        #expect(configuration.database.schema == "registry")
        #expect(configuration.kafka.properties["bootstrap.servers"] == "kafka:9092")
        #expect(configuration.kafka.properties["security.protocol"] == "SASL_SSL")
        #expect(configuration.printable["kafka.sasl.password"] == "****")
        #expect(!configuration.printable.values.contains { $0.contains("hunter2") || $0.contains("pw@") })
    }

    @Test func everyProblemIsReportedAtOnce() {
        var environment = validEnvironment
        environment.removeValue(forKey: "POSTGRES_HOST")
        environment.removeValue(forKey: "KAFKA_BOOTSTRAP_SERVERS")
        environment["HTTP_PORT"] = "99999"
        environment["AUTH_JWT_SECRET"] = "short"
        environment["POSTGRES_SCHEMA"] = "Bad-Name"
        environment["KAFKA_CREATE_TOPICS_ON_START"] = "maybe"
        let error = #expect(throws: ConfigurationErrors.self) {
            try RuntimeConfiguration.load(service: "registry", schema: "registry", environment: environment)
        }
        let variables = Set(error?.problems.map(\.variable) ?? [])
        #expect(variables == ["POSTGRES_HOST", "KAFKA_BOOTSTRAP_SERVERS", "HTTP_PORT", "AUTH_JWT_SECRET", "POSTGRES_SCHEMA", "KAFKA_CREATE_TOPICS_ON_START"])
        #expect(error?.description.contains("HTTP_PORT must be between 0 and 65535, got 99999") == true)
    }

    @Test func ourOwnKafkaSwitchIsNotPassedToLibrdkafka() throws {
        var environment = validEnvironment
        environment["KAFKA_CREATE_TOPICS_ON_START"] = "true"
        let configuration = try RuntimeConfiguration.load(service: "registry", schema: "registry", environment: environment)
        #expect(configuration.createTopics)
        #expect(configuration.kafka.properties["create.topics.on.start"] == nil)
    }
}

@Suite struct HTTPRuntime {
    static let secret = String(repeating: "k", count: 40)

    func makeRouter(readiness: [ReadinessCheck] = [], authority: TokenAuthority) -> Router<AppContext> {
        buildRouter(service: "test", openAPI: #"{"openapi":"3.1.0"}"#, readiness: readiness, authority: authority) { api in
            api.get("districts/:code/report") { _, context -> String in
                let code = try context.parameters.require("code")
                let principal = try context.requirePrincipal()
                try principal.requireScope(covering: PlacePath(district: code), action: "district's report")
                return "report for \(code)"
            }
        }
    }

    func token(_ authority: TokenAuthority, role: Role = .districtOperator, scope: Scope, expires: Date = Date().addingTimeInterval(600)) async throws -> String {
        try await authority.issue(AccessClaims(subject: "worker-1", role: role, scope: scope, expires: expires))
    }

    func problem(_ response: TestResponse) throws -> ProblemDetails {
        #expect(response.headers[.contentType] == "application/problem+json")
        return try JSONDecoder().decode(ProblemDetails.self, from: Data(buffer: response.body))
    }

    @Test func liveReadyAndMetricsAnswer() async throws {
        MetricsSetup.bootstrap()
        let authority = await TokenAuthority(secret: Self.secret)
        let app = Application(router: makeRouter(readiness: [ReadinessCheck(name: "postgres") { true }], authority: authority))
        try await app.test(.router) { client in
            try await client.execute(uri: "/health/live", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""postgres":"up""#))
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                #expect(String(buffer: response.body).contains("# TYPE"))
            }
            try await client.execute(uri: "/openapi.json", method: .get) { #expect(String(buffer: $0.body).contains("3.1.0")) }
        }
    }

    @Test func readinessIs503WhenADependencyIsDown() async throws {
        let authority = await TokenAuthority(secret: Self.secret)
        let checks = [ReadinessCheck(name: "postgres") { false }, ReadinessCheck(name: "kafka") { true }]
        let app = Application(router: makeRouter(readiness: checks, authority: authority))
        try await app.test(.router) { client in
            try await client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let report = try JSONDecoder().decode(ReadinessReport.self, from: Data(buffer: response.body))
                #expect(report == ReadinessReport(status: "not-ready", checks: ["postgres": "down", "kafka": "up"]))
            }
        }
    }

    @Test func requestsWithoutAValidTokenGet401Problems() async throws {
        let authority = await TokenAuthority(secret: Self.secret)
        let otherAuthority = await TokenAuthority(secret: String(repeating: "x", count: 40))
        let app = Application(router: makeRouter(authority: authority))
        let expired = try await token(authority, scope: Scope.city, expires: Date().addingTimeInterval(-60))
        let forged = try await token(otherAuthority, scope: Scope.city)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/me", method: .get) { response in
                #expect(response.status == .unauthorized)
                let details = try problem(response)
                #expect(details.type.hasSuffix("/unauthorized"))
            }
            try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(expired)"]) { response in
                #expect(response.status == .unauthorized)
                let details = try problem(response)
                #expect(details.detail?.contains("expired") == true)
            }
            for header in ["Bearer \(forged)", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz"] {
                try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: header]) { response in
                    #expect(response.status == .unauthorized)
                    _ = try problem(response)
                }
            }
        }
    }

    @Test func aTokenOutsideTheScopeGets403AndOneInsideGetsThrough() async throws {
        let authority = await TokenAuthority(secret: Self.secret)
        let app = Application(router: makeRouter(authority: authority))
        let d01 = try await token(authority, scope: Scope(level: .district, id: "D01"))
        let city = try await token(authority, role: .cityAdmin, scope: .city)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/districts/D02/report", method: .get, headers: [.authorization: "Bearer \(d01)"]) { response in
                #expect(response.status == .forbidden)
                let details = try problem(response)
                #expect(details.detail == "Your scope district:D01 does not include this district's report.")
            }
            try await client.execute(uri: "/api/v1/districts/D01/report", method: .get, headers: [.authorization: "Bearer \(d01)"]) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "report for D01")
            }
            try await client.execute(uri: "/api/v1/districts/D02/report", method: .get, headers: [.authorization: "Bearer \(city)"]) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(d01)"]) { response in
                let me = try JSONDecoder().decode(PrincipalView.self, from: Data(buffer: response.body))
                #expect(me == PrincipalView(subject: "worker-1", role: "district-operator", scope: "district:D01", name: nil))
            }
        }
    }

    @Test func unknownRoutesAreProblemsToo() async throws {
        let authority = await TokenAuthority(secret: Self.secret)
        let app = Application(router: makeRouter(authority: authority))
        try await app.test(.router) { client in
            try await client.execute(uri: "/no/such/thing", method: .get) { response in
                #expect(response.status == .notFound)
                let details = try problem(response)
                #expect(details.statusCode == 404)
            }
        }
    }

    @Test(arguments: ["city", "district:D01", "street:S-3", "community:C9", "organisation:org-1"])
    func scopesReadBackAsWritten(text: String) throws {
        #expect(try #require(Scope(text: text)).description == text)
    }

    @Test(arguments: ["", "planet", "district", "district:", "city:x"])
    func malformedScopesAreRefused(text: String) {
        #expect(Scope(text: text) == nil)
    }
}
