import Contracts
import DrillKit
import Foundation
import Kafka
import Logging
import Messaging
import PostgresNIO
import Storage
import Testing

#if canImport(Glibc)
import Glibc
#endif

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
        DatabaseConfig.local(environment, schema: schema, maxConnections: 8)
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

/// A child process started with posix_spawn and reaped with waitpid, its output going to files.
///
/// Foundation's Process learns that a child ended through a descriptor that other children (the
/// PostgreSQL daemon that `stack.sh pg-start` leaves behind) inherit, so it can miss the exit; waitpid
/// cannot.
struct ChildProcess {
    enum Ending: Equatable { case exit, uncaughtSignal }

    let pid: pid_t
    let errorFile: URL
    let outputFile: URL

    init(_ executable: URL, arguments: [String] = [], environment: [String: String]) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)")
        outputFile = base.appendingPathExtension("out")
        errorFile = base.appendingPathExtension("err")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, errorFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable.path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable.path, &actions, nil, argv, envp)
        guard result == 0 else { throw SpawnFailure(executable: executable.path, code: result) }
        self.pid = pid
    }

    struct SpawnFailure: Error {
        var executable: String
        var code: Int32
    }

    /// Waits for exit up to `timeout`; kills the process and returns nil if it is still running.
    /// `status` is the exit code, or the signal for `.uncaughtSignal`.
    func wait(timeout: Duration) async -> (status: Int32, reason: Ending, stderr: String, stdout: String)? {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard clock.now < deadline else {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return nil
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        let stderr = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
        let stdout = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: outputFile)
        try? FileManager.default.removeItem(at: errorFile)
        let signal = status & 0x7f
        return signal == 0 ? ((status >> 8) & 0xff, .exit, stderr, stdout) : (signal, .uncaughtSignal, stderr, stdout)
    }

    /// The last lines the child wrote to stdout, for failure messages.
    func outputTail(_ lines: Int = 25) -> String {
        let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Kills the process if a test leaves early.
    func stop() {
        var status: Int32 = 0
        // Only a child not yet reaped: a reaped pid may already belong to someone else.
        if waitpid(pid, &status, WNOHANG) == 0 {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
        }
    }

    func signal(_ signal: Int32) {
        kill(pid, signal)
    }
}
