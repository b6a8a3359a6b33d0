import ServiceRuntime
import Storage

/// People's mediation: dispute cases, their deadlines, routing and escalation.
///
/// At this stage the service serves health, readiness, metrics and its OpenAPI document, owns the
/// PostgreSQL schema `mediation` (with its outbox and inbox) and runs its outbox relay.
public enum MediationService {
    public static let name = "mediation"

    /// Versioned SQL applied into the schema at start, after the shared messaging tables.
    public static let migrations: [Migration] = []

    public static var descriptor: ServiceDescriptor {
        ServiceDescriptor(
            name: name, schema: "mediation", migrations: migrations,
            openAPI: OpenAPIDocument.document(service: name, summary: "People's mediation: dispute cases, their deadlines, routing and escalation."))
    }
}
