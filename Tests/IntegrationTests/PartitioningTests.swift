import Contracts
import Foundation
import Kafka
import Testing

extension IntegrationSuite {
    /// A district may publish with any client: each key must land on the partition Java's default
    /// partitioner picks (murmur2 of the key), whichever client sent it.
    @Suite struct Partitioning {
        static let keys = (1...40).map { String(format: "D%02d", $0) } + ["district-with-a-long-code", "中区", "a"]

        /// The project's Python (`.venv` beside `scripts/`), from the stack script the test command names.
        static var python: URL {
            let script = URL(fileURLWithPath: Stack.environment["CITY_STACK_SCRIPT"] ?? "scripts/stack.sh")
            return script.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".venv/bin/python")
        }

        /// Runs a Python snippet with the keys as arguments; returns its stdout's lines.
        static func python(_ code: String, _ arguments: [String]) async throws -> [String] {
            let child = try ChildProcess(python, arguments: ["-c", code] + arguments, environment: Stack.environment)
            let ended = try #require(await child.wait(timeout: .seconds(60)), "python did not finish")
            #expect(ended.status == 0, "\(ended.stderr)")
            return ended.stdout.split(separator: "\n").map(String.init)
        }

        @Test func everyDistrictLandsWhereJavaKafkaPythonAndConfluentKafkaPutIt() async throws {
            let partitions: Int32 = Topic.districtInbound.partitions
            let topic = try await Stack.topic("partitioning", partitions: partitions)
            let producer = try KafkaProducer(config: try Stack.kafka(), logger: Stack.logger)
            var ours: [String] = []
            for key in Self.keys {
                let report = try await producer.send(OutgoingMessage(topic: topic, key: Array(key.utf8), value: Array("{}".utf8)))
                ours.append("\(key) \(report.partition)")
            }
            await producer.shutdown()

            // kafka-python's own murmur2, the same function as Java's `Utils.murmur2`; its known value
            // for "21" is checked first, so a wrong function cannot agree by chance.
            let murmur = try await Self.python(
                """
                import sys
                from kafka.partitioner.default import murmur2
                assert murmur2(b"21") - 2**32 == -973932308
                n = int(sys.argv[1])
                for key in sys.argv[2:]:
                    print(key, (murmur2(key.encode()) & 0x7fffffff) % n)
                """, [String(partitions)] + Self.keys)
            #expect(ours == murmur, "our producer against Java's rule (kafka-python's murmur2)")

            // confluent-kafka, configured as docs/district-integration.md says: the partition the broker acknowledged.
            let confluent = try await Self.python(
                """
                import sys
                from confluent_kafka import Producer
                producer = Producer({"bootstrap.servers": sys.argv[1], "partitioner": "murmur2_random"})
                found = {}
                for key in sys.argv[3:]:
                    producer.produce(sys.argv[2], key=key.encode(), value=b"{}", on_delivery=lambda err, msg: found.__setitem__(msg.key().decode(), msg.partition()))
                producer.flush(30)
                for key in sys.argv[3:]:
                    print(key, found[key])
                """, [try Stack.kafka().bootstrapServers, topic] + Self.keys)
            #expect(ours == confluent, "our producer against confluent-kafka with partitioner murmur2_random")
        }
    }
}
