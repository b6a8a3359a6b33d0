// Measures the messaging path on the real stack:
//   1. outbox writes (rows/s, batched transactions as a service's bulk import would do),
//   2. relay throughput (outbox rows published to Kafka and deleted once acknowledged, per second),
//   3. consumer throughput (events applied with inbox de-duplication, per second; the consumer-group
//      join is timed separately and left out of the rate).
//
//   messaging-bench [--events N] [--keys K] [--partitions P] [--relay-batch B] [--consumer-batch C] [--json FILE]
//
// PostgreSQL and Kafka come from the POSTGRES_* and KAFKA_* variables (`scripts/stack.sh env`).
import DrillKit
import Foundation
import Kafka
import Logging
import Messaging
import PostgresNIO
import ServiceRuntime
import Storage

@main
struct MessagingBench {
    static func main() async throws {
        // As the services run them (see ServiceHost.runTasksOnEventLoops).
        ServiceHost.runTasksOnEventLoops()
        let arguments = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String, _ fallback: Int) -> Int {
            guard let index = arguments.firstIndex(of: "--" + name), index + 1 < arguments.count else { return fallback }
            return Int(arguments[index + 1]) ?? fallback
        }
        func text(_ name: String) -> String? {
            guard let index = arguments.firstIndex(of: "--" + name), index + 1 < arguments.count else { return nil }
            return arguments[index + 1]
        }

        let events = option("events", 100_000)
        let keyCount = option("keys", 1000)
        let partitions = Int32(option("partitions", 12))
        let relayBatch = option("relay-batch", 2000)
        let consumerBatch = option("consumer-batch", 1000)
        let environment = ProcessInfo.processInfo.environment
        let logger: Logger = {
            var logger = Logger(label: "bench")
            logger.logLevel = .error
            return logger
        }()

        var kafka = try KafkaConfig.fromEnvironment(environment)
        kafka.properties["session.timeout.ms"] = kafka.properties["session.timeout.ms"] ?? "6000"
        kafka.properties["heartbeat.interval.ms"] = kafka.properties["heartbeat.interval.ms"] ?? "500"
        let suffix = String(UUID().uuidString.lowercased().prefix(8))
        let topic = "bench-messaging-\(suffix)"
        func database(_ schema: String) -> Database {
            Database(
                config: DatabaseConfig.local(environment, schema: schema, maxConnections: 4),
                logger: logger)
        }
        let source = database("bench_src_\(suffix)")
        let destination = database("bench_dst_\(suffix)")
        let clock = ContinuousClock()
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        func say(_ line: String) {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await source.run() }
            group.addTask { try await destination.run() }
            try await MigrationRunner(database: source).apply(MessagingSchema.migrations)
            try await MigrationRunner(database: destination).apply(MessagingSchema.migrations + Probe.migrations)
            try await KafkaAdmin.ensureTopics(
                [.init(name: topic, partitions: partitions), .init(name: topic + ".dead-letter", partitions: 1)], config: kafka, logger: logger)
            let keys = (0..<keyCount).map { "aggregate-\($0)" }

            say("writing \(events) events to the outbox…")
            var start = clock.now
            try await Probe.fill(source, topic: topic, keys: keys, count: events, batch: 5000, logger: logger)
            let fillSeconds = seconds(clock.now - start)

            say("relaying…")
            let producer = try KafkaProducer(config: kafka, logger: logger)
            var relayConfiguration = OutboxRelay.Configuration()
            relayConfiguration.batchSize = relayBatch
            let relay = OutboxRelay(database: source, producer: producer, configuration: relayConfiguration, logger: logger)
            start = clock.now
            var published = 0
            while true {
                let round = try await relay.relayOnce()
                if round.published == 0 && round.failed == 0 { break }
                published += round.published
            }
            let relaySeconds = seconds(clock.now - start)

            say("consuming…")
            var inboxConfiguration = InboxConsumer.Configuration()
            inboxConfiguration.batchSize = consumerBatch
            let joinStart = clock.now
            let firstBatch = FirstBatch()
            inboxConfiguration.afterApply = { count in firstBatch.mark(count) }
            let inbox = InboxConsumer(
                database: destination,
                consumer: try KafkaConsumer(config: kafka, groupID: "bench-\(suffix)", topics: [topic], logger: logger),
                deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: "bench-\(suffix)", logger: logger),
                handler: ProbeHandler(), configuration: inboxConfiguration, logger: logger)
            let consumerTask = Task { try await inbox.run() }
            while inbox.statistics.applied < events {
                try await Task.sleep(for: .milliseconds(5))
            }
            let consumeEnd = clock.now
            consumerTask.cancel()
            _ = try? await consumerTask.value
            let firstAt = firstBatch.instant ?? joinStart
            let joinSeconds = seconds(firstAt - joinStart)
            // The first batch's own work is inside the join figure; count the rate over the rest.
            let firstBatchSize = firstBatch.size
            let consumeSeconds = seconds(consumeEnd - firstAt)
            await producer.shutdown()

            let applied = try await destination.withConnection { connection in
                let rows = try await connection.query("SELECT count(*)::int8 FROM probe_applied", logger: logger)
                for try await count in rows.decode(Int64.self) { return Int(count) }
                return 0
            }
            for schema in [source.schema, destination.schema] {
                _ = try await source.withConnection { connection in
                    try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"), logger: logger)
                }
            }

            let results: [(String, Double, String)] = [
                ("outbox writes (batched transactions)", Double(events) / fillSeconds, "rows/s"),
                ("relay: outbox → Kafka, acknowledged and deleted", Double(published) / relaySeconds, "rows/s"),
                ("consumer: Kafka → inbox + apply", Double(applied - firstBatchSize) / consumeSeconds, "events/s"),
                ("consumer group join + first batch", joinSeconds, "s"),
            ]
            print("| measure | value | unit |")
            print("| --- | ---: | --- |")
            for (name, value, unit) in results {
                print("| \(name) | \(String(format: unit == "s" ? "%.2f" : "%.0f", value)) | \(unit) |")
            }
            print("")
            print("events \(events), keys \(keyCount), partitions \(partitions), relay batch \(relayBatch), consumer batch \(consumerBatch), applied \(applied), librdkafka \(KafkaConfig.libraryVersion), cores \(ProcessInfo.processInfo.activeProcessorCount)")
            if let path = text("json") {
                let json: [String: Any] = [
                    "events": events, "keys": keyCount, "partitions": Int(partitions), "applied": applied,
                    "outbox_write_rows_per_s": Double(events) / fillSeconds,
                    "relay_rows_per_s": Double(published) / relaySeconds,
                    "consumer_events_per_s": Double(applied - firstBatchSize) / consumeSeconds,
                    "consumer_join_s": joinSeconds,
                    "cores": ProcessInfo.processInfo.activeProcessorCount,
                    "librdkafka": KafkaConfig.libraryVersion,
                ]
                try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .prettyPrinted]).write(to: URL(fileURLWithPath: path))
            }
            if applied != events {
                say("applied \(applied) of \(events): the run is not valid")
                exit(1)
            }
            group.cancelAll()
        }
    }
}

/// When the first batch was durable, and how big it was.
final class FirstBatch: @unchecked Sendable {
    private let lock = NSLock()
    private var first: (instant: ContinuousClock.Instant, size: Int)?

    func mark(_ size: Int) {
        lock.lock()
        defer { lock.unlock() }
        if first == nil { first = (ContinuousClock.now, size) }
    }

    var instant: ContinuousClock.Instant? { lock.withLock { first?.instant } }
    var size: Int { lock.withLock { first?.size ?? 0 } }
}
