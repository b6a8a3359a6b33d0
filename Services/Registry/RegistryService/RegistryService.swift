import Contracts
import Foundation
import Messaging
import ServiceRuntime
import Storage

/// The city's places, people and organisations: the single source of truth the other services learn
/// from (DOMAIN.md, "collect once, share everywhere").
///
/// Owns schema `registry`; serves the API under `/api/v1` (places, households, residents,
/// organisations, roles, size report, audit log); consumes `district.inbound` (district systems'
/// records); publishes every change on `registry.events` through the outbox.
public enum RegistryService {
    public static let name = "registry"

    /// Versioned SQL applied into the schema at start, after the shared messaging and HTTP tables.
    public static let migrations: [Migration] = RegistrySchema.migrations

    public static func descriptor(settings: RegistrySettings, clock: @escaping @Sendable () -> Date = Date.init) -> ServiceDescriptor {
        let digest = NationalIDDigest(secret: settings.idDigestKey)
        return ServiceDescriptor(
            name: name, schema: "registry", migrations: migrations,
            consumers: [
                ConsumerDescriptor(topics: [Topic.districtInbound.name], groupSuffix: "-district-ingress") { _ in
                    DistrictIngress(digest: digest, clock: clock)
                }
            ],
            openAPI: RegistryOpenAPI.document,
            routes: { api, dependencies in
                RegistryAPI(database: dependencies.database, digest: digest, logger: dependencies.logger, clock: clock).register(on: api)
            })
    }

    /// Reads the registry's settings and runs the service; exits 78 when a setting is missing or bad.
    public static func main() async -> Never {
        var environment = EnvironmentReader()
        let settings = RegistrySettings(reading: &environment)
        await ServiceHost.main(descriptor(settings: settings), settingProblems: environment.problems)
    }
}
