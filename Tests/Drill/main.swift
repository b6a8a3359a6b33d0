// A relay or consumer in a process of its own, so integration tests can kill it with SIGKILL at an
// exact point (after publishing and before marking, after applying and before committing) and check
// that a restart loses nothing and applies nothing twice.
//
//   messaging-drill relay   --schema S [--crash-after-publish N]
//   messaging-drill consume --schema S --topic T --group G [--crash-after-apply N] [--batch B] [--pace-ms M]
//
// Without a crash point the consumer runs as a service and stops gracefully on SIGTERM.
//
// PostgreSQL and Kafka come from the usual POSTGRES_* and KAFKA_* variables.
import DrillKit
import Foundation
import Kafka
import Logging
import Messaging
import ServiceLifecycle
import Storage

#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: "--" + name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("messaging-drill: \(message)\n".utf8))
    exit(64)
}
/// Dies the way a crashed or OOM-killed process does: no cleanup, no flush, no commit.
@Sendable func killSelf() {
    kill(getpid(), SIGKILL)
}

let environment = ProcessInfo.processInfo.environment
guard let mode = arguments.first else { fail("usage: messaging-drill relay|consume --schema S ...") }
guard let schema = option("schema") else { fail("--schema is required") }
var logger = Logger(label: "drill")
logger.logLevel = .warning
let kafka = try KafkaConfig.fromEnvironment(environment)
let database = Database(
    config: DatabaseConfig.local(environment, schema: schema, maxConnections: 10),
    logger: logger)

try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await database.run() }
    switch mode {
    case "relay":
        let producer = try KafkaProducer(config: kafka, logger: logger)
        var configuration = OutboxRelay.Configuration()
        configuration.batchSize = Int(option("batch") ?? "500") ?? 500
        let crashAfter = Int(option("crash-after-publish") ?? "0") ?? 0
        let batches = Counter()
        configuration.afterPublish = { _ in
            if crashAfter > 0 && batches.increment() >= crashAfter { killSelf() }
        }
        let relay = OutboxRelay(database: database, producer: producer, configuration: configuration, logger: logger)
        while try await relay.relayOnce().published > 0 {}
        await producer.shutdown()
    case "consume":
        guard let topic = option("topic"), let groupID = option("group") else { fail("consume needs --topic and --group") }
        let producer = try KafkaProducer(config: kafka, logger: logger)
        let consumer = try KafkaConsumer(config: kafka, groupID: groupID, topics: [topic], logger: logger)
        var configuration = InboxConsumer.Configuration()
        configuration.batchSize = Int(option("batch") ?? "200") ?? 200
        let crashAfter = Int(option("crash-after-apply") ?? "0") ?? 0
        let pace = Int(option("pace-ms") ?? "0") ?? 0
        let batches = Counter()
        configuration.afterApply = { _ in
            if crashAfter > 0 && batches.increment() >= crashAfter { killSelf() }
            // Slows the drill down so a signal lands while batches are still flowing.
            if pace > 0 { try? await Task.sleep(for: .milliseconds(pace)) }
        }
        let inbox = InboxConsumer(
            database: database, consumer: consumer,
            deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: groupID, logger: logger),
            handler: ProbeHandler(), configuration: configuration, logger: logger)
        // Runs until the crash hook fires or SIGTERM stops it; a watchdog keeps a broken drill from
        // hanging the suite.
        let limit = Int(option("max-seconds") ?? "120") ?? 120
        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: producer), .init(service: inbox)], gracefulShutdownSignals: [.sigterm], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { inner in
            inner.addTask { try await services.run() }
            inner.addTask {
                try await Task.sleep(for: .seconds(limit))
                fail("watchdog: still running after \(limit) s")
            }
            try await inner.next()
            inner.cancelAll()
        }
    default:
        fail("unknown mode \(mode)")
    }
    group.cancelAll()
}

/// A thread-safe counter for the hooks.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
