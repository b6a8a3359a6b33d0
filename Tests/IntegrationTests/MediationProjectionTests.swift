import Contracts
import Foundation
import Kafka
import Logging
import MediationService
import Messaging
import PostgresNIO
import ServiceRuntime
import Storage
import Testing

extension IntegrationSuite {
    @Suite struct MediationRegistryProjection {
        @Test func gridsKeepEveryDrawingAndMediatorsFollowTheirRolesFromRegistryEvents() async throws {
            try await Stack.withDatabase(schema: Stack.uniqueName("med"), migrations: RuntimeSchema.migrations + MediationService.migrations) { database in
                let topic = try await Stack.topic("registry-events", partitions: 3)
                let logger = Stack.logger
                let producer = try KafkaProducer(config: try Stack.kafka(), logger: logger)
                func send(_ payload: some EventPayload, key: String) async throws {
                    let event = try CloudEvent(source: "/registry", subject: key, time: Date(), payload: payload)
                    _ = try await producer.send(OutgoingMessage(event: event, topic: topic, key: key))
                }
                func grid(version: Int, community: String) -> PlaceSnapshot {
                    PlaceSnapshot(
                        code: "G1", level: "grid", name: "Canal grid", parentCode: community,
                        location: PlaceLocation(district: "D1", street: "S1", community: community, grid: "G1", gridVersion: version), version: version)
                }
                let mediatorRole = UUID(), volunteerRole = UUID(), person = UUID()
                func role(_ id: UUID, _ name: String, details: RoleDetails, active: Bool) -> RoleSnapshot {
                    RoleSnapshot(
                        id: id, residentId: person, personName: "Chen Jing", role: name, placeCode: "C1",
                        location: PlaceLocation(district: "D1", street: "S1", community: "C1"), details: details, active: active,
                        startedOn: "2026-01-01", endedOn: active ? nil : "2026-11-01")
                }
                try await send(PlaceRegistered(place: grid(version: 1, community: "C1")), key: "G1")
                try await send(PlaceUpdated(place: grid(version: 2, community: "C2"), redrawn: true), key: "G1")
                try await send(RoleAssigned(role: role(mediatorRole, "mediator", details: RoleDetails(mediatorLevel: "community", fullTime: true), active: true)), key: mediatorRole.uuidString)
                try await send(RoleAssigned(role: role(volunteerRole, "volunteer", details: RoleDetails(skills: ["tutoring"]), active: true)), key: volunteerRole.uuidString)
                try await send(
                    ResidentRegistered(resident: ResidentSnapshot(id: person, householdId: UUID(), name: "Chen Jing", birthYear: 1970, residency: "registered", reachableByPhone: true, groups: [], location: nil)),
                    key: person.uuidString)
                try await send(RoleEnded(role: role(mediatorRole, "mediator", details: RoleDetails(mediatorLevel: "community", fullTime: true), active: false), reason: "moved"), key: mediatorRole.uuidString)

                let group = Stack.uniqueName("projection")
                let inbox = InboxConsumer(
                    database: database, consumer: try KafkaConsumer(config: try Stack.kafka(), groupID: group, topics: [topic], logger: logger),
                    deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: group, logger: logger), handler: RegistryProjection(), logger: logger)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await inbox.run() }
                    try await Stack.eventually(timeout: .seconds(40), "registry events consumed") { inbox.statistics.consumed >= 6 }
                    tasks.cancelAll()
                }
                await producer.shutdown()
                #expect(inbox.statistics.ignored == 1)
                #expect(inbox.statistics.deadLettered == 0)

                #expect(try await Stack.count(database, "SELECT count(*) FROM known_place WHERE code = 'G1' AND community_code = 'C2' AND version = 2") == 1)
                #expect(try await Stack.count(database, "SELECT count(*) FROM known_grid_version WHERE code = 'G1' AND version = 1 AND community_code = 'C1'") == 1)
                #expect(try await Stack.count(database, "SELECT count(*) FROM known_grid_version WHERE code = 'G1' AND version = 2 AND community_code = 'C2'") == 1)
                #expect(try await Stack.count(database, "SELECT count(*) FROM mediator") == 1, "only mediators are kept")
                #expect(try await Stack.count(database, "SELECT count(*) FROM mediator WHERE NOT active AND full_time AND level = 'community' AND place_code = 'C1'") == 1)
            }
        }
    }
}
