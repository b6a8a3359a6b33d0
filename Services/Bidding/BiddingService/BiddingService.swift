import ServiceRuntime
import Storage

/// Government purchase of services: projects, tenders, sealed bids, expert panels and milestones.
///
/// At this stage the service serves health, readiness, metrics and its OpenAPI document, owns the
/// PostgreSQL schema `bidding` (with its outbox and inbox) and runs its outbox relay.
public enum BiddingService {
    public static let name = "bidding"

    /// Versioned SQL applied into the schema at start, after the shared messaging tables.
    public static let migrations: [Migration] = []

    public static var descriptor: ServiceDescriptor {
        ServiceDescriptor(
            name: name, schema: "bidding", migrations: migrations,
            openAPI: OpenAPIDocument.document(service: name, summary: "Government purchase of services: projects, tenders, sealed bids, expert panels and milestones."))
    }
}
