import Foundation
import Kafka
import Logging
import Testing

/// The wrapper against librdkafka's in-process mock cluster: real client code paths, no broker.
@Suite(.serialized) struct KafkaClientAgainstMockCluster {
    var logger: Logger {
        var logger = Logger(label: "kafka-test")
        logger.logLevel = .error
        return logger
    }

    func mockConfig(_ extra: [String: String] = [:]) -> KafkaConfig {
        var properties = ["test.mock.num.brokers": "1", "bootstrap.servers": "", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        properties.merge(extra) { _, new in new }
        return KafkaConfig(properties: properties)
    }

    @Test func environmentVariablesBecomeLibrdkafkaSettings() throws {
        let config = try KafkaConfig.fromEnvironment([
            "KAFKA_BOOTSTRAP_SERVERS": "a:9092,b:9092", "KAFKA_SASL_MECHANISMS": "SCRAM-SHA-512", "PATH": "/bin",
        ])
        #expect(config.properties == ["bootstrap.servers": "a:9092,b:9092", "sasl.mechanisms": "SCRAM-SHA-512"])
        #expect(throws: ConfigurationProblem.self) { try KafkaConfig.fromEnvironment(["KAFKA_BOOTSTRAP_SERVERS": " "]) }
    }

    @Test func anUnknownSettingFailsClearly() {
        #expect(throws: KafkaError.self) {
            _ = try KafkaProducer(config: KafkaConfig(properties: ["bootstrap.servers": "x:1", "no.such.setting": "1"]), logger: logger)
        }
    }

    @Test func recordsWithHeadersAndTombstonesAreAcknowledgedInOrderAndAClosedProducerRefuses() async throws {
        let producer = try KafkaProducer(config: mockConfig(), logger: logger)
        let first = try await producer.send(
            OutgoingMessage(topic: "t1", key: Array("k".utf8), value: Array("v".utf8), headers: [KafkaHeader(key: "h", string: "1")], partition: 0))
        #expect(first.topic == "t1" && first.partition == 0 && first.offset == 0)
        let tombstone = try await producer.send(OutgoingMessage(topic: "t1", key: Array("k".utf8), value: nil, partition: 0))
        #expect(tombstone.offset == 1)
        await producer.shutdown()
        await #expect(throws: KafkaError.self) {
            _ = try await producer.send(OutgoingMessage(topic: "t1", key: nil, value: nil))
        }
    }

    @Test func aRecordForAPartitionThatDoesNotExistFailsWithATypedError() async throws {
        let producer = try KafkaProducer(config: mockConfig(["message.timeout.ms": "2000"]), logger: logger)
        let outcome = await producer.send(batch: [OutgoingMessage(topic: "t2", key: nil, value: Array("x".utf8), partition: 99)])
        await producer.shutdown()
        guard case .failure(let error) = outcome.first else {
            Issue.record("a record for partition 99 was accepted")
            return
        }
        switch error {
        case .enqueue, .delivery: break
        default: Issue.record("unexpected error \(error)")
        }
    }

    @Test func aClosedConsumerRefusesToPoll() async throws {
        let consumer = try KafkaConsumer(config: mockConfig(), groupID: "g1", topics: ["t3"], logger: logger)
        _ = try await consumer.poll(maxMessages: 1, timeout: .milliseconds(200))
        await consumer.close()
        await #expect(throws: KafkaError.self) {
            _ = try await consumer.poll(maxMessages: 1, timeout: .milliseconds(10))
        }
    }
}
