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
    @Suite struct DeadLetters {
        @Test func poisonMessagesLandInTheDeadLetterTopicAndLaterGoodOnesOnThePartitionStillApply() async throws {
            MetricsSetup.bootstrap()
            let topic = try await Stack.topic("poison", partitions: 1)
            let group = Stack.uniqueName("poison")
            let logger = Stack.logger
            try await Stack.withDatabase(schema: Stack.uniqueName("dst"), migrations: Probe.migrations) { destination in
                let kafka = try Stack.kafka()
                let producer = try KafkaProducer(config: kafka, logger: logger)
                func good(_ seq: Int) throws -> OutgoingMessage {
                    let event = try CloudEvent(source: "/drill", subject: "k", time: Date(), payload: ProbeRecorded(key: "k", seq: seq))
                    return OutgoingMessage(event: event, topic: topic, key: "k")
                }
                var badJSON = try good(99)
                badJSON.value = Array("{not json".utf8)
                let noHeaders = OutgoingMessage(topic: topic, key: Array("k".utf8), value: Array("{}".utf8))
                var unknownType = try good(98)
                unknownType.headers = unknownType.headers.map {
                    $0.key == CloudEventHeader.type ? KafkaHeader(key: $0.key, string: "drill.something.else.v1") : $0
                }
                var missingField = try good(97)
                missingField.value = Array(#"{"key": "k"}"#.utf8)
                for message in [try good(1), badJSON, noHeaders, unknownType, missingField, try good(2)] {
                    _ = try await producer.send(message)
                }

                let inbox = try Stack.probeInbox(destination, topic: topic, group: group, producer: producer)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await inbox.run() }
                    try await Stack.eventually(timeout: .seconds(30), "the whole partition consumed") {
                        inbox.statistics.consumed >= 6
                    }
                    tasks.cancelAll()
                }
                #expect(try await Stack.sequencesByKey(destination) == ["k": [1, 2]])
                #expect(inbox.statistics.deadLettered == 4)

                // Read the dead-letter topic back.
                let reader = try KafkaConsumer(
                    config: kafka, groupID: Stack.uniqueName("dlq-reader"), topics: [Topic.deadLetter(of: topic)], logger: logger)
                var letters: [ConsumedMessage] = []
                let clock = ContinuousClock()
                let deadline = clock.now.advanced(by: .seconds(30))
                while letters.count < 4 && clock.now < deadline {
                    letters += try await reader.poll(maxMessages: 10, timeout: .milliseconds(500))
                }
                await reader.close()
                await producer.shutdown()

                let kinds = letters.map { $0.headers.string(DeadLetterHeader.kind) ?? "-" }
                #expect(kinds == ["invalid", "undecodable", "unknown_type", "invalid"])
                #expect(letters.map { $0.headers.string(DeadLetterHeader.offset) } == ["1", "2", "3", "4"])
                #expect(letters.allSatisfy { $0.headers.string(DeadLetterHeader.topic) == topic })
                #expect(letters.allSatisfy { $0.headers.string(DeadLetterHeader.group) == group })
                #expect(letters[4 - 1].headers.string(DeadLetterHeader.reason)?.contains("seq is required") == true)
                #expect(letters[0].value == Array("{not json".utf8), "the original body is kept for replay")

                let metrics = MetricsSetup.exposition()
                #expect(metrics.contains(#"dead_letters_total{topic="\#(topic)",kind="invalid"} 2"#))
                #expect(metrics.contains(#"dead_letters_total{topic="\#(topic)",kind="undecodable"} 1"#))
            }
        }
    }
}
