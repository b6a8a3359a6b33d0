import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

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

    /// Whether the database answers a trivial query within `timeout`.
    ///
    /// The query runs in a task of its own that the probe does not wait for: a query caught by a
    /// dropped connection can hang and ignore cancellation, and a readiness probe must answer anyway.
    public func ping(timeout: Duration = .seconds(2)) async -> Bool {
        let client = client
        let logger = logger
        return await withCheckedContinuation { continuation in
            let answer = FirstAnswer(continuation)
            let query = Task {
                answer.give((try? await client.query("SELECT 1", logger: logger)) != nil)
            }
            Task {
                try? await Task.sleep(for: timeout)
                query.cancel()
                answer.give(false)
            }
        }
    }
}

/// Resumes a continuation with whichever answer comes first.
private final class FirstAnswer: Sendable {
    private let continuation: Mutex<CheckedContinuation<Bool, Never>?>

    init(_ continuation: CheckedContinuation<Bool, Never>) {
        self.continuation = Mutex(continuation)
    }

    func give(_ answer: Bool) {
        continuation.withLock { $0.take() }?.resume(returning: answer)
    }
}

/// SQLSTATE classes the services act on.
public enum SQLState {
    public static let uniqueViolation = "23505"
    public static let foreignKeyViolation = "23503"
    public static let checkViolation = "23514"
    public static let serializationFailure = "40001"
    public static let deadlockDetected = "40P01"

    /// The SQLSTATE of a server error, if `error` is one.
    public static func of(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}
