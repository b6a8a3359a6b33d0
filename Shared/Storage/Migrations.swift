import Foundation
import Logging
import PostgresNIO

/// One versioned SQL script. Versions sort as text, so name them `0001_…`, `0002_…`.
public struct Migration: Sendable, Equatable {
    public var version: String
    public var sql: String

    public init(version: String, sql: String) {
        self.version = version
        self.sql = sql
    }

    /// Loads every `*.sql` file of a folder, ordered by name; the file name without `.sql` is the version.
    public static func load(from directory: URL) throws -> [Migration] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        return try names.map { name in
            Migration(
                version: String(name.dropLast(4)),
                sql: try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8))
        }
    }

    var checksum: String { String(fnv1a(sql), radix: 16) }
}

public enum MigrationError: Error, CustomStringConvertible {
    case changedAfterApply(schema: String, version: String)
    case failed(schema: String, version: String, reason: String)
    case duplicateVersion(String)

    public var description: String {
        switch self {
        case .changedAfterApply(let schema, let version):
            "migration \(schema)/\(version) was edited after it was applied; add a new migration instead"
        case .failed(let schema, let version, let reason): "migration \(schema)/\(version) failed: \(reason)"
        case .duplicateVersion(let version): "two migrations share the version \(version)"
        }
    }
}

/// Applies a service's migrations once, in order, into the service's own schema.
///
/// Replicas starting together serialise on an advisory lock named after the schema, so each script runs
/// exactly once; each script runs in its own transaction and is recorded with a checksum, and an
/// applied script that was edited afterwards stops the start-up rather than drifting silently.
public struct MigrationRunner: Sendable {
    public var database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Returns the versions applied by this call.
    @discardableResult
    public func apply(_ migrations: [Migration]) async throws -> [String] {
        let versions = migrations.map(\.version)
        if let duplicate = Dictionary(grouping: versions, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw MigrationError.duplicateVersion(duplicate)
        }
        let schema = database.schema
        let logger = database.logger
        let lockKey = advisoryKey(for: "migrations:" + schema)
        return try await database.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
            do {
                let applied = try await applyLocked(migrations, schema: schema, on: connection, logger: logger)
                try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                throw error
            }
        }
    }

    private func applyLocked(
        _ migrations: [Migration], schema: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> [String] {
        precondition(DatabaseConfig.isValidSchemaName(schema))
        do {
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger)
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE TABLE IF NOT EXISTS \(schema).schema_migrations (
                            version text PRIMARY KEY,
                            checksum text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now()
                        )
                        """), logger: logger)
        } catch let error as PSQLError where error.serverInfo != nil {
            throw MigrationError.failed(schema: schema, version: "schema_migrations", reason: String(reflecting: error))
        }
        var known: [String: String] = [:]
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT version, checksum FROM \(schema).schema_migrations"), logger: logger)
        for try await (version, checksum) in rows.decode((String, String).self) {
            known[version] = checksum
        }
        var applied: [String] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) {
            if let checksum = known[migration.version] {
                guard checksum == migration.checksum else {
                    throw MigrationError.changedAfterApply(schema: schema, version: migration.version)
                }
                continue
            }
            do {
                let version = migration.version
                let checksum = migration.checksum
                try await connection.withTransaction(logger: logger) { connection in
                    try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(schema)"), logger: logger)
                    for statement in SQLScript.statements(migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO schema_migrations (version, checksum) VALUES (\(version), \(checksum))", logger: logger)
                }
            } catch {
                let cause = (error as? PostgresTransactionError)?.closureError ?? error
                throw MigrationError.failed(schema: schema, version: migration.version, reason: String(reflecting: cause))
            }
            logger.info("migration applied", metadata: ["db.schema": "\(schema)", "db.migration": "\(migration.version)"])
            applied.append(migration.version)
        }
        return applied
    }
}

/// A stable 64-bit advisory-lock key for a name (FNV-1a), so replicas of one service agree on it.
public func advisoryKey(for name: String) -> Int64 {
    Int64(bitPattern: fnv1a(name))
}

/// FNV-1a: a stable hash (Swift's `Hasher` is seeded per process, so replicas would disagree).
public func fnv1a(_ text: String) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }
    return hash
}
