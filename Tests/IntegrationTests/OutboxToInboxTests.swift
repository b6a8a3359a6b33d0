import Contracts
import DrillKit
import Foundation
import Kafka
import Logging
import Messaging
import ServiceRuntime
import Storage
import Testing

extension IntegrationSuite {
    /// Outbox → relay → Kafka → inbox consumer, against the real broker and database.
    @Suite struct OutboxToInbox {
        @Test func tenThousandEventsTakeEffectOnceInPerKeyOrder() async throws {
            try await runFlow(events: 10_000, keys: 40, partitions: 6, relays: 1, consumers: 1)
        }

        @Test func twoRelaysAndTwoConsumersStillKeepPerKeyOrderAndApplyNothingTwice() async throws {
            try await runFlow(events: 10_000, keys: 40, partitions: 6, relays: 2, consumers: 2)
        }

        /// Fills an outbox, runs `relays` relays and `consumers` group members at once, and checks that
        /// every event was applied exactly once and each key's events in the order they were written.
        private func runFlow(events: Int, keys keyCount: Int, partitions: Int32, relays: Int, consumers: Int) async throws {
            let topic = try await Stack.topic("flow", partitions: partitions)
            let group = Stack.uniqueName("flow")
            let keys = (0..<keyCount).map { "aggregate-\($0)" }
            let logger = Stack.logger
            try await Stack.withDatabase(schema: Stack.uniqueName("src")) { source in
                try await Stack.withDatabase(schema: Stack.uniqueName("dst"), migrations: Probe.migrations) { destination in
                    try await Probe.fill(source, topic: topic, keys: keys, count: events, logger: logger)
                    let kafka = try Stack.kafka()
                    let producer = try KafkaProducer(config: kafka, logger: logger)
                    let inboxes = try (0..<consumers).map { _ in
                        try Stack.probeInbox(destination, topic: topic, group: group, producer: producer)
                    }
                    let relayServices = (0..<relays).map { _ in
                        var configuration = OutboxRelay.Configuration()
                        configuration.batchSize = 500
                        configuration.vacuumAfter = 4000
                        return OutboxRelay(database: source, producer: producer, configuration: configuration, logger: logger)
                    }
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for relay in relayServices { group.addTask { try await relay.run() } }
                        for inbox in inboxes { group.addTask { try await inbox.run() } }
                        try await Stack.eventually(timeout: .seconds(120), "\(events) events applied") {
                            try await Stack.count(destination, "SELECT count(*) FROM probe_applied") >= events
                        }
                        group.cancelAll()
                    }
                    await producer.shutdown()

                    #expect(try await Stack.count(destination, "SELECT count(*) FROM probe_applied") == events)
                    #expect(try await Stack.count(source, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0)
                    // The relay vacuumed the outbox as it went (every 4,000 rows here).
                    try await Stack.eventually(timeout: .seconds(10), "the outbox vacuumed") {
                        try await Stack.count(source, "SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'outbox'") > 0
                    }
                    let sequences = try await Stack.sequencesByKey(destination)
                    #expect(sequences.count == keyCount)
                    for (key, seqs) in sequences {
                        #expect(seqs == Array(1...seqs.count), "events of \(key) applied out of order")
                    }
                    if consumers > 1 {
                        // Both members took part: the group really was shared.
                        #expect(inboxes.allSatisfy { $0.statistics.applied > 0 })
                    }
                }
            }
        }
    }
}

extension IntegrationSuite {
    @Suite struct ConsumersOfOneProcess {
        @Test func twoConsumerGroupsInOneProcessEachGetEveryPartitionOfTheirTopic() async throws {
            let first = try await Stack.topic("one", partitions: 4), second = try await Stack.topic("two", partitions: 4)
            let base = try Stack.kafka()
            let consumers = try [(first, "a"), (second, "b")].map { topic, suffix in
                let group = Stack.uniqueName("group-\(suffix)")
                return try KafkaConsumer(config: ServiceHost.consumerConfig(base, groupID: group), groupID: group, topics: [topic], logger: Stack.logger)
            }
            try await Stack.eventually(timeout: .seconds(30), "both groups assigned") {
                try await withThrowingTaskGroup(of: Void.self) { polls in
                    for consumer in consumers { polls.addTask { _ = try await consumer.poll(maxMessages: 1, timeout: .milliseconds(200)) } }
                    try await polls.waitForAll()
                }
                return consumers.allSatisfy { $0.assignment.count == 4 }
            }
            #expect(consumers[0].assignment.allSatisfy { $0.topic == first })
            #expect(consumers[1].assignment.allSatisfy { $0.topic == second })
            for consumer in consumers { await consumer.close() }
        }
    }
}
