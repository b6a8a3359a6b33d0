import Foundation
import Logging
import PostgresNIO

/// Where a service's PostgreSQL lives and which schema it owns, read from `POSTGRES_*` variables.
public struct DatabaseConfig: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String
    public var database: String
    /// The schema this service owns; its migrations and tables live here.
    public var schema: String
    public var requireTLS: Bool
    public var maxConnections: Int
    public var connectTimeout: Duration

    /// The local stack's database from `POSTGRES_*` (what `scripts/stack.sh env` exports), for drills,
    /// benchmarks and tests; services read theirs through the runtime configuration instead.
    public static func local(_ environment: [String: String], schema: String, maxConnections: Int = 4) -> DatabaseConfig {
        DatabaseConfig(
            host: environment["POSTGRES_HOST"] ?? "127.0.0.1", port: Int(environment["POSTGRES_PORT"] ?? "5432") ?? 5432,
            username: environment["POSTGRES_USER"] ?? "city", password: environment["POSTGRES_PASSWORD"] ?? "city",
            database: environment["POSTGRES_DB"] ?? "city", schema: schema, maxConnections: maxConnections)
    }

    public init(
        host: String, port: Int = 5432, username: String, password: String, database: String, schema: String,
        requireTLS: Bool = false, maxConnections: Int = 10, connectTimeout: Duration = .seconds(5)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.schema = schema
        self.requireTLS = requireTLS
        self.maxConnections = maxConnections
        self.connectTimeout = connectTimeout
    }

    /// A schema name is spliced into SQL (it cannot be a bound parameter), so only plain identifiers pass.
    public static func isValidSchemaName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || ("a"..."z").contains(first) else { return false }
        return name.count <= 63 && name.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }

    var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.additionalStartupParameters = [("search_path", schema), ("application_name", schema)]
        configuration.options.maximumConnections = maxConnections
        // The pool arms an idle timer (and a keep-alive timer) each time a connection goes back to it
        // and cancels them when it is leased again; a cancelled timer's sleeping task is only freed at
        // its deadline. With the defaults (60 s idle, 30 s keep-alive) a service under load held about
        // a kilobyte per query for a minute: its memory grew with every request until the deadlines
        // caught up. Two connections stay open without timers; the others close after 10 s idle, so
        // keep-alive queries (30 s) would never run and are off.
        configuration.options.minimumConnections = min(2, maxConnections - 1)
        configuration.options.connectionIdleTimeout = .seconds(10)
        configuration.options.keepAliveBehavior = nil
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }
}
