import Contracts
import DrillKit
import Foundation
import Kafka
import Logging
import Messaging
import Storage
import Testing

extension IntegrationSuite {
    /// Processes killed with SIGKILL at the worst moment; the restart must lose nothing and apply nothing twice.
    @Suite struct CrashRecovery {
        var drillEnvironment: [String: String] {
            var environment = Stack.environment
            environment["KAFKA_SESSION_TIMEOUT_MS"] = "6000"
            environment["KAFKA_HEARTBEAT_INTERVAL_MS"] = "500"
            return environment
        }

        /// Fills the outbox with `count` probe events over 8 keys and publishes them all.
        func publishProbes(_ source: Database, topic: String, count: Int, producer: KafkaProducer) async throws {
            try await Probe.fill(source, topic: topic, keys: (0..<8).map { "k\($0)" }, count: count, logger: Stack.logger)
            let relay = OutboxRelay(database: source, producer: producer, logger: Stack.logger)
            while try await relay.relayOnce().published > 0 {}
        }

        /// A consumer drill in a process of its own, applying probe events into `schema`.
        func consumerDrill(schema: String, topic: String, group: String, options: [String]) throws -> ChildProcess {
            try ChildProcess(
                Stack.executable("messaging-drill"),
                arguments: ["consume", "--schema", schema, "--topic", topic, "--group", group] + options,
                environment: drillEnvironment)
        }

        /// A fresh member of `group` applies whatever is left until `total` events are applied.
        func applyTheRest(
            _ destination: Database, topic: String, group: String, producer: KafkaProducer, total: Int
        ) async throws -> InboxConsumer {
            let inbox = try Stack.probeInbox(destination, topic: topic, group: group, producer: producer)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await inbox.run() }
                try await Stack.eventually(timeout: .seconds(60), "all \(total) events applied") {
                    try await Stack.count(destination, "SELECT count(*) FROM probe_applied") >= total
                }
                tasks.cancelAll()
            }
            return inbox
        }

        @Test func relayKilledBetweenPublishAndMarkResendsAndTheInboxDropsTheRepeats() async throws {
            let topic = try await Stack.topic("relaycrash", partitions: 3)
            let group = Stack.uniqueName("relaycrash")
            let logger = Stack.logger
            let sourceSchema = Stack.uniqueName("src")
            let environment = drillEnvironment
            try await Stack.withDatabase(schema: sourceSchema) { source in
                try await Stack.withDatabase(schema: Stack.uniqueName("dst"), migrations: Probe.migrations) { destination in
                    try await Probe.fill(source, topic: topic, keys: (0..<10).map { "k\($0)" }, count: 3000, logger: logger)

                    // Publishes two batches of 500, marks the first, and dies after publishing the second.
                    let drill = try ChildProcess(
                        Stack.executable("messaging-drill"),
                        arguments: ["relay", "--schema", sourceSchema, "--batch", "500", "--crash-after-publish", "2"],
                        environment: environment)
                    let ended = try #require(await drill.wait(timeout: .seconds(60)), "drill relay did not end")
                    #expect(ended.reason == .uncaughtSignal && ended.status == SIGKILL, "drill should die by SIGKILL: \(ended.stderr)")
                    #expect(try await Stack.count(source, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 2500)

                    let kafka = try Stack.kafka()
                    let producer = try KafkaProducer(config: kafka, logger: logger)
                    let relay = OutboxRelay(database: source, producer: producer, logger: logger)
                    let inbox = try Stack.probeInbox(destination, topic: topic, group: group, producer: producer)
                    try await withThrowingTaskGroup(of: Void.self) { tasks in
                        tasks.addTask { try await relay.run() }
                        tasks.addTask { try await inbox.run() }
                        // 3000 distinct events, of which 500 were published twice.
                        try await Stack.eventually(timeout: .seconds(60), "all records consumed") {
                            inbox.statistics.consumed >= 3500
                        }
                        tasks.cancelAll()
                    }
                    await producer.shutdown()

                    #expect(try await Stack.count(destination, "SELECT count(*) FROM probe_applied") == 3000)
                    #expect(inbox.statistics.duplicates == 500)
                    let sequences = try await Stack.sequencesByKey(destination)
                    for (key, seqs) in sequences {
                        #expect(seqs == Array(1...seqs.count), "events of \(key) applied out of order")
                    }
                }
            }
        }

        @Test func consumerKilledAfterApplyingButBeforeCommittingGetsTheBatchAgainAndSkipsIt() async throws {
            let topic = try await Stack.topic("consumercrash", partitions: 2)
            let group = Stack.uniqueName("consumercrash")
            let destinationSchema = Stack.uniqueName("dst")
            try await Stack.withDatabase(schema: Stack.uniqueName("src")) { source in
                try await Stack.withDatabase(schema: destinationSchema, migrations: Probe.migrations) { destination in
                    let producer = try KafkaProducer(config: try Stack.kafka(), logger: Stack.logger)
                    try await publishProbes(source, topic: topic, count: 2000, producer: producer)

                    // Applies three batches durably and dies before committing the third one's offsets.
                    let drill = try consumerDrill(
                        schema: destinationSchema, topic: topic, group: group, options: ["--batch", "200", "--crash-after-apply", "3"])
                    let ended = try #require(await drill.wait(timeout: .seconds(60)), "drill consumer did not end")
                    #expect(ended.reason == .uncaughtSignal && ended.status == SIGKILL, "drill should die by SIGKILL: \(ended.stderr)")
                    let appliedBeforeCrash = try await Stack.count(destination, "SELECT count(*) FROM probe_applied")
                    #expect(appliedBeforeCrash > 0 && appliedBeforeCrash < 2000)

                    let inbox = try await applyTheRest(destination, topic: topic, group: group, producer: producer, total: 2000)
                    await producer.shutdown()

                    #expect(try await Stack.count(destination, "SELECT count(*) FROM probe_applied") == 2000)
                    // The uncommitted batch came back and the inbox skipped it.
                    #expect(inbox.statistics.duplicates > 0)
                    #expect(inbox.statistics.applied == 2000 - appliedBeforeCrash)
                }
            }
        }

        @Test func sigtermFinishesTheBatchInFlightAndCommitsSoTheNextMemberRepeatsNothing() async throws {
            let topic = try await Stack.topic("graceful", partitions: 2)
            let group = Stack.uniqueName("graceful")
            let destinationSchema = Stack.uniqueName("dst")
            try await Stack.withDatabase(schema: Stack.uniqueName("src")) { source in
                try await Stack.withDatabase(schema: destinationSchema, migrations: Probe.migrations) { destination in
                    let producer = try KafkaProducer(config: try Stack.kafka(), logger: Stack.logger)
                    try await publishProbes(source, topic: topic, count: 3000, producer: producer)

                    let drill = try consumerDrill(
                        schema: destinationSchema, topic: topic, group: group, options: ["--batch", "100", "--pace-ms", "50"])
                    defer { drill.stop() }
                    try await Stack.eventually(timeout: .seconds(30), "the drill applying") {
                        try await Stack.count(destination, "SELECT count(*) FROM probe_applied") >= 300
                    }
                    drill.signal(SIGTERM)
                    let ended = try #require(await drill.wait(timeout: .seconds(20)), "drill consumer did not stop on SIGTERM")
                    #expect(ended.reason == .exit && ended.status == 0, "\(ended.stderr)")
                    let appliedBeforeStop = try await Stack.count(destination, "SELECT count(*) FROM probe_applied")
                    #expect(appliedBeforeStop < 3000, "the signal should land mid-stream")

                    let inbox = try await applyTheRest(destination, topic: topic, group: group, producer: producer, total: 3000)
                    await producer.shutdown()
                    #expect(try await Stack.count(destination, "SELECT count(*) FROM probe_applied") == 3000)
                    // Everything the stopped member applied was committed: nothing came back.
                    #expect(inbox.statistics.duplicates == 0)
                    #expect(inbox.statistics.applied == 3000 - appliedBeforeStop)
                }
            }
        }
    }
}
