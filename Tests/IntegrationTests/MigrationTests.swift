import Foundation
import Logging
import PostgresNIO
import Storage
import Testing

extension IntegrationSuite {
    @Suite struct Migrations {
        let first = Migration(version: "0001_households", sql: """
            CREATE TABLE household (id uuid PRIMARY KEY, name text NOT NULL);
            -- a comment; with a semicolon
            CREATE FUNCTION household_name(h household) RETURNS text LANGUAGE plpgsql AS $$
            BEGIN RETURN h.name || ';'; END;
            $$;
            """)
        let second = Migration(version: "0002_residents", sql: "CREATE TABLE resident (id uuid PRIMARY KEY, household uuid REFERENCES household(id));")

        @Test func eachMigrationIsAppliedOnceEvenWhenReplicasStartTogether() async throws {
            let migrations = [first, second]
            try await Stack.withDatabase(schema: Stack.uniqueName("mig")) { database async throws in
                let applied = try await withThrowingTaskGroup(of: [String].self) { group in
                    for _ in 0..<3 {
                        group.addTask { try await MigrationRunner(database: database).apply(migrations) }
                    }
                    var all: [String] = []
                    for try await versions in group { all += versions }
                    return all
                }
                #expect(applied.sorted() == ["0001_households", "0002_residents"])
                #expect(try await MigrationRunner(database: database).apply(migrations) == [])
                #expect(try await Stack.count(database, "SELECT count(*) FROM schema_migrations WHERE version LIKE '000%'") >= 2)
                #expect(try await Stack.count(database, "SELECT count(*) FROM information_schema.tables WHERE table_schema = '\(database.schema)' AND table_name IN ('household', 'resident')") == 2)
            }
        }

        @Test func aMigrationEditedAfterItWasAppliedStopsTheStart() async throws {
            try await Stack.withDatabase(schema: Stack.uniqueName("mig")) { database async throws in
                try await MigrationRunner(database: database).apply([first])
                var edited = first
                edited.sql += "\nALTER TABLE household ADD COLUMN floor int;"
                await #expect(throws: MigrationError.self) {
                    try await MigrationRunner(database: database).apply([edited])
                }
            }
        }

        @Test func aFailingMigrationLeavesNothingBehind() async throws {
            try await Stack.withDatabase(schema: Stack.uniqueName("mig")) { database async throws in
                let broken = Migration(version: "0001_broken", sql: "CREATE TABLE half (id int); SELECT no_such_function();")
                await #expect(throws: MigrationError.self) {
                    try await MigrationRunner(database: database).apply([broken])
                }
                #expect(try await Stack.count(database, "SELECT count(*) FROM information_schema.tables WHERE table_schema = '\(database.schema)' AND table_name = 'half'") == 0)
                #expect(try await Stack.count(database, "SELECT count(*) FROM schema_migrations WHERE version = '0001_broken'") == 0)
            }
        }
    }
}
