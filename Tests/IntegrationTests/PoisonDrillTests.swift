import CityControl
import Contracts
import DrillKit
import Foundation
import Kafka
import Logging
import MediationService
import Messaging
import PostgresNIO
import RegistryService
import ServiceRuntime
import Storage
import Testing
import VolunteerMatchingService

/// One consumer group under the poison drill: its handler on its database, and how to make a valid
/// record whose free text is `text`.
struct PoisonDrillCase: Sendable {
    var name: String
    var handler: any InboxHandler
    var database: Database
    /// A record of the group's contract; `index` makes it distinct, `text` goes into a text column.
    var record: @Sendable (_ index: Int, _ text: String) throws -> OutgoingMessage
    /// The first level of the event type family for an unknown type (`district`, `registry`).
    var family: String
    /// A rule the database holds and the service's validation does not know: the drill adds it.
    var constraint: String
    /// A JSON field of `record` holding an integer, or a text field to put a too-large number into.
    var numberField: String
    /// Records applied so far.
    var applied: @Sendable () async throws -> Int
}

/// Poison records of several kinds interleaved with valid ones, on one partition and beside another,
/// against the real PostgreSQL and broker: every valid record applied once, each poison record
/// dead-lettered once with its kind, nothing applied twice when the whole topic is read again.
enum PoisonDrill {
    static let constraintMarker = "POISON-CONSTRAINT"

    struct Outcome {
        var drained: Duration
        var failedTries: Int
        var valid: Int
        var poison: Int
    }

    static func run(_ drill: PoisonDrillCase) async throws -> Outcome {
        MetricsSetup.bootstrap()
        let logger = Stack.logger
        let topic = try await Stack.topic("poison-\(drill.name)", partitions: 2)
        _ = try await drill.database.withConnection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: drill.constraint), logger: logger)
        }
        let producer = try KafkaProducer(config: try Stack.kafka(), logger: logger)
        func place(_ message: OutgoingMessage, _ partition: Int32) -> OutgoingMessage {
            var message = message
            message.topic = topic
            message.partition = partition
            return message
        }
        func replacing(_ message: OutgoingMessage, _ old: String, with new: [UInt8]) -> OutgoingMessage {
            var message = message
            let value = message.value ?? []
            let needle = Array(old.utf8)
            if let start = (0...(value.count - needle.count)).first(where: { Array(value[$0..<$0 + needle.count]) == needle }) {
                message.value = Array(value[..<start]) + new + Array(value[(start + needle.count)...])
            }
            return message
        }
        var valid = 0
        func good(_ partition: Int32) throws -> OutgoingMessage {
            valid += 1
            return place(try drill.record(valid, "valid record \(valid)"), partition)
        }
        let nul = place(try drill.record(1000, "text with \u{0} inside"), 0)
        var oversized = place(try drill.record(1001, "big"), 0)
        oversized.value = Array(#"{"blob":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 990_000) + Array(#""}"#.utf8)
        oversized.headers = oversized.headers.map {
            $0.key == CloudEventHeader.type ? KafkaHeader(key: $0.key, string: "\(drill.family).drill.oversized.v1") : $0
        }
        let badUTF8 = replacing(place(try drill.record(1002, "NOT-UTF8-HERE"), 0), "NOT-UTF8-HERE", with: [0xC3, 0x28, 0xFF])
        let constraint = place(try drill.record(1003, "refused \(constraintMarker)"), 0)
        var overflow = place(try drill.record(1004, "NUMBER-HERE"), 0)
        let numberPattern = #""\#(drill.numberField)":"#
        let huge = Array("123456789012345678901234567890".utf8)
        if let text = overflow.value.map({ String(decoding: $0, as: UTF8.self) }), let range = text.range(of: numberPattern) {
            // Replace the value after the field name, whatever it was, up to the next comma or brace.
            let rest = text[range.upperBound...]
            let end = rest.firstIndex { $0 == "," || $0 == "}" } ?? rest.endIndex
            overflow.value = Array((text[..<range.upperBound] + String(decoding: huge, as: UTF8.self) + text[end...]).utf8)
        }
        let poison: [(OutgoingMessage, String)] = [
            (nul, "invalid"), (oversized, "unknown_type"), (badUTF8, "invalid"), (constraint, "constraint"), (overflow, "invalid"),
        ]
        var messages: [OutgoingMessage] = []
        for (message, _) in poison {
            messages.append(try good(0))
            messages.append(message)
            messages.append(try good(1))
        }
        messages.append(try good(0))
        let total = messages.count

        let health = ConsumerHealth(stallAfter: .seconds(30))
        let group = Stack.uniqueName("poison-\(drill.name)")
        func inbox(_ group: String) throws -> InboxConsumer {
            InboxConsumer(
                database: drill.database, consumer: try KafkaConsumer(config: try Stack.kafka(), groupID: group, topics: [topic], logger: logger),
                deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: group, logger: logger), handler: drill.handler,
                health: health, logger: logger)
        }
        // A warm-up record first, so that the time measured is the drill's, not the group join's.
        let warmUp = try good(1)
        _ = try await producer.send(warmUp)
        let first = try inbox(group)
        let clock = ContinuousClock()
        var drained = Duration.zero
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await first.run() }
            try await Stack.eventually(timeout: .seconds(60), "the warm-up record consumed") { first.statistics.consumed > 0 }
            let start = clock.now
            for message in messages { _ = try await producer.send(message) }
            try await Stack.eventually(timeout: .seconds(60), "\(drill.name): every record consumed") { first.statistics.consumed >= total + 1 }
            drained = clock.now - start
            tasks.cancelAll()
        }
        #expect(try await drill.applied() == valid, "\(drill.name): every valid record applied")
        #expect(first.statistics.deadLettered == poison.count, "\(drill.name): each poison record dead-lettered")
        #expect(health.stalled().isEmpty, "\(drill.name): no partition left stalled")

        // The same group after a restart goes on from its commits: one new record, nothing again.
        let restarted = try inbox(group)
        _ = try await producer.send(try good(0))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await restarted.run() }
            try await Stack.eventually(timeout: .seconds(60), "\(drill.name): the record after the restart") { restarted.statistics.consumed >= 1 }
            tasks.cancelAll()
        }
        #expect(restarted.statistics.applied == 1 && restarted.statistics.deadLettered == 0, "\(drill.name): \(restarted.statistics)")
        #expect(try await drill.applied() == valid)

        // The whole topic read again, as a member would after a crash before any commit: the inbox
        // takes nothing twice.
        let again = try inbox(Stack.uniqueName("poison-again-\(drill.name)"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await again.run() }
            try await Stack.eventually(timeout: .seconds(60), "\(drill.name): the topic read again") { again.statistics.consumed >= total + 2 }
            tasks.cancelAll()
        }
        #expect(again.statistics.applied == 0, "\(drill.name): nothing applied twice")
        #expect(try await drill.applied() == valid)

        // The dead letters: one each, in partition order, with the kind and where it came from.
        let reader = try KafkaConsumer(config: try Stack.kafka(), groupID: Stack.uniqueName("dlq"), topics: [Topic.deadLetter(of: topic)], logger: logger)
        var letters: [ConsumedMessage] = []
        let deadline = clock.now.advanced(by: .seconds(30))
        while letters.filter({ $0.headers.string(DeadLetterHeader.group) == group }).count < poison.count && clock.now < deadline {
            letters += try await reader.poll(maxMessages: 20, timeout: .milliseconds(500))
        }
        await reader.close()
        await producer.shutdown()
        let mine = letters.filter { $0.headers.string(DeadLetterHeader.group) == group }
        #expect(mine.map { $0.headers.string(DeadLetterHeader.kind) ?? "-" } == poison.map(\.1), "\(drill.name): kinds")
        let big = try #require(mine.first { $0.headers.string(DeadLetterHeader.kind) == "unknown_type" })
        #expect(big.headers.string(DeadLetterHeader.truncated) == "true")
        #expect(big.headers.string(DeadLetterHeader.originalSize) == String(oversized.value?.count ?? 0))
        #expect((big.value?.count ?? 0) < 300_000, "a bounded copy")
        let refused = try #require(mine.first { $0.headers.string(DeadLetterHeader.kind) == "constraint" })
        #expect(refused.headers.string(DeadLetterHeader.reason)?.contains("23514") == true, "the reason names what the database said")
        #expect(refused.value == constraint.value, "a small record is kept whole, for replay")

        let samples = MetricSample.parse(MetricsSetup.exposition())
        var failures = 0
        for sample in samples where sample.name == "consumer_batch_failures_total" && sample.labels["group"] == group {
            failures += Int(sample.value)
        }
        return Outcome(drained: drained, failedTries: failures, valid: valid - 2, poison: poison.count)
    }

    static func report(_ name: String, _ outcome: Outcome) {
        print("poison drill \(name): \(outcome.valid) valid and \(outcome.poison) poison records drained in \(outcome.drained), \(outcome.failedTries) failed tries while isolating")
    }
}

extension IntegrationSuite {
    @Suite struct PoisonDrills {
        @Test func registryDistrictIngressIsolatesEveryKindOfPoison() async throws {
            try await RegistryHarness.run { registry in
                try await registry.drawPlaces("D1")
                let drill = PoisonDrillCase(
                    name: "registry-district", handler: DistrictIngress(digest: NationalIDDigest(secret: RegistryHarness.settings.idDigestKey)),
                    database: registry.database,
                    record: { _, text in
                        let household = UUID()
                        return try RegistryHarness.districtMessage(
                            "D1", DistrictInbound.householdRegistered, DistrictHousehold(id: household, buildingCode: "D1-B", address: text),
                            subject: household, topic: "-")
                    },
                    family: "district",
                    constraint: "ALTER TABLE household ADD CONSTRAINT drill_refuses CHECK (address NOT LIKE '%\(PoisonDrill.constraintMarker)%')",
                    numberField: "address",
                    applied: { try await Stack.count(registry.database, "SELECT count(*) FROM household") })
                PoisonDrill.report(drill.name, try await PoisonDrill.run(drill))
            }
        }

        @Test func mediationDistrictIngressIsolatesEveryKindOfPoison() async throws {
            try await MediationHarness.run { mediation in
                let drill = PoisonDrillCase(
                    name: "mediation-district",
                    handler: DisputeIngress(timeZone: TimeZone(identifier: "Asia/Shanghai")!, clock: { mediation.clock.now }, logger: Stack.logger),
                    database: mediation.database,
                    record: { _, text in
                        let dispute = DistrictDispute(
                            id: UUID(), grid: "G1", category: "family", severity: "minor", description: text, parties: [.init(name: "Neighbours")])
                        return try RegistryHarness.districtMessage("D1", DistrictInbound.disputeReported, dispute, subject: dispute.id, topic: "-")
                    },
                    family: "district",
                    constraint: "ALTER TABLE dispute_case ADD CONSTRAINT drill_refuses CHECK (description NOT LIKE '%\(PoisonDrill.constraintMarker)%')",
                    numberField: "description",
                    applied: { try await Stack.count(mediation.database, "SELECT count(*) FROM dispute_case") })
                PoisonDrill.report(drill.name, try await PoisonDrill.run(drill))
            }
        }

        @Test func volunteerDistrictIngressIsolatesEveryKindOfPoison() async throws {
            try await VolunteerHarness.run { volunteers in
                let drill = PoisonDrillCase(
                    name: "volunteer-district", handler: NeedIngress(timeZone: TimeZone(identifier: "Asia/Shanghai")!, logger: Stack.logger),
                    database: volunteers.database,
                    record: { _, text in
                        let start = Date().addingTimeInterval(86_400)
                        let need = DistrictServiceNeed(
                            id: UUID(), householdId: VolunteerHarness.household, grid: "G1", kind: "elder-care",
                            windows: [ServiceWindow(start: start, end: start.addingTimeInterval(3600))], volunteers: 1, notes: text)
                        return try RegistryHarness.districtMessage("D1", DistrictInbound.serviceNeedReported, need, subject: need.id, topic: "-")
                    },
                    family: "district",
                    constraint: "ALTER TABLE service_need ADD CONSTRAINT drill_refuses CHECK (notes NOT LIKE '%\(PoisonDrill.constraintMarker)%')",
                    numberField: "volunteers",
                    applied: { try await Stack.count(volunteers.database, "SELECT count(*) FROM service_need") })
                PoisonDrill.report(drill.name, try await PoisonDrill.run(drill))
            }
        }

        /// The three read models fed by `registry.events`.
        @Test(arguments: ["mediation", "volunteer-matching", "bidding"])
        func registryProjectionIsolatesEveryKindOfPoison(service: String) async throws {
            let (migrations, handler): ([Migration], any InboxHandler) =
                switch service {
                case "mediation": (MediationProjection.migrations, MediationProjection.handler())
                case "volunteer-matching": (VolunteerMatchingProjection.migrations, VolunteerMatchingProjection.handler())
                default: (BiddingProjection.migrations, BiddingProjection.handler())
                }
            try await Stack.withDatabase(schema: Stack.uniqueName("proj"), migrations: RuntimeSchema.migrations + migrations) { database in
                let drill = PoisonDrillCase(
                    name: "\(service)-projection", handler: handler, database: database,
                    record: { index, text in
                        let code = "P\(index)"
                        let place = PlaceSnapshot(
                            code: code, level: "grid", name: text, parentCode: "C1",
                            location: PlaceLocation(district: "D1", street: "S1", community: "C1", grid: code, gridVersion: 1), version: 1)
                        let event = try CloudEvent(source: "/registry", subject: code, time: Date(), payload: PlaceRegistered(place: place))
                        return OutgoingMessage(event: event, topic: "-", key: code)
                    },
                    family: "registry",
                    constraint: "ALTER TABLE known_place ADD CONSTRAINT drill_refuses CHECK (name NOT LIKE '%\(PoisonDrill.constraintMarker)%')",
                    numberField: "version",
                    applied: { try await Stack.count(database, "SELECT count(*) FROM known_place") })
                PoisonDrill.report(drill.name, try await PoisonDrill.run(drill))
            }
        }
    }
}
