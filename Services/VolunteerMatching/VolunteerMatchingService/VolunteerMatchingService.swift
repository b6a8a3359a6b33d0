import ServiceRuntime
import Storage

/// Volunteer service matching: needs matched to volunteers, hours recorded.
///
/// At this stage the service serves health, readiness, metrics and its OpenAPI document, owns the
/// PostgreSQL schema `volunteer_matching` (with its outbox and inbox) and runs its outbox relay.
public enum VolunteerMatchingService {
    public static let name = "volunteer-matching"

    /// Versioned SQL applied into the schema at start, after the shared messaging tables.
    public static let migrations: [Migration] = []

    public static var descriptor: ServiceDescriptor {
        ServiceDescriptor(
            name: name, schema: "volunteer_matching", migrations: migrations,
            openAPI: OpenAPIDocument.document(service: name, summary: "Volunteer service matching: needs matched to volunteers, hours recorded."))
    }
}
