import ServiceRuntime
import Storage

/// The city's places, people and organisations: the single source of truth the other services learn from.
///
/// At this stage the service serves health, readiness, metrics and its OpenAPI document, owns the
/// PostgreSQL schema `registry` (with its outbox and inbox) and runs its outbox relay.
public enum RegistryService {
    public static let name = "registry"

    /// Versioned SQL applied into the schema at start, after the shared messaging tables.
    public static let migrations: [Migration] = []

    public static var descriptor: ServiceDescriptor {
        ServiceDescriptor(
            name: name, schema: "registry", migrations: migrations,
            openAPI: OpenAPIDocument.document(service: name, summary: "The city's places, people and organisations: the single source of truth the other services learn from."))
    }
}
