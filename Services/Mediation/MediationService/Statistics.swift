import Foundation
import Logging
import MediationCore
import PostgresNIO
import ServiceRuntime
import Storage

/// Disclosure figures per community, street or district (居务公开, 000/001/003): cases by status,
/// resolution rate, on-time rate, median time to an agreement, escalations.
struct PlaceStatistics: Codable, Sendable {
    var place: String
    var cases: Int
    var open: Int
    var byStatus: [String: Int]
    /// Cases no longer open.
    var finished: Int
    /// Finished with an agreement that stands (agreement reached, or closed after one).
    var resolved: Int
    /// `resolved / finished`, `nil` before anything finished.
    var resolutionRate: Double?
    /// Share of finished cases that never missed a deadline.
    var onTimeRate: Double?
    var medianHoursToAgreement: Double?
    var escalations: Int
    var deadlinesMissed: Int
}

struct StatisticsStore: Sendable {
    let logger: Logger

    static let openStatuses = "('reported', 'accepted', 'assigned', 'in-mediation')"

    func statistics(level: MediationLevel, filter: PlacePath, on connection: PostgresConnection) async throws -> [PlaceStatistics] {
        let column = "\(level.rawValue)_code"
        var query = QueryBuilder()
        query.filter(filter.district) { "district_code = \($0)" }
        query.filter(filter.street) { "street_code = \($0)" }
        query.filter(filter.community) { "community_code = \($0)" }
        let rows = try await connection.query(
            query.query(
                """
                WITH c AS (SELECT id, \(column) AS place, status, agreement IS NOT NULL AND status IN ('agreement-reached', 'closed') AS agreed,
                                  reported_at FROM dispute_case \(query.whereClause)),
                     r AS (SELECT case_id, min(at) AS agreed_at FROM case_transition WHERE action = 'reach-agreement' GROUP BY case_id),
                     m AS (SELECT case_id, count(*) AS n FROM deadline_miss GROUP BY case_id),
                     e AS (SELECT case_id, count(*) AS n FROM case_transition WHERE action = 'escalate' GROUP BY case_id)
                SELECT c.place, count(*)::int8,
                       (count(*) FILTER (WHERE c.status IN \(Self.openStatuses)))::int8,
                       (count(*) FILTER (WHERE c.status NOT IN \(Self.openStatuses)))::int8,
                       (count(*) FILTER (WHERE c.agreed))::int8,
                       (count(*) FILTER (WHERE c.status NOT IN \(Self.openStatuses) AND m.case_id IS NULL))::int8,
                       (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.agreed_at - c.reported_at)) FILTER (WHERE r.agreed_at IS NOT NULL AND c.agreed))::float8,
                       coalesce(sum(e.n), 0)::int8, coalesce(sum(m.n), 0)::int8
                FROM c LEFT JOIN r ON r.case_id = c.id LEFT JOIN m ON m.case_id = c.id LEFT JOIN e ON e.case_id = c.id
                GROUP BY c.place ORDER BY c.place
                """), logger: logger)
        var figures: [PlaceStatistics] = []
        for try await (place, cases, open, finished, resolved, onTime, median, escalations, missed) in rows.decode(
            (String, Int, Int, Int, Int, Int, Double?, Int, Int).self)
        {
            figures.append(
                PlaceStatistics(
                    place: place, cases: cases, open: open, byStatus: [:], finished: finished, resolved: resolved,
                    resolutionRate: finished == 0 ? nil : Double(resolved) / Double(finished),
                    onTimeRate: finished == 0 ? nil : Double(onTime) / Double(finished), medianHoursToAgreement: median.map { $0 / 3600 },
                    escalations: escalations, deadlinesMissed: missed))
        }
        let statuses = try await connection.query(
            query.query("SELECT \(column), status, count(*)::int8 FROM dispute_case \(query.whereClause) GROUP BY 1, 2"), logger: logger)
        var byPlace: [String: [String: Int]] = [:]
        for try await (place, status, count) in statuses.decode((String, String, Int).self) { byPlace[place, default: [:]][status] = count }
        for index in figures.indices { figures[index].byStatus = byPlace[figures[index].place] ?? [:] }
        return figures
    }
}
