import BiddingService
import Foundation
import Hummingbird
import Kafka
import Logging
import MediationService
import RegistryService
import ServiceRuntime
import Storage
import Testing
import VolunteerMatchingService

/// Each service's `/openapi.json` describes exactly the routes it serves: a route added without its
/// documentation, or documentation left behind by a removed route, fails here.
@Suite struct OpenAPIMatchesRoutes {
    static let descriptors: [ServiceDescriptor] = [
        RegistryService.descriptor(settings: RegistrySettings(idDigestKey: String(repeating: "d", count: 40))), MediationService.descriptor, VolunteerMatchingService.descriptor, BiddingService.descriptor,
    ]

    @Test(arguments: descriptors.map(\.name))
    func everyRouteIsDocumentedAndEveryDocumentedRouteExists(service: String) async throws {
        let descriptor = try #require(Self.descriptors.first { $0.name == service })
        var logger = Logger(label: "openapi-test")
        logger.logLevel = .critical
        let configuration = try RuntimeConfiguration.load(service: service, schema: descriptor.schema, environment: validEnvironment)
        // Nothing connects: the router is only built, never served.
        let producer = try KafkaProducer(config: KafkaConfig(properties: ["test.mock.num.brokers": "1", "bootstrap.servers": ""]), logger: logger)
        let dependencies = ServiceDependencies(
            configuration: configuration, database: Database(config: configuration.database, logger: logger), producer: producer,
            authority: await TokenAuthority(secret: String(repeating: "k", count: 40)), logger: logger)
        let router = ServiceHost.router(for: descriptor, dependencies: dependencies, readiness: [])
        await producer.shutdown()

        let served = Set(router.routes.map { route in
            let path = route.path.description.split(separator: "/").map { segment in
                segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
            }
            return "\(route.method.rawValue.lowercased()) /" + path.joined(separator: "/")
        })
        let document = try JSONSerialization.jsonObject(with: Data(descriptor.openAPI.utf8)) as? [String: Any]
        let paths = try #require(document?["paths"] as? [String: [String: Any]])
        let documented = Set(paths.flatMap { path, item in item.keys.map { "\($0) \(path)" } })
        #expect(served.subtracting(documented).isEmpty, "served but not documented: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")
        #expect(document?["openapi"] as? String == "3.1.0")
    }
}
