import Contracts
import ServiceRuntime
import Storage

/// People's mediation: dispute cases, their deadlines, routing and escalation.
///
/// At this stage the service owns the PostgreSQL schema `mediation` (outbox, inbox, and the read model
/// of the registry's places and mediators, fed by `registry.events`), serves health, readiness,
/// metrics and its OpenAPI document, and runs its outbox relay. Cases arrive with their issue.
public enum MediationService {
    public static let name = "mediation"

    /// Versioned SQL applied into the schema at start, after the shared messaging tables.
    public static let migrations: [Migration] = MediationSchema.migrations

    public static var descriptor: ServiceDescriptor {
        ServiceDescriptor(
            name: name, schema: "mediation", migrations: migrations,
            consumers: [
                ConsumerDescriptor(topics: [Topic.registryEvents.name], groupSuffix: "-registry-projection") { _ in RegistryProjection() }
            ],
            openAPI: OpenAPIDocument.document(service: name, summary: "People's mediation: dispute cases, their deadlines, routing and escalation."))
    }
}
