import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import RegistryService
import Testing

extension IntegrationSuite {
    /// `cityctl` as an operator runs it: the built executable, against the local broker and a registry.
    @Suite struct CityCtlDrill {
        static let schemas = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/schemas/district-inbound").path

        func cityctl(_ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
            var environment = Stack.environment
            environment["CITY_SCHEMAS_DIR"] = Self.schemas
            let child = try ChildProcess(Stack.executable("cityctl"), arguments: arguments, environment: environment)
            let ended = try #require(await child.wait(timeout: .seconds(60)), "cityctl \(arguments.joined(separator: " ")) did not finish")
            return (ended.status, ended.stdout, ended.stderr)
        }

        func file(_ lines: [String], suffix: String = "jsonl") throws -> String {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("district-\(UUID().uuidString).\(suffix)")
            try lines.joined(separator: "\n").write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }

        func line(_ type: EventType, _ record: some Encodable) throws -> String {
            let data = String(decoding: try EventCoding.encode(record), as: UTF8.self)
            return #"{"type":"\#(type.rawValue)","data":\#(data)}"#
        }

        func readAll(_ topic: String) async throws -> [ConsumedMessage] {
            let reader = try KafkaConsumer(config: try Stack.kafka(), groupID: Stack.uniqueName("reader"), topics: [], logger: Stack.logger)
            let ends = try await reader.watermarks(of: topic)
            try await reader.assign(Dictionary(uniqueKeysWithValues: ends.map { (TopicPartition(topic: topic, partition: $0.key), $0.value.low) }))
            var messages: [ConsumedMessage] = []
            let expected = ends.values.reduce(0) { $0 + Int($1.high - $1.low) }
            let deadline = ContinuousClock.now + .seconds(20)
            while messages.count < expected && ContinuousClock.now < deadline {
                messages += try await reader.poll(maxMessages: 100, timeout: .milliseconds(200))
            }
            await reader.close()
            return messages
        }

        @Test func anImportWithABadLineIsRefusedWithItsNumberAndWritesNothingAndAGoodOneIsTakenOnce() async throws {
            let topic = try await Stack.topic("cityctl", partitions: 3)
            let household = UUID()
            let good = [
                try line(DistrictInbound.householdRegistered, DistrictHousehold(id: household, buildingCode: "D1-B", address: "Unit 5")),
                try line(
                    DistrictInbound.residentRegistered,
                    DistrictResident(id: UUID(), householdId: household, name: "Liu Yang", nationalId: testNationalID(41), residency: "registered")),
                try line(
                    DistrictInbound.disputeReported,
                    DistrictDispute(id: UUID(), grid: "D1-G", category: "neighbours", severity: "minor", description: "noise", parties: [.init(name: "Liu Yang")])),
            ]
            let bad = try line(
                DistrictInbound.residentRegistered,
                DistrictResident(id: UUID(), householdId: household, name: "Wang Fang", nationalId: "440305195003070000", residency: "registered"))

            let refused = try await cityctl(["publish", try file([good[0], good[1], bad, good[2]]), "--district", "D1", "--topic", topic])
            #expect(refused.status == 65)
            #expect(refused.errors.contains("line 3: nationalId"), "\(refused.errors)")
            #expect(refused.errors.contains("nothing was published"))
            #expect(try await readAll(topic).isEmpty)

            let path = try file(good)
            let published = try await cityctl(["publish", path, "--district", "D1", "--topic", topic])
            #expect(published.status == 0, "\(published.errors)")
            #expect(published.output.contains("published 3 events"))
            // Publishing the same file again (an interrupted run retried) sends the same event ids.
            #expect(try await cityctl(["publish", path, "--district", "D1", "--topic", topic]).status == 0)
            let messages = try await readAll(topic)
            #expect(messages.count == 6)
            #expect(Set(messages.map(\.keyString)) == ["D1"])
            #expect(Set(messages.compactMap { $0.headers.string(CloudEventHeader.source) }) == ["/district/D1"])
            #expect(Set(messages.compactMap { $0.headers.string(CloudEventHeader.id) }).count == 3)
            let order = messages.filter { $0.partition == messages[0].partition }.prefix(3).compactMap { $0.headers.string(CloudEventHeader.type) }
            #expect(order == good.indices.map { [DistrictInbound.householdRegistered, DistrictInbound.residentRegistered, DistrictInbound.disputeReported][$0].rawValue })
        }

        @Test func aFileWithTextTheDatabaseCannotStoreIsRefusedByLineWithAndWithoutDryRun() async throws {
            let topic = try await Stack.topic("cityctl-nul", partitions: 1)
            let household = UUID()
            let good = try line(DistrictInbound.householdRegistered, DistrictHousehold(id: household, buildingCode: "D1-B", address: "Unit 5"))
            let escaped = try line(DistrictInbound.householdRegistered, DistrictHousehold(id: UUID(), buildingCode: "D1-B", address: "Unit\u{0}6"))
            #expect(escaped.contains(#"\u0000"#), "the encoder writes U+0000 as its JSON escape")
            let rawZero = Array(good.replacingOccurrences(of: "Unit 5", with: "Unit 7").utf8).map { $0 == UInt8(ascii: "7") ? 0 : $0 }
            let notUTF8 = Array(good.replacingOccurrences(of: "Unit 5", with: "Unit 8").utf8).map { $0 == UInt8(ascii: "8") ? 0xFF : $0 }
            var bytes = Array(good.utf8) + [UInt8(ascii: "\n")] + Array(escaped.utf8) + [UInt8(ascii: "\n")]
            bytes += rawZero + [UInt8(ascii: "\n")] + notUTF8
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("district-\(UUID().uuidString).jsonl")
            try Data(bytes).write(to: url)

            for dryRun in [true, false] {
                let refused = try await cityctl(["publish", url.path, "--district", "D1", "--topic", topic] + (dryRun ? ["--dry-run"] : []))
                #expect(refused.status == 65, "\(refused.errors)")
                #expect(refused.errors.contains("line 2: text holds U+0000, which the database cannot store"), "\(refused.errors)")
                #expect(refused.errors.contains("line 3: text holds U+0000, which the database cannot store"), "\(refused.errors)")
                #expect(refused.errors.contains("line 4: text is not valid UTF-8"), "\(refused.errors)")
                #expect(!refused.errors.contains("line 1"), "the good line is fine")
                #expect(refused.errors.contains("3 line(s) with problems") && refused.errors.contains("nothing was published"))
            }
            #expect(try await readAll(topic).isEmpty)
            // The good line alone passes the dry run.
            let checked = try await cityctl(["publish", try file([good]), "--district", "D1", "--topic", topic, "--dry-run"])
            #expect(checked.status == 0 && checked.output.contains("1 events checked"), "\(checked.errors)")
        }

        @Test func aDeadLetterReplayedAfterTheFixIsAppliedOnce() async throws {
            try await RegistryHarness.run { registry in
                try await registry.drawPlaces("D1")
                let topic = try await Stack.topic("cityctl-replay", partitions: 1)
                let logger = Stack.logger
                let producer = try KafkaProducer(config: try Stack.kafka(), logger: logger)
                let inbox = try registry.districtInbox(topic: topic, group: Stack.uniqueName("ingress"), producer: producer)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await inbox.run() }
                    // The resident arrives before its household: refused for an unknown reference.
                    let household = UUID()
                    let resident = try line(
                        DistrictInbound.residentRegistered,
                        DistrictResident(id: UUID(), householdId: household, name: "Liu Yang", nationalId: testNationalID(42), residency: "registered"))
                    #expect(try await cityctl(["publish", try file([resident]), "--district", "D1", "--topic", topic]).status == 0)
                    try await Stack.eventually(timeout: .seconds(40), "the resident dead-lettered") { inbox.statistics.deadLettered == 1 }

                    let listed = try await cityctl(["dead-letters", "list", "--topic", topic])
                    #expect(listed.status == 0)
                    #expect(listed.output.contains("unknown_reference"))
                    #expect(listed.output.contains("1 dead letter(s)"))

                    // The fix: the household is registered; then the dead letter is replayed.
                    let fix = try line(DistrictInbound.householdRegistered, DistrictHousehold(id: household, buildingCode: "D1-B", address: "Unit 9"))
                    #expect(try await cityctl(["publish", try file([fix]), "--district", "D1", "--topic", topic]).status == 0)
                    try await Stack.eventually(timeout: .seconds(40), "the household applied") { inbox.statistics.applied == 1 }
                    #expect(try await registry.count("SELECT count(*) FROM resident") == 0)

                    let replayed = try await cityctl(["dead-letters", "replay", "--topic", topic, "--kind", "unknown_reference"])
                    #expect(replayed.status == 0, "\(replayed.errors)")
                    #expect(replayed.output.contains("replayed 1 record(s)"))
                    try await Stack.eventually(timeout: .seconds(40), "the replayed resident applied") {
                        try await registry.count("SELECT count(*) FROM resident") == 1
                    }
                    // Replaying again changes nothing: the event is now taken.
                    #expect(try await cityctl(["dead-letters", "replay", "--topic", topic]).status == 0)
                    try await Stack.eventually(timeout: .seconds(40), "the second replay consumed") { inbox.statistics.consumed == 4 }
                    #expect(inbox.statistics.duplicates == 1)
                    #expect(inbox.statistics.deadLettered == 1)
                    #expect(try await registry.count("SELECT count(*) FROM resident") == 1)
                    tasks.cancelAll()
                }
                await producer.shutdown()
            }
        }
    }
}
