import Contracts
import DrillKit
import Foundation
import Kafka
import Logging
import Messaging
import PostgresNIO
import Storage
import Testing

/// The local stack the test command starts (PostgreSQL and the Kafka-protocol broker), from the
/// environment `scripts/test.sh` exports.
enum Stack {
    static let environment = ProcessInfo.processInfo.environment

    /// Integration tests run when the test command says the stack is up.
    static let enabled = environment["CITY_TEST_STACK"] == "1"

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }

    static func kafka() throws -> KafkaConfig {
        var config = try KafkaConfig.fromEnvironment(environment)
        // The local broker joins groups in seconds only with short timeouts.
        config.properties["session.timeout.ms"] = config.properties["session.timeout.ms"] ?? "6000"
        config.properties["heartbeat.interval.ms"] = config.properties["heartbeat.interval.ms"] ?? "500"
        return config
    }

    static func database(schema: String) -> DatabaseConfig {
        DatabaseConfig(
            host: environment["POSTGRES_HOST"] ?? "127.0.0.1",
            port: Int(environment["POSTGRES_PORT"] ?? "5432") ?? 5432,
            username: environment["POSTGRES_USER"] ?? "city",
            password: environment["POSTGRES_PASSWORD"] ?? "city",
            database: environment["POSTGRES_DB"] ?? "city",
            schema: schema, maxConnections: 8)
    }

    static func uniqueName(_ prefix: String) -> String {
        prefix + "_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(10)
    }

    /// Creates topics with the given partitions (and their dead-letter topics) for one test.
    static func topic(_ prefix: String, partitions: Int32) async throws -> String {
        let name = uniqueName(prefix).replacingOccurrences(of: "_", with: "-")
        try await KafkaAdmin.ensureTopics(
            [.init(name: name, partitions: partitions), .init(name: Topic.deadLetter(of: name), partitions: 1)],
            config: kafka(), logger: logger)
        return name
    }

    /// Runs `body` with a migrated database in a fresh schema; the schema is dropped afterwards.
    static func withDatabase<T: Sendable>(
        schema: String, migrations: [Migration] = [], _ body: @Sendable (Database) async throws -> T
    ) async throws -> T {
        let database = Database(config: database(schema: schema), logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            try await MigrationRunner(database: database).apply(MessagingSchema.migrations + migrations)
            do {
                let result = try await body(database)
                try await drop(schema, database)
                return result
            } catch {
                try? await drop(schema, database)
                throw error
            }
        }
    }

    private static func drop(_ schema: String, _ database: Database) async throws {
        _ = try await database.withConnection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: logger)
        }
    }

    /// A count from SQL.
    static func count(_ database: Database, _ sql: String) async throws -> Int {
        try await database.withConnection { connection in
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            for try await value in rows.decode(Int64.self) { return Int(value) }
            return 0
        }
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(
        timeout: Duration, _ what: String, _ condition: @Sendable () async throws -> Bool
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out after \(timeout) waiting for \(what)")
        throw TimedOut(what: what)
    }

    struct TimedOut: Error {
        var what: String
    }

    /// Per-key sequences in apply order, for the order checks.
    static func sequencesByKey(_ database: Database) async throws -> [String: [Int]] {
        try await database.withConnection { connection in
            var result: [String: [Int]] = [:]
            let rows = try await connection.query("SELECT probe_key, seq FROM probe_applied ORDER BY apply_order", logger: logger)
            for try await (key, seq) in rows.decode((String, Int32).self) {
                result[key, default: []].append(Int(seq))
            }
            return result
        }
    }

    /// An inbox consumer applying probe events into `database`, as one member of `group`.
    static func probeInbox(
        _ database: Database, topic: String, group: String, producer: KafkaProducer
    ) throws -> InboxConsumer {
        InboxConsumer(
            database: database,
            consumer: try KafkaConsumer(config: kafka(), groupID: group, topics: [topic], logger: logger),
            deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: group, logger: logger),
            handler: ProbeHandler(), logger: logger)
    }

    /// Locates an executable the package builds (the drill, the services), beside the test bundle.
    static func executable(_ name: String) -> URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The test runner may be inside `<name>.xctest/...`; walk up to the build folder.
        while directory.pathComponents.count > 1 {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/\(name)")
    }
}

/// A child process whose output goes to files (a pipe nobody drains would block it once full).
struct ChildProcess {
    let process = Process()
    let outputFile: URL
    let errorFile: URL

    init(_ executable: URL, arguments: [String] = [], environment: [String: String]) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)")
        outputFile = base.appendingPathExtension("out")
        errorFile = base.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
    }

    /// Waits for exit up to `timeout`; kills the process and returns nil if it is still running.
    func wait(timeout: Duration) async -> (status: Int32, reason: Process.TerminationReason, stderr: String)? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while process.isRunning && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        let stderr = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: outputFile)
        try? FileManager.default.removeItem(at: errorFile)
        return (process.terminationStatus, process.terminationReason, stderr)
    }

    /// Kills the process if a test leaves early.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }
}
