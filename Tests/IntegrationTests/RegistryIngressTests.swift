import Contracts
import Foundation
import Kafka
import Logging
import Messaging
import PostgresNIO
import RegistryService
import ServiceRuntime
import Storage
import Testing

extension IntegrationSuite {
    @Suite struct DistrictIngressDrill {
        @Test func districtRecordsApplyOnceAndCrossDistrictOrInvalidOnesAreDeadLetteredWithTheReason() async throws {
            try await RegistryHarness.run { registry in
                try await registry.drawPlaces("D1")
                try await registry.drawPlaces("D2")
                let topic = try await Stack.topic("inbound", partitions: 1)
                let logger = Stack.logger
                let producer = try KafkaProducer(config: try Stack.kafka(), logger: logger)
                let household = UUID(), r1 = UUID(), r2 = UUID()
                func message(_ district: String, _ type: EventType, _ record: some Encodable & Sendable, subject: UUID, id: UUID = UUID()) throws -> OutgoingMessage {
                    try RegistryHarness.districtMessage(district, type, record, subject: subject, topic: topic, id: id)
                }
                func resident(_ id: UUID, _ n: Int, household: UUID = household, name: String = "Liu Yang") -> DistrictResident {
                    DistrictResident(id: id, householdId: household, name: name, nationalId: testNationalID(n), residency: "registered", groups: ["unemployed"])
                }
                var badID = resident(UUID(), 0)
                badID.nationalId = "440305195003070000"
                let firstR1 = try message("D1", DistrictInbound.residentRegistered, resident(r1, 31), subject: r1)
                let messages: [OutgoingMessage] = [
                    try message("D1", DistrictInbound.householdRegistered, DistrictHousehold(id: household, buildingCode: "D1-B", address: "Unit 5"), subject: household),
                    firstR1,
                    try message("D1", DistrictInbound.residentRegistered, resident(r2, 32), subject: r2),
                    try message("D2", DistrictInbound.residentRegistered, resident(UUID(), 33), subject: UUID()),  // D2 writing into D1
                    try message("D1", DistrictInbound.residentRegistered, badID, subject: badID.id),
                    try message("D1", DistrictInbound.residentRegistered, resident(UUID(), 34, household: UUID()), subject: UUID()),
                    try message("D2", DistrictInbound.householdRegistered, DistrictHousehold(id: UUID(), buildingCode: "D1-B", address: "x"), subject: UUID()),
                    try message("D1", DistrictInbound.residentRegistered, resident(r1, 31), subject: r1),  // re-sent, nothing new
                    try message("D1", DistrictInbound.residentUpdated, resident(r2, 32, name: "Liu Yangyang"), subject: r2),
                    try message("D1", DistrictInbound.disputeReported, ["summary": "noise"], subject: UUID()),  // the mediation service's
                    firstR1,  // redelivered: the same event id
                    try message("D1", DistrictInbound.residentRegistered, resident(UUID(), 31, name: "Impostor"), subject: UUID()),
                    try message(
                        "D1", DistrictInbound.roleAssigned,
                        DistrictRole(id: UUID(), residentId: r1, role: "volunteer", placeCode: "D1-C", details: RoleDetails(skills: ["elder-care"])), subject: r1),
                ]
                for message in messages { _ = try await producer.send(message) }

                func consume(group: String, until expected: Int) async throws -> InboxStatistics {
                    try await registry.consumeDistrict(topic: topic, group: group, producer: producer, until: expected)
                }
                let stats = try await consume(group: Stack.uniqueName("ingress"), until: messages.count)
                #expect(stats.duplicates == 1)
                #expect(stats.ignored == 1)
                #expect(stats.deadLettered == 5)

                #expect(try await registry.count("SELECT count(*) FROM resident") == 2)
                #expect(try await registry.count("SELECT count(*) FROM resident WHERE name = 'Liu Yangyang'") == 1)
                let published = try await registry.database.withConnection { connection in
                    var types: [String] = []
                    let rows = try await connection.query(
                        "SELECT event_type FROM outbox WHERE event_type NOT LIKE 'registry.place.%' ORDER BY position", logger: logger)
                    for try await type in rows.decode(String.self) { types.append(type) }
                    return types
                }
                #expect(
                    published == [
                        "registry.household.registered.v1", "registry.resident.registered.v1", "registry.resident.registered.v1",
                        "registry.resident.updated.v1", "registry.role.assigned.v1",
                    ])

                let reader = try KafkaConsumer(config: try Stack.kafka(), groupID: Stack.uniqueName("dlq"), topics: [Topic.deadLetter(of: topic)], logger: logger)
                var letters: [ConsumedMessage] = []
                let clock = ContinuousClock()
                let deadline = clock.now.advanced(by: .seconds(30))
                while letters.count < 5 && clock.now < deadline {
                    letters += try await reader.poll(maxMessages: 10, timeout: .milliseconds(500))
                }
                await reader.close()
                #expect(letters.map { $0.headers.string(DeadLetterHeader.kind) ?? "-" } == ["out_of_scope", "invalid", "unknown_reference", "out_of_scope", "conflict"])
                #expect(letters[0].headers.string(DeadLetterHeader.reason)?.contains("outside district:D2") == true)
                #expect(letters[1].headers.string(DeadLetterHeader.reason)?.contains("nationalId") == true)
                #expect(letters.allSatisfy { !($0.headers.string(DeadLetterHeader.reason) ?? "").contains(testNationalID(31)) })

                // The whole topic again (a consumer group reset): nothing applies twice, nothing is dead-lettered twice.
                let outboxBefore = try await registry.count("SELECT count(*) FROM outbox")
                let again = try await consume(group: Stack.uniqueName("replay"), until: messages.count)
                #expect(again.deadLettered == 0)
                #expect(again.applied == 0)
                #expect(try await registry.count("SELECT count(*) FROM outbox") == outboxBefore)
                await producer.shutdown()
            }
        }

        /// New residents of a batch are written in one statement before stored ones are compared; the
        /// outcome must still be that of taking the records in order.
        @Test func aNumberClaimedTwiceInOneBatchGoesToTheRecordThatComesFirst() async throws {
            try await RegistryHarness.run { registry in
                try await registry.drawPlaces("D1")
                let topic = try await Stack.topic("inbound", partitions: 1)
                let logger = Stack.logger
                let producer = try KafkaProducer(config: try Stack.kafka(), logger: logger)
                let household = UUID(), stored = UUID(), newcomer = UUID(), other = UUID()
                func registered(_ id: UUID, _ n: Int) throws -> OutgoingMessage {
                    let record = DistrictResident(id: id, householdId: household, name: "Resident \(n)", nationalId: testNationalID(n), residency: "registered")
                    return try RegistryHarness.districtMessage("D1", DistrictInbound.residentRegistered, record, subject: id, topic: topic)
                }
                // One group throughout: each consumer goes on from where the one before committed.
                let group = Stack.uniqueName("ingress")
                func consume(_ messages: [OutgoingMessage]) async throws -> InboxStatistics {
                    for message in messages { _ = try await producer.send(message) }
                    return try await registry.consumeDistrict(topic: topic, group: group, producer: producer, until: messages.count)
                }
                let home = try RegistryHarness.districtMessage(
                    "D1", DistrictInbound.householdRegistered, DistrictHousehold(id: household, buildingCode: "D1-B", address: "Unit 7"),
                    subject: household, topic: topic)
                _ = try await consume([home, try registered(stored, 41)])
                #expect(try await registry.count("SELECT count(*) FROM resident") == 1)

                // One batch: the stored resident takes number 42, then a newcomer claims 42 too, then
                // another newcomer with a number of its own.
                let stats = try await consume([try registered(stored, 42), try registered(newcomer, 42), try registered(other, 43)])
                #expect(stats.deadLettered == 1)
                #expect(try await registry.count("SELECT count(*) FROM resident") == 2)
                #expect(try await registry.count("SELECT count(*) FROM resident WHERE id = '\(newcomer)'") == 0)
                #expect(try await registry.count("SELECT count(*) FROM resident WHERE id = '\(stored)' AND name = 'Resident 42'") == 1)
                #expect(try await registry.count("SELECT count(*) FROM resident WHERE id = '\(other)'") == 1)
                #expect(try await registry.count("SELECT count(*) FROM outbox WHERE subject = '\(newcomer.uuidString.lowercased())'") == 0)
                #expect(try await registry.count("SELECT count(*) FROM outbox WHERE event_type = 'registry.resident.updated.v1'") == 1)
                await producer.shutdown()
            }
        }
    }
}
