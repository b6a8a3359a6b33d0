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
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }
}
