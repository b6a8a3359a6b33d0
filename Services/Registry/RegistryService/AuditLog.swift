import Foundation
import Logging
import PostgresNIO
import ServiceRuntime
import Storage

/// What the audit log records.
public enum AuditAction: String, Codable, Sendable, CaseIterable {
    /// A resident's sensitive-group membership was shown to the actor.
    case sensitiveGroupsRead = "sensitive-groups-read"
    /// Residents were listed by a sensitive group (the list itself discloses membership).
    case sensitiveGroupListed = "sensitive-group-listed"
    /// Sensitive-group membership was recorded or changed.
    case sensitiveGroupsWritten = "sensitive-groups-written"
    /// Staff acted for a resident who could not do it themselves (an elderly person at the counter).
    case actedForResident = "acted-for-resident"
}

struct AuditEntry: Sendable {
    var actor: RegistryActor
    var action: AuditAction
    var residentId: UUID?
    var reason: String?
    var detail: String?
}

/// One audit-log row as read back.
public struct AuditRecord: Codable, Sendable {
    public var id: Int64
    public var at: Date
    public var actorSubject: String
    public var actorRole: String
    public var actorName: String?
    public var action: String
    public var residentId: UUID?
    public var reason: String?
    public var detail: String?
}

/// The append-only record of who read sensitive data and who acted for whom. The table refuses UPDATE,
/// DELETE and TRUNCATE (a trigger), and the API only reads it.
struct AuditLog: Sendable {
    let logger: Logger

    func append(_ entries: [AuditEntry], on connection: PostgresConnection) async throws {
        guard !entries.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO audit_log (actor_subject, actor_role, actor_name, action, resident_id, reason, detail)
            SELECT a.subject, a.role, NULLIF(a.name, ''), a.action, NULLIF(a.resident, '')::uuid, NULLIF(a.reason, ''), NULLIF(a.detail, '')
            FROM unnest(\(entries.map(\.actor.subject))::text[], \(entries.map(\.actor.role.rawValue))::text[],
                        \(entries.map { $0.actor.name ?? "" })::text[], \(entries.map(\.action.rawValue))::text[],
                        \(entries.map { $0.residentId?.uuidString ?? "" })::text[], \(entries.map { $0.reason ?? "" })::text[], \(entries.map { $0.detail ?? "" })::text[])
                 AS a(subject, role, name, action, resident, reason, detail)
            """, logger: logger)
    }

    struct Filter: Sendable {
        var residentId: UUID?
        var actor: String?
        var action: String?
    }

    func list(_ filter: Filter, page: PageRequest, on connection: PostgresConnection) async throws -> Page<AuditRecord> {
        var query = QueryBuilder()
        query.filter(filter.residentId) { "resident_id = \($0)" }
        query.filter(filter.actor) { "actor_subject = \($0)" }
        query.filter(filter.action) { "action = \($0)" }
        let order = query.keyset(after: page.after.flatMap(Int64.init), column: "id", limit: page.limit)
        let rows = try await connection.query(
            query.query(
                "SELECT id, at, actor_subject, actor_role, actor_name, action, resident_id, reason, detail FROM audit_log \(query.whereClause) \(order)"
            ), logger: logger)
        var records: [AuditRecord] = []
        for try await (id, at, subject, role, name, action, resident, reason, detail) in rows.decode(
            (Int64, Date, String, String, String?, String, UUID?, String?, String?).self)
        {
            records.append(
                AuditRecord(
                    id: id, at: at, actorSubject: subject, actorRole: role, actorName: name, action: action, residentId: resident, reason: reason,
                    detail: detail))
        }
        return Page(fetched: records, limit: page.limit) { String($0.id) }
    }
}
