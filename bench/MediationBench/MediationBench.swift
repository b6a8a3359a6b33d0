// Measures the deadline watcher on a large case table:
//   1,000,000 open cases over 1,000 communities (two mediators each) and 10 streets, of which 10,000
//   are overdue; the clock runs from the first watcher round to the round that finds nothing left.
// It leaves the schema in place when `--keep` is given, so `bench/mediation.sh` can point the
// mediation service at it and measure case creation under load with wrk.
//
//   mediation-bench [--cases N] [--overdue M] [--schema NAME] [--keep] [--json FILE]
import Foundation
import Logging
import MediationService
import Messaging
import PostgresNIO
import ServiceRuntime
import Storage

@main
struct MediationBench {
    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String) -> String? {
            guard let index = arguments.firstIndex(of: "--" + name), index + 1 < arguments.count else { return nil }
            return arguments[index + 1]
        }
        let cases = Int(option("cases") ?? "") ?? 1_000_000
        let overdue = Int(option("overdue") ?? "") ?? 10_000
        let schema = option("schema") ?? "bench_mediation_\(UUID().uuidString.lowercased().prefix(8))"
        let keep = arguments.contains("--keep")
        let environment = ProcessInfo.processInfo.environment
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let database = Database(
            config: DatabaseConfig.local(environment, schema: schema, maxConnections: 4),
            logger: logger)
        func say(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        let clock = ContinuousClock()
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            try await MigrationRunner(database: database).apply(MediationService.descriptor.allMigrations)
            say("filling \(schema): 1,000 communities, 2,000 mediators, \(cases) open cases of which \(overdue) overdue (not timed)…")
            let fill = clock.now
            _ = try await database.withConnection { connection in
                try await connection.query(
                    """
                    INSERT INTO known_place (code, level, name, district_code, street_code, community_code, version)
                    SELECT 'G' || n, 'grid', 'Grid ' || n, 'D1', 'S' || (n % 10), 'C' || n, 1 FROM generate_series(0, 999) AS n
                    """, logger: logger)
                try await connection.query(
                    """
                    INSERT INTO mediator (role_id, resident_id, name, level, place_code, district_code, street_code, community_code, active)
                    SELECT gen_random_uuid(), gen_random_uuid(), 'Mediator ' || n, 'community', 'C' || (n % 1000), 'D1', 'S' || (n % 10), 'C' || (n % 1000), true
                    FROM generate_series(0, 1999) AS n
                    UNION ALL
                    SELECT gen_random_uuid(), gen_random_uuid(), 'Street mediator ' || n, 'street', 'S' || n, 'D1', 'S' || n, NULL, true
                    FROM generate_series(0, 9) AS n
                    """, logger: logger)
                // A bulk fill sets the mediators' kept loads in one statement afterwards, as a restore
                // would, instead of a million firings of the trigger that keeps them.
                try await connection.query("ALTER TABLE dispute_case DISABLE TRIGGER dispute_case_mediator_load", logger: logger)
                try await connection.query(
                    """
                    INSERT INTO dispute_case (id, category, severity, channel, description, grid_code, grid_version, community_code, street_code,
                                              district_code, status, level, held_by, mediator_role_id, reported_at, deadline_at, reported_by)
                    SELECT gen_random_uuid(), 'neighbours', 'major', 'resident', 'bench case', 'G' || (n % 1000), 1, 'C' || (n % 1000),
                           'S' || (n % 10), 'D1', 'assigned', 'community', 'C' || (n % 1000), m.role_id, now() - interval '1 day',
                           CASE WHEN n < \(overdue) THEN now() - interval '1 hour' ELSE now() + interval '3 days' END, 'bench'
                    FROM generate_series(0, \(cases - 1)) AS n
                    JOIN LATERAL (SELECT role_id FROM mediator WHERE level = 'community' AND place_code = 'C' || (n % 1000) LIMIT 1) m ON true
                    """, logger: logger)
                try await connection.query(
                    """
                    INSERT INTO mediator_load (role_id, open_cases)
                    SELECT mediator_role_id, count(*) FROM dispute_case
                    WHERE mediator_role_id IS NOT NULL AND status IN ('reported', 'accepted', 'assigned', 'in-mediation')
                    GROUP BY mediator_role_id
                    """, logger: logger)
                try await connection.query("ALTER TABLE dispute_case ENABLE TRIGGER dispute_case_mediator_load", logger: logger)
                try await connection.query("ANALYZE", logger: logger)
            }
            say("filled in \(String(format: "%.0f", seconds(clock.now - fill))) s; escalating…")

            let watcher = DeadlineWatcher(database: database, timeZone: TimeZone(identifier: "Asia/Shanghai")!, logger: logger)
            var rounds = 0, escalated = 0
            let start = clock.now
            while true {
                let handled = try await watcher.escalateOverdue()
                rounds += 1
                escalated += handled
                if handled == 0 { break }
            }
            let elapsed = seconds(clock.now - start)
            let missed = try await count(database, "SELECT count(*) FROM deadline_miss")
            let atStreet = try await count(database, "SELECT count(*) FROM dispute_case WHERE level = 'street' AND mediator_role_id IS NOT NULL")
            guard escalated == overdue, missed == overdue, atStreet == overdue else {
                throw BenchFailure.wrongResult("escalated \(escalated), misses \(missed), assigned at street \(atStreet), expected \(overdue)")
            }
            print("| measure | value |")
            print("| --- | --- |")
            print("| open cases in the table | \(cases) |")
            print("| overdue cases found and escalated (miss recorded, event, routed at the street) | \(escalated) in \(rounds - 1) rounds of 500 |")
            print("| **deadline watcher, time for all of them** | **\(String(format: "%.2f", elapsed)) s** (\(Int(Double(escalated) / elapsed)) cases/s) |")
            if let path = option("json") {
                let json: [String: Any] = ["cases": cases, "overdue": overdue, "watcher_seconds": elapsed, "escalations_per_s": Double(escalated) / elapsed]
                try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
            }
            if !keep {
                _ = try await database.withConnection { try await $0.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"), logger: logger) }
            }
        }
    }

    enum BenchFailure: Error {
        case wrongResult(String)
    }

    static func count(_ database: Database, _ sql: String) async throws -> Int {
        try await database.withConnection { connection in
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Logger(label: "bench")).decode(Int64.self) {
                return Int(value)
            }
            return 0
        }
    }
}
