import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import MediationService
import Messaging
import PostgresNIO
import ServiceRuntime
import Storage
import Synchronization
import Testing

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func set(_ date: Date) { current.withLock { $0 = date } }
}

/// The mediation router over a fresh schema, with the registry's read model filled in by SQL: grid G1
/// in community C1 (street S1, district D1), grid G2 in community C2, two community mediators in C1
/// and one street mediator in S1.
struct MediationHarness: RouterHarness {
    static let secret = String(repeating: "m", count: 40)
    static let mediatorA = UUID(uuidString: "00000000-0000-0000-0000-0000000000A1")!
    static let mediatorB = UUID(uuidString: "00000000-0000-0000-0000-0000000000B2")!
    static let streetMediator = UUID(uuidString: "00000000-0000-0000-0000-0000000000C3")!

    let database: Database
    let client: any TestClientProtocol
    let authority: TokenAuthority
    let clock: TestClock

    static func time(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    static func run(_ body: @Sendable (MediationHarness) async throws -> Void) async throws {
        let schema = Stack.uniqueName("med")
        try await Stack.withDatabase(schema: schema, migrations: RuntimeSchema.migrations + MediationService.migrations) { database in
            _ = try await database.withConnection { connection in
                try await connection.query(
                    """
                    INSERT INTO known_place (code, level, name, district_code, street_code, community_code, version) VALUES
                      ('G1', 'grid', 'Canal grid', 'D1', 'S1', 'C1', 1), ('G2', 'grid', 'Hill grid', 'D1', 'S1', 'C2', 1)
                    """, logger: Stack.logger)
                try await connection.query(
                    """
                    INSERT INTO mediator (role_id, resident_id, name, level, place_code, district_code, street_code, community_code, active) VALUES
                      (\(mediatorA), gen_random_uuid(), 'Mediator A', 'community', 'C1', 'D1', 'S1', 'C1', true),
                      (\(mediatorB), gen_random_uuid(), 'Mediator B', 'community', 'C1', 'D1', 'S1', 'C1', true),
                      (\(streetMediator), gen_random_uuid(), 'Street mediator', 'street', 'S1', 'D1', 'S1', NULL, true)
                    """, logger: Stack.logger)
            }
            let clock = TestClock(time("2026-11-23T14:00:00+08:00"))
            try await Stack.serveRouter(MediationService.descriptor(clock: { clock.now }), schema: schema, secret: secret, database: database) { served in
                try await body(MediationHarness(database: database, client: served.client, authority: served.authority, clock: clock))
            }
            // Whatever the test did to cases, the load routing reads must equal the open cases counted.
            let drift = try await Stack.count(
                database,
                """
                SELECT count(*) FROM (SELECT mediator_role_id AS role_id, count(*) AS open_cases FROM dispute_case
                                      WHERE mediator_role_id IS NOT NULL AND status IN ('reported', 'accepted', 'assigned', 'in-mediation')
                                      GROUP BY mediator_role_id) counted
                FULL JOIN (SELECT role_id, open_cases FROM mediator_load WHERE open_cases > 0) kept USING (role_id)
                WHERE counted.open_cases IS DISTINCT FROM kept.open_cases
                """)
            #expect(drift == 0, "each mediator's kept load equals their open cases")
        }
    }

    func token(_ role: Role, _ scope: Scope = .city) async throws -> String {
        try await authority.issue(AccessClaims(subject: "tester", role: role, scope: scope, expires: Date().addingTimeInterval(600)))
    }

    func report(grid: String = "G1", severity: String = "minor", extra: [String: Any] = [:]) async throws -> APIReply {
        var body: [String: Any] = [
            "grid": grid, "category": "neighbours", "severity": severity, "channel": "grid-worker", "description": "noise at night",
            "parties": [["name": "Wang Fang"], ["name": "Li Lei", "contact": "13800000000"]],
        ]
        body.merge(extra) { _, new in new }
        return try await call(.post, "/api/v1/cases", token: try await token(.gridWorker, Scope(level: .community, id: "C1")), body: body)
    }

    func count(_ sql: String) async throws -> Int { try await Stack.count(database, sql) }
}

extension IntegrationSuite {
    @Suite struct MediationCases {
        @Test func aReportedCaseGoesToTheLeastLoadedMediatorOfItsCommunityElseUpALevel() async throws {
            try await MediationHarness.run { mediation in
                var mediators: [String] = []
                for _ in 0..<3 {
                    let reply = try await mediation.report()
                    #expect(reply.status == .created, "\(reply.body)")
                    #expect(reply.json["status"] as? String == "assigned")
                    mediators.append(reply.json["mediatorId"] as? String ?? "-")
                }
                let a = MediationHarness.mediatorA.uuidString, b = MediationHarness.mediatorB.uuidString
                #expect(mediators == [a, b, a], "least loaded first, ties to the smallest id")

                _ = try await mediation.database.withConnection { try await $0.query("UPDATE mediator SET active = false WHERE level = 'community'", logger: Stack.logger) }
                let upward = try await mediation.report()
                #expect(upward.json["level"] as? String == "street")
                #expect(upward.json["heldBy"] as? String == "S1")
                #expect(upward.json["mediatorId"] as? String == MediationHarness.streetMediator.uuidString)
                let id = try #require(upward.json["id"] as? String)
                let detail = try await mediation.call(.get, "/api/v1/cases/\(id)", token: try await mediation.token(.cityAdmin))
                let actions = (detail.json["transitions"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
                #expect(actions == ["report", "accept", "escalate", "assign"])
                #expect(try await mediation.count("SELECT count(*) FROM outbox WHERE event_type = 'mediation.case.reported.v1'") == 4)
            }
        }

        /// Reports that arrive together share transactions; routing still spreads them, and each
        /// report gets its own answer.
        @Test func concurrentReportsShareTransactionsAndAreSpreadOverTheMediators() async throws {
            try await MediationHarness.run { mediation in
                let twice = UUID().uuidString
                // 40 fine reports, then one id twice and an unknown grid.
                let statuses = try await withThrowingTaskGroup(of: (Int, HTTPResponse.Status).self) { group in
                    for index in 0..<43 {
                        group.addTask {
                            let extra: [String: Any] = index < 40 ? [:] : index < 42 ? ["id": twice] : ["grid": "G9"]
                            return (index, try await mediation.report(extra: extra).status)
                        }
                    }
                    var statuses: [Int: HTTPResponse.Status] = [:]
                    for try await (index, status) in group { statuses[index] = status }
                    return statuses
                }
                #expect((0..<40).allSatisfy { statuses[$0] == .created })
                #expect([statuses[40], statuses[41]].compactMap { $0?.code }.sorted() == [201, 409], "one id twice: one wins")
                #expect(statuses[42] == .unprocessableContent, "unknown grid: \(String(describing: statuses[42]))")
                #expect(try await mediation.count("SELECT count(*) FROM dispute_case") == 41)
                #expect(try await mediation.count("SELECT count(*) FROM case_party") == 82)
                #expect(try await mediation.count("SELECT count(*) FROM outbox WHERE event_type = 'mediation.case.reported.v1'") == 41)
                // Sent again after it was written: refused by the insert's conflict, with no history or event.
                let history = "SELECT count(*) FROM case_transition WHERE case_id = '\(twice)'"
                let recorded = (try await mediation.count(history), try await mediation.count("SELECT count(*) FROM outbox"))
                #expect(recorded.0 >= 2)
                #expect(try await mediation.report(extra: ["id": twice]).status == .conflict)
                #expect((try await mediation.count(history), try await mediation.count("SELECT count(*) FROM outbox")) == recorded)
                let transactions = try await mediation.count("SELECT count(DISTINCT xmin::text) FROM dispute_case")
                #expect(transactions < 41, "some reports shared a transaction (\(transactions) transactions for 41 cases)")
                let a = try await mediation.count("SELECT count(*) FROM dispute_case WHERE mediator_role_id = '\(MediationHarness.mediatorA)'")
                let b = try await mediation.count("SELECT count(*) FROM dispute_case WHERE mediator_role_id = '\(MediationHarness.mediatorB)'")
                #expect(a + b == 41 && abs(a - b) <= 4, "spread over both mediators: \(a) and \(b)")
            }
        }

        @Test func transitionsAreRecordedWithTheirEventsAndIllegalOnesAreRefusedWithAHint() async throws {
            try await MediationHarness.run { mediation in
                let id = try #require(try await mediation.report(severity: "major").json["id"] as? String)
                let mediator = try await mediation.token(.mediator, Scope(level: .community, id: "C1"))
                func act(_ body: [String: Any]) async throws -> APIReply {
                    try await mediation.call(.post, "/api/v1/cases/\(id)/transitions", token: mediator, body: body)
                }
                #expect(try await act(["action": "close"]).status == .conflict)
                #expect(try await act(["action": "fail"]).status == .badRequest, "a failure needs its reason")
                #expect(try await act(["action": "start-mediation"]).json["status"] as? String == "in-mediation")
                #expect(try await act(["action": "reach-agreement", "document": "The fence moves 20 cm."]).json["status"] as? String == "agreement-reached")
                let illegal = try await act(["action": "start-mediation"])
                #expect(illegal.status == .conflict)
                #expect(illegal.body.contains("record a follow-up visit"))
                #expect(try await act(["action": "follow-up", "holds": false, "note": "fence rebuilt"]).status == .ok)
                #expect(try await act(["action": "close"]).status == .conflict, "a broken agreement is not closed")
                #expect(try await act(["action": "reopen", "reason": "agreement broken"]).json["status"] as? String == "assigned")
                let types = try await mediation.database.withConnection { connection in
                    var types: [String] = []
                    for try await type in try await connection.query("SELECT event_type FROM outbox ORDER BY position", logger: Stack.logger).decode(String.self) {
                        types.append(type)
                    }
                    return types
                }
                #expect(types == [
                    "mediation.case.reported.v1", "mediation.case.changed.v1", "mediation.case.assigned.v1", "mediation.case.changed.v1",
                    "mediation.case.resolved.v1", "mediation.case.changed.v1", "mediation.case.changed.v1",
                ])
                let other = try await mediation.token(.communityWorker, Scope(level: .community, id: "C2"))
                #expect(try await mediation.call(.get, "/api/v1/cases/\(id)", token: other).status == .notFound)
                #expect(try await mediation.call(.post, "/api/v1/cases/\(id)/transitions", token: other, body: ["action": "withdraw", "reason": "x"]).status == .notFound)
                let listed = try await mediation.call(.get, "/api/v1/cases", token: other)
                #expect((listed.json["items"] as? [Any])?.isEmpty == true)
            }
        }

        @Test func aMatterBeforeACourtAndBadReportsAreRefusedAndWriteNothing() async throws {
            try await MediationHarness.run { mediation in
                #expect(try await mediation.report(extra: ["alreadyBefore": "court"]).status == .unprocessableContent)
                #expect(try await mediation.report(grid: "G9").status == .unprocessableContent)
                #expect(try await mediation.report(extra: ["category": "weather", "parties": []]).status == .badRequest)
                let outside = try await mediation.call(
                    .post, "/api/v1/cases", token: try await mediation.token(.gridWorker, Scope(level: .community, id: "C2")),
                    body: ["grid": "G1", "category": "family", "severity": "minor", "channel": "resident", "description": "x", "parties": [["name": "A"]]])
                #expect(outside.status == .forbidden)
                #expect(try await mediation.count("SELECT count(*) FROM dispute_case") == 0)
                #expect(try await mediation.count("SELECT count(*) FROM outbox") == 0)
            }
        }

        @Test func aMinorCaseReportedAt1400MissesMidnightAndEscalatesOnceWithTheMissOnRecord() async throws {
            try await MediationHarness.run { mediation in
                let minor = try #require(try await mediation.report().json["id"] as? String)
                let major = try #require(try await mediation.report(severity: "major").json["id"] as? String)
                let watcher: @Sendable (TestClock) -> DeadlineWatcher = { clock in
                    DeadlineWatcher(database: mediation.database, timeZone: TimeZone(identifier: "Asia/Shanghai")!, clock: { clock.now }, logger: Stack.logger)
                }
                let late = TestClock(MediationHarness.time("2026-11-23T23:59:00+08:00"))
                #expect(try await watcher(late).escalateOverdue() == 0, "not overdue before midnight")
                late.set(MediationHarness.time("2026-11-24T00:01:00+08:00"))
                // Two watchers at once (two replicas): each overdue case is escalated by exactly one.
                let one = watcher(late), two = watcher(late)
                async let first = one.escalateOverdue()
                async let second = two.escalateOverdue()
                #expect(try await first + second == 1)
                #expect(try await watcher(late).escalateOverdue() == 0, "escalated once")

                let admin = try await mediation.token(.cityAdmin)
                let escalated = try await mediation.call(.get, "/api/v1/cases/\(minor)", token: admin)
                let snapshot = escalated.json["case"] as? [String: Any] ?? [:]
                #expect(snapshot["level"] as? String == "street")
                #expect(snapshot["mediatorId"] as? String == MediationHarness.streetMediator.uuidString)
                #expect(try await mediation.count("SELECT count(*) FROM deadline_miss WHERE level = 'community' AND held_by = 'C1'") == 1)
                #expect(try await mediation.count("SELECT count(*) FROM outbox WHERE event_type = 'mediation.case.deadline-missed.v1'") == 1)
                let untouched = try await mediation.call(.get, "/api/v1/cases/\(major)", token: admin)
                #expect((untouched.json["case"] as? [String: Any])?["level"] as? String == "community", "a major case has days")
            }
        }

        @Test func districtReportsOpenOneCaseEachAndRefusedOnesAreDeadLetteredWithTheReason() async throws {
            try await MediationHarness.run { mediation in
                let topic = try await Stack.topic("disputes", partitions: 1)
                let logger = Stack.logger
                let producer = try KafkaProducer(config: try Stack.kafka(), logger: logger)
                func message(_ district: String, _ dispute: DistrictDispute, id: UUID = UUID()) throws -> OutgoingMessage {
                    OutgoingMessage(
                        event: try DistrictInbound.event(district: district, type: DistrictInbound.disputeReported, subject: dispute.id.uuidString, record: dispute, id: id),
                        topic: topic, key: district)
                }
                let dispute = DistrictDispute(
                    id: UUID(), grid: "G1", category: "property-management", severity: "major", description: "lift broken for a month",
                    parties: [.init(name: "Owners"), .init(name: "Property company")])
                let first = try message("D1", dispute)
                var police = dispute
                police.id = UUID()
                police.alreadyBefore = "police"
                let messages = [
                    first, first, try message("D1", dispute), try message("D2", DistrictDispute(id: UUID(), grid: "G1", category: "family", severity: "minor", description: "x", parties: [.init(name: "A")])),
                    try message("D1", police),
                ]
                for message in messages { _ = try await producer.send(message) }
                let group = Stack.uniqueName("disputes")
                let inbox = InboxConsumer(
                    database: mediation.database, consumer: try KafkaConsumer(config: try Stack.kafka(), groupID: group, topics: [topic], logger: logger),
                    deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: group, logger: logger),
                    handler: DisputeIngress(timeZone: TimeZone(identifier: "Asia/Shanghai")!, clock: { mediation.clock.now }, logger: logger), logger: logger)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await inbox.run() }
                    try await Stack.eventually(timeout: .seconds(40), "district reports consumed") { inbox.statistics.consumed >= messages.count }
                    tasks.cancelAll()
                }
                await producer.shutdown()
                #expect(inbox.statistics.duplicates == 1)
                #expect(inbox.statistics.deadLettered == 2)
                #expect(try await mediation.count("SELECT count(*) FROM dispute_case") == 1)
                #expect(try await mediation.count("SELECT count(*) FROM dispute_case WHERE channel = 'district-system' AND status = 'assigned'") == 1)
            }
        }

        @Test func aWatcherThatDiesMidRoundLeavesNoHalfEscalationAndTheNextEscalatesEachCaseOnce() async throws {
            try await MediationHarness.run { mediation in
                for _ in 0..<3 { _ = try await mediation.report() }
                struct Crash: Error {}
                let midnight: @Sendable () -> Date = { MediationHarness.time("2026-11-24T00:01:00+08:00") }
                let dying = DeadlineWatcher(
                    database: mediation.database, timeZone: TimeZone(identifier: "Asia/Shanghai")!, clock: midnight, logger: Stack.logger,
                    afterEach: { handled in if handled == 2 { throw Crash() } })
                await #expect(throws: Crash.self) { try await dying.escalateOverdue() }
                #expect(try await mediation.count("SELECT count(*) FROM deadline_miss") == 0, "the dead round left nothing")
                #expect(try await mediation.count("SELECT count(*) FROM dispute_case WHERE level = 'community'") == 3)
                #expect(try await mediation.count("SELECT count(*) FROM outbox WHERE event_type = 'mediation.case.deadline-missed.v1'") == 0)

                let next = DeadlineWatcher(database: mediation.database, timeZone: TimeZone(identifier: "Asia/Shanghai")!, clock: midnight, logger: Stack.logger)
                #expect(try await next.escalateOverdue() == 3)
                #expect(try await next.escalateOverdue() == 0)
                #expect(try await mediation.count("SELECT count(*) FROM deadline_miss") == 3)
                #expect(try await mediation.count("SELECT count(*) FROM case_transition WHERE action = 'escalate'") == 3)
            }
        }

        @Test func aNewGridOrCategoryIsRecordedAndRoutingRunsAgain() async throws {
            try await MediationHarness.run { mediation in
                let id = try #require(try await mediation.report().json["id"] as? String)
                let worker = try await mediation.token(.communityWorker, Scope(level: .street, id: "S1"))
                #expect(try await mediation.call(.patch, "/api/v1/cases/\(id)", token: worker, body: ["grid": "G2"]).status == .badRequest, "a reason is required")
                let moved = try await mediation.call(.patch, "/api/v1/cases/\(id)", token: worker, body: ["grid": "G2", "category": "family", "reason": "the parties live on the hill"])
                #expect(moved.status == .ok, "\(moved.body)")
                #expect(moved.json["category"] as? String == "family")
                #expect((moved.json["location"] as? [String: Any])?["community"] as? String == "C2")
                // C2 has no mediator: the street takes it.
                #expect(moved.json["mediatorId"] as? String == MediationHarness.streetMediator.uuidString)
                let detail = try await mediation.call(.get, "/api/v1/cases/\(id)", token: worker)
                let transitions = detail.json["transitions"] as? [[String: Any]] ?? []
                #expect(transitions.compactMap { $0["action"] as? String }.suffix(3) == ["reclassify", "escalate", "assign"])
                #expect((transitions.first { $0["action"] as? String == "reclassify" }?["reason"] as? String)?.contains("grid G1 → G2") == true)
                #expect(try await mediation.call(.patch, "/api/v1/cases/\(id)", token: worker, body: ["grid": "G9", "reason": "x"]).status == .unprocessableContent)
            }
        }

        @Test func meetingsAreRecordedOnTheCaseAndStatisticsKeepOutcomesApart() async throws {
            try await MediationHarness.run { mediation in
                let ids = try await (0..<3).asyncMap { _ in try #require(try await mediation.report().json["id"] as? String) }
                let mediator = try await mediation.token(.mediator, Scope(level: .community, id: "C1"))
                func act(_ id: String, _ body: [String: Any]) async throws {
                    let reply = try await mediation.call(.post, "/api/v1/cases/\(id)/transitions", token: mediator, body: body)
                    try #require(reply.status == .ok, "\(body): \(reply.body)")
                }
                let hearing = try await mediation.call(
                    .post, "/api/v1/cases/\(ids[0])/meetings", token: mediator,
                    body: ["kind": "hearing", "scheduledAt": "2026-11-23T15:00:00+08:00", "place": "Community hall", "participants": [["name": "Wang Fang", "role": "party"], ["name": "Li Lei", "role": "party"], ["name": "Zhao", "role": "representative"]]])
                #expect(hearing.status == .created, "\(hearing.body)")
                let meetingID = try #require(hearing.json["id"] as? String)
                #expect(try await mediation.call(.post, "/api/v1/cases/\(ids[0])/meetings", token: mediator, body: ["kind": "party", "scheduledAt": "2026-11-23T15:00:00+08:00", "place": "x", "participants": []]).status == .badRequest)
                let minutes = try await mediation.call(.post, "/api/v1/cases/\(ids[0])/meetings/\(meetingID)/minutes", token: mediator, body: ["minutes": "Both agree to quiet hours after 22:00."])
                #expect(minutes.json["heldAt"] != nil)

                mediation.clock.set(MediationHarness.time("2026-11-23T16:00:00+08:00"))
                try await act(ids[0], ["action": "start-mediation"])
                try await act(ids[0], ["action": "reach-agreement", "document": "Quiet hours after 22:00."])
                try await act(ids[0], ["action": "close"])
                try await act(ids[1], ["action": "start-mediation"])
                try await act(ids[1], ["action": "fail", "reason": "the parties would not meet"])
                let watcher = DeadlineWatcher(
                    database: mediation.database, timeZone: TimeZone(identifier: "Asia/Shanghai")!,
                    clock: { MediationHarness.time("2026-11-24T00:01:00+08:00") }, logger: Stack.logger)
                #expect(try await watcher.escalateOverdue() == 1)

                let detail = try await mediation.call(.get, "/api/v1/cases/\(ids[0])", token: mediator)
                #expect((detail.json["meetings"] as? [[String: Any]])?.first?["kind"] as? String == "hearing")
                let figures = try await mediation.call(.get, "/api/v1/statistics?level=community", token: try await mediation.token(.auditor))
                let c1 = try #require((figures.json["items"] as? [[String: Any]])?.first { $0["place"] as? String == "C1" })
                #expect(c1["cases"] as? Int == 3)
                #expect(c1["open"] as? Int == 1)
                #expect(c1["finished"] as? Int == 2)
                #expect(c1["resolved"] as? Int == 1, "a failure is not a resolution")
                #expect(c1["resolutionRate"] as? Double == 0.5)
                #expect(c1["onTimeRate"] as? Double == 1.0)
                #expect(c1["medianHoursToAgreement"] as? Double == 2.0)
                #expect(c1["escalations"] as? Int == 1)
                #expect(c1["deadlinesMissed"] as? Int == 1)
                #expect((c1["byStatus"] as? [String: Int]) == ["closed": 1, "failed": 1, "assigned": 1])
            }
        }
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async throws -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
