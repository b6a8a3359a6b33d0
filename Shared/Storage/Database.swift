import Logging
import PostgresNIO
import ServiceLifecycle

/// A service's PostgreSQL: a pooled client that runs as a lifecycle `Service` (first in the group, so it
/// stops last), with a transaction helper that reports the caller's own error rather than the wrapper.
public final class Database: Service, Sendable {
    public let client: PostgresClient
    public let config: DatabaseConfig
    public let logger: Logger

    public init(config: DatabaseConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        self.client = PostgresClient(configuration: config.clientConfiguration, backgroundLogger: logger)
    }

    public var schema: String { config.schema }

    public func run() async throws {
        await client.run()
    }

    /// Runs `body` in one transaction; on failure the transaction is rolled back and the error thrown by
    /// `body` (not PostgresNIO's wrapper) reaches the caller, so domain errors keep their type.
    public func transaction<Result: Sendable>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger, isolation: isolation) { connection in
                try await body(connection)
            }
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }

    /// One connection for several statements outside a transaction.
    public func withConnection<Result: Sendable>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection(isolation: isolation) { try await body($0) }
    }

    /// Whether the database answers a trivial query within `timeout`. Bounded even when the query
    /// hangs on a dropped connection: a readiness probe must answer.
    public func ping(timeout: Duration = .seconds(2)) async -> Bool {
        let client = client
        let logger = logger
        let answered = try? await BoundedWait.limit(to: timeout, graceAfterShutdown: timeout) {
            try await client.query("SELECT 1", logger: logger)
        }
        return answered != nil
    }
}

/// SQLSTATE classes the services act on.
public enum SQLState {
    public static let uniqueViolation = "23505"
    public static let foreignKeyViolation = "23503"
    public static let checkViolation = "23514"
    public static let serializationFailure = "40001"
    public static let deadlockDetected = "40P01"
    public static let exclusionViolation = "23P01"

    /// The SQLSTATE of a server error, if `error` is one.
    public static func of(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}
