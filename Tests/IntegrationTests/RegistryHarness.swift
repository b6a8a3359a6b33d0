import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Messaging
import PostgresNIO
import RegistryCore
import RegistryService
import ServiceRuntime
import Storage
import Testing

/// The registry's router over a fresh schema of the real PostgreSQL, driven without a socket, with
/// tokens for any role and scope.
struct RegistryHarness: RouterHarness {
    static let secret = String(repeating: "r", count: 40)
    static let settings = RegistrySettings(idDigestKey: "test-id-digest-key-0123456789abcdef0123")

    let database: Database
    let client: any TestClientProtocol
    let authority: TokenAuthority

    /// Runs `body` with the registry's API on a migrated schema that is dropped afterwards.
    static func run(_ body: @Sendable (RegistryHarness) async throws -> Void) async throws {
        let schema = Stack.uniqueName("reg")
        try await Stack.withDatabase(schema: schema, migrations: RuntimeSchema.migrations + RegistryService.migrations) { database in
            try await Stack.serveRouter(RegistryService.descriptor(settings: settings), schema: schema, secret: secret, database: database) { served in
                try await body(RegistryHarness(database: database, client: served.client, authority: served.authority))
            }
        }
    }

    /// The registry's district ingress on `topic`, as the service wires it, dead letters through `producer`.
    func districtInbox(topic: String, group: String, producer: KafkaProducer) throws -> InboxConsumer {
        let logger = Stack.logger
        return InboxConsumer(
            database: database,
            consumer: try KafkaConsumer(config: try Stack.kafka(), groupID: group, topics: [topic], logger: logger),
            deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: group, logger: logger),
            handler: DistrictIngress(digest: NationalIDDigest(secret: Self.settings.idDigestKey)), logger: logger)
    }

    /// Runs the district ingress on `topic` as `group` until it has consumed `expected` records, then
    /// stops it; returns its counts. A later call with the same group goes on from its commits.
    func consumeDistrict(topic: String, group: String, producer: KafkaProducer, until expected: Int) async throws -> InboxStatistics {
        let inbox = try districtInbox(topic: topic, group: group, producer: producer)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await inbox.run() }
            try await Stack.eventually(timeout: .seconds(40), "the topic consumed") { inbox.statistics.consumed >= expected }
            tasks.cancelAll()
        }
        return inbox.statistics
    }

    /// A district system's record on `topic`, keyed by the district.
    static func districtMessage(
        _ district: String, _ type: EventType, _ record: some Encodable & Sendable, subject: UUID, topic: String, id: UUID = UUID()
    ) throws -> OutgoingMessage {
        OutgoingMessage(
            event: try DistrictInbound.event(district: district, type: type, subject: subject.uuidString, record: record, id: id),
            topic: topic, key: district)
    }

    func token(_ role: Role, _ scope: Scope = .city, subject: String = "tester") async throws -> String {
        try await authority.issue(AccessClaims(subject: subject, role: role, scope: scope, expires: Date().addingTimeInterval(600), name: "Tester"))
    }

    var admin: String { get async throws { try await token(.cityAdmin) } }

    /// Draws district > street > community > grid > building under `prefix` (codes `<prefix>`,
    /// `<prefix>-S`, `<prefix>-C`, `<prefix>-G`, `<prefix>-B`).
    func drawPlaces(_ prefix: String) async throws {
        let admin = try await admin
        let places: [[String: Any]] = [
            ["code": prefix, "level": "district", "name": "District \(prefix)"],
            ["code": "\(prefix)-S", "level": "street", "name": "Street", "parentCode": prefix],
            ["code": "\(prefix)-C", "level": "community", "name": "Community", "parentCode": "\(prefix)-S", "communityType": "old-city", "workstation": "WS-1"],
            ["code": "\(prefix)-G", "level": "grid", "name": "Grid", "parentCode": "\(prefix)-C", "boundary": "north of the canal"],
            ["code": "\(prefix)-B", "level": "building", "name": "Building 1", "parentCode": "\(prefix)-G", "address": "1 Canal Road"],
        ]
        for place in places {
            let reply = try await call(.post, "/api/v1/places", token: admin, body: place)
            try #require(reply.status == .created, "drawing \(place["code"]!): \(reply.body)")
        }
    }

    func createHousehold(building: String, id: UUID = UUID(), token: String? = nil) async throws -> UUID {
        let bearer: String
        if let token { bearer = token } else { bearer = try await admin }
        let reply = try await call(
            .post, "/api/v1/households", token: bearer, body: ["id": id.uuidString, "buildingCode": building, "address": "Unit 101"])
        try #require(reply.status == .created, "household: \(reply.body)")
        return id
    }

    func createResident(household: UUID, nationalID: String, name: String = "Wang Fang", groups: [String] = [], token: String? = nil) async throws -> UUID {
        let id = UUID()
        let bearer: String
        if let token { bearer = token } else { bearer = try await admin }
        let reply = try await call(
            .post, "/api/v1/residents", token: bearer,
            body: ["id": id.uuidString, "householdId": household.uuidString, "name": name, "nationalId": nationalID, "residency": "registered", "groups": groups])
        try #require(reply.status == .created, "resident: \(reply.body)")
        return id
    }

    func count(_ sql: String) async throws -> Int { try await Stack.count(database, sql) }
}

/// A valid GB 11643 number for test resident `n` (born 1950-03-07 in Shenzhen Nanshan).
func testNationalID(_ n: Int) -> String {
    let body = "440305" + "19500307" + String(format: "%03d", n % 1000)
    return body + String(NationalID.checkCharacter(for: body.compactMap(\.wholeNumberValue)))
}
