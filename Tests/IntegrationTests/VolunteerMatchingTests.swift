import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Messaging
import PostgresNIO
import ServiceRuntime
import Storage
import Testing
import VolunteerMatchingService

/// The volunteer-matching router over a fresh schema, with the registry's read model filled in by SQL:
/// grids G1, G2 in community C1, G3 in C2 (street S1), G4 in C3 (street S2), all in district D1, and
/// G9 in district D2; household H1 in G1. Volunteers (all free Tuesday mornings unless said otherwise):
/// V1 in G1 and V2 in G2 with first aid and elder care, V3 in G3 with first aid, V4 in G4 without
/// first aid, V5 in G1 with first aid but free only on Wednesdays.
struct VolunteerHarness: RouterHarness {
    static let secret = String(repeating: "v", count: 40)
    static func id(_ n: Int) -> UUID { UUID(uuidString: "00000000-0000-0000-0000-00000000000\(n)")! }
    static let household = UUID(uuidString: "00000000-0000-0000-0000-0000000000A1")!
    /// Monday 2026-11-23, 10:00 in Shanghai; the needs are for Tuesday morning.
    static let start = MediationHarness.time("2026-11-23T10:00:00+08:00")
    static let tuesday = (start: "2026-11-24T09:00:00+08:00", end: "2026-11-24T11:00:00+08:00")

    let database: Database
    let client: any TestClientProtocol
    let authority: TokenAuthority
    let clock: TestClock
    let directory: VolunteerDirectory
    let dispatcher: OfferDispatcher
    let reminders: ReminderScheduler

    static func run(_ body: @Sendable (VolunteerHarness) async throws -> Void) async throws {
        let schema = Stack.uniqueName("vol")
        try await Stack.withDatabase(schema: schema, migrations: RuntimeSchema.migrations + VolunteerMatchingService.migrations) { database in
            _ = try await database.withConnection { connection in
                try await connection.query(
                    """
                    INSERT INTO known_place (code, level, name, district_code, street_code, community_code, grid_code) VALUES
                      ('G1', 'grid', 'Canal', 'D1', 'S1', 'C1', 'G1'), ('G2', 'grid', 'Hill', 'D1', 'S1', 'C1', 'G2'),
                      ('G3', 'grid', 'Market', 'D1', 'S1', 'C2', 'G3'), ('G4', 'grid', 'Mill', 'D1', 'S2', 'C3', 'G4'),
                      ('G9', 'grid', 'Far', 'D2', 'S9', 'C9', 'G9')
                    """, logger: Stack.logger)
                try await connection.query(
                    """
                    INSERT INTO known_household (id, address, district_code, street_code, community_code, grid_code)
                    VALUES (\(household), 'Canal Road 3, door 2', 'D1', 'S1', 'C1', 'G1')
                    """, logger: Stack.logger)
                try await connection.query(
                    """
                    INSERT INTO volunteer (role_id, resident_id, name, skills, availability, district_code, street_code, community_code, grid_code, active) VALUES
                      (\(id(1)), gen_random_uuid(), 'Volunteer 1', '{first-aid,elder-care}', '{"tue 08:00-12:00"}', 'D1', 'S1', 'C1', 'G1', true),
                      (\(id(2)), gen_random_uuid(), 'Volunteer 2', '{first-aid,elder-care}', '{"tue 08:00-12:00"}', 'D1', 'S1', 'C1', 'G2', true),
                      (\(id(3)), gen_random_uuid(), 'Volunteer 3', '{first-aid}', '{"tue 08:00-12:00"}', 'D1', 'S1', 'C2', 'G3', true),
                      (\(id(4)), gen_random_uuid(), 'Volunteer 4', '{cooking}', '{"tue 08:00-12:00"}', 'D1', 'S2', 'C3', 'G4', true),
                      (\(id(5)), gen_random_uuid(), 'Volunteer 5', '{first-aid}', '{"wed 08:00-12:00"}', 'D1', 'S1', 'C1', 'G1', true)
                    """, logger: Stack.logger)
            }
            let clock = TestClock(start)
            try await Stack.serveRouter(VolunteerMatchingService.descriptor(clock: { clock.now }), schema: schema, secret: secret, database: database) { served in
                // The workers share the router's candidate index; the tests run their rounds by hand.
                let directory = try #require(served.workers.first as? VolunteerDirectory)
                let dispatcher = try #require(served.workers.compactMap { $0 as? OfferDispatcher }.first)
                let reminders = try #require(served.workers.compactMap { $0 as? ReminderScheduler }.first)
                try await directory.refresh()
                try await body(
                    VolunteerHarness(
                        database: database, client: served.client, authority: served.authority, clock: clock, directory: directory, dispatcher: dispatcher,
                        reminders: reminders))
            }
        }
    }

    func token(_ role: Role, _ scope: Scope = .city, subject: String = "tester") async throws -> String {
        try await authority.issue(AccessClaims(subject: subject, role: role, scope: scope, expires: Date().addingTimeInterval(600)))
    }

    func volunteer(_ n: Int) async throws -> String {
        try await token(.volunteer, Scope(level: .community, id: "C1"), subject: Self.id(n).uuidString.lowercased())
    }

    var worker: String { get async throws { try await token(.communityWorker, Scope(level: .community, id: "C1")) } }

    /// Reports an elder-care need for H1 in G1 on Tuesday morning.
    func need(urgency: String = "soon", volunteers: Int = 1, window: (start: String, end: String) = tuesday, extra: [String: Any] = [:]) async throws
        -> APIReply
    {
        var body: [String: Any] = [
            "householdId": Self.household.uuidString, "kind": "elder-care", "skills": ["first-aid"], "urgency": urgency, "volunteers": volunteers,
            "windows": [["start": window.start, "end": window.end]], "contact": ["name": "Zhao Min", "phone": "13900000000"],
        ]
        body.merge(extra) { _, new in new }
        return try await call(.post, "/api/v1/needs", token: try await worker, body: body)
    }

    func offers(_ reply: APIReply) -> [[String: Any]] { reply.json["offers"] as? [[String: Any]] ?? [] }
    func volunteerIDs(_ offers: [[String: Any]]) -> [UUID] { offers.compactMap { ($0["volunteerId"] as? String).flatMap(UUID.init(uuidString:)) } }

    func count(_ sql: String) async throws -> Int { try await Stack.count(database, sql) }

    func eventTypes() async throws -> [String] {
        try await database.withConnection { connection in
            var types: [String] = []
            for try await type in try await connection.query("SELECT event_type FROM outbox ORDER BY position", logger: Stack.logger).decode(String.self) {
                types.append(type)
            }
            return types
        }
    }
}

extension IntegrationSuite {
    @Suite struct VolunteerMatching {
        @Test func aNeedIsOfferedToTheBestCandidatesWithTheirScoresAndContactDetailsWaitForConfirmation() async throws {
            try await VolunteerHarness.run { matching in
                let reply = try await matching.need()
                #expect(reply.status == .created, "\(reply.body)")
                let offers = matching.offers(reply)
                #expect(matching.volunteerIDs(offers) == [VolunteerHarness.id(1), VolunteerHarness.id(2)], "same grid, then same community; two asked when soon")
                let best = try #require(offers.first?["score"] as? [String: Any])
                #expect(best["nearness"] as? String == "grid")
                #expect(best["place"] as? Double == 40)
                #expect(best["skills"] as? Double == 20, "first aid and elder care: every skill the need wants")
                let parts = ["place", "skills", "fairness", "reliability", "continuity"].compactMap { best[$0] as? Double }.reduce(0, +)
                #expect(abs(parts - (best["total"] as? Double ?? 0)) < 1e-9, "the total is the sum of its explained parts")

                let needID = try #require((reply.json["need"] as? [String: Any])?["id"] as? String)
                let candidates = try await matching.call(.get, "/api/v1/needs/\(needID)/candidates", token: try await matching.worker)
                let ranked = ((try? JSONSerialization.jsonObject(with: Data(candidates.body.utf8))) as? [[String: Any]] ?? [])
                #expect(matching.volunteerIDs(ranked) == [1, 2, 3].map(VolunteerHarness.id), "V4 lacks first aid, V5 is not free on Tuesdays")

                // Offered but not confirmed: what, where and when; not who or at which door.
                let before = try await matching.call(.get, "/api/v1/needs/\(needID)", token: try await matching.volunteer(2))
                #expect(before.status == .ok)
                #expect(before.json["contact"] == nil)
                #expect(try await matching.call(.get, "/api/v1/needs/\(needID)", token: try await matching.volunteer(4)).status == .notFound)

                let offerOf1 = try #require(offers.first?["id"] as? String), offerOf2 = try #require(offers.last?["id"] as? String)
                #expect(try await matching.call(.post, "/api/v1/offers/\(offerOf1)/accept", token: try await matching.volunteer(2)).status == .notFound,
                    "one volunteer cannot answer another's offer")
                let accepted = try await matching.call(.post, "/api/v1/offers/\(offerOf1)/accept", token: try await matching.volunteer(1))
                #expect(accepted.status == .created, "\(accepted.body)")
                let after = try await matching.call(.get, "/api/v1/needs/\(needID)", token: try await matching.volunteer(1))
                #expect((after.json["contact"] as? [String: Any])?["phone"] as? String == "13900000000")
                #expect((after.json["need"] as? [String: Any])?["status"] as? String == "filled")
                let late = try await matching.call(.post, "/api/v1/offers/\(offerOf2)/accept", token: try await matching.volunteer(2))
                #expect(late.status == .conflict, "the other offer was withdrawn when the need filled")
                #expect(try await matching.eventTypes() == [
                    "volunteer.need.opened.v1", "volunteer.offer.made.v1", "volunteer.offer.made.v1", "volunteer.assignment.confirmed.v1",
                    "volunteer.offer.withdrawn.v1", "volunteer.need.filled.v1",
                ])
            }
        }

        /// Needs reported together share transactions; each still gets its own answer and its own offers.
        @Test func concurrentNeedsShareTransactionsAndEachGetsItsOwnAnswerAndOffers() async throws {
            try await VolunteerHarness.run { matching in
                let twice = UUID().uuidString
                // 30 fine needs, then one id twice, an unknown household and a grid outside the worker's community.
                let replies = try await withThrowingTaskGroup(of: (Int, APIReply).self) { group in
                    for index in 0..<34 {
                        group.addTask {
                            let extra: [String: Any] =
                                switch index {
                                case 30, 31: ["id": twice]
                                case 32: ["householdId": UUID().uuidString]
                                case 33: ["grid": "G9"]
                                default: [:]
                                }
                            return (index, try await matching.need(extra: extra))
                        }
                    }
                    var replies: [Int: APIReply] = [:]
                    for try await (index, reply) in group { replies[index] = reply }
                    return replies
                }
                for index in 0..<30 {
                    let reply = try #require(replies[index])
                    #expect(reply.status == .created, "\(reply.body)")
                    #expect(matching.volunteerIDs(matching.offers(reply)) == [VolunteerHarness.id(1), VolunteerHarness.id(2)], "each need its own two offers")
                    let need = try #require((reply.json["need"] as? [String: Any])?["id"] as? String)
                    #expect(matching.offers(reply).allSatisfy { $0["needId"] as? String == need })
                }
                #expect([replies[30]?.status.code, replies[31]?.status.code].compactMap { $0 }.sorted() == [201, 409], "one id twice: one wins")
                #expect(replies[32]?.status == .unprocessableContent, "unknown household: \(replies[32]?.body ?? "")")
                #expect(replies[33]?.status == .forbidden, "grid outside the scope: \(replies[33]?.body ?? "")")
                #expect(try await matching.count("SELECT count(*) FROM service_need") == 31)
                #expect(try await matching.count("SELECT count(*) FROM offer") == 62)
                #expect(try await matching.count("SELECT count(*) FROM service_need WHERE contact_address = 'Canal Road 3, door 2'") == 31, "the household's address")
                #expect(try await matching.count("SELECT count(*) FROM outbox WHERE event_type = 'volunteer.need.opened.v1'") == 31)
                #expect(try await matching.count("SELECT count(*) FROM outbox WHERE event_type = 'volunteer.offer.made.v1'") == 62)
                let transactions = try await matching.count("SELECT count(DISTINCT xmin::text) FROM service_need")
                #expect(transactions < 31, "some needs shared a transaction (\(transactions) transactions for 31 needs)")
            }
        }

        @Test func anUnansweredOfferExpiresAndADeclinedOneFallsThroughToTheNextCandidate() async throws {
            try await VolunteerHarness.run { matching in
                let nextTuesday = ("2026-12-01T09:00:00+08:00", "2026-12-01T11:00:00+08:00")
                let reply = try await matching.need(urgency: "routine", window: nextTuesday)
                #expect(matching.volunteerIDs(matching.offers(reply)) == [VolunteerHarness.id(1)], "routine: one asked per seat")
                let needID = try #require((reply.json["need"] as? [String: Any])?["id"] as? String)
                let dueAtExpiry = "SELECT count(*) FROM service_need n WHERE id = '\(needID)' AND dispatch_after = (SELECT min(expires_at) FROM offer WHERE need_id = n.id AND status = 'pending')"
                #expect(try await matching.count(dueAtExpiry) == 1, "asked enough: the dispatcher looks again when the offer expires")
                // A need that came in without its look (as a district's do) is parked by the next round.
                _ = try await matching.count("WITH due AS (UPDATE service_need SET dispatch_after = '-infinity' RETURNING 1) SELECT count(*) FROM due")
                try await matching.dispatcher.round()
                #expect(try await matching.count("SELECT count(*) FROM offer") == 1, "nothing happens before the offer's time is up")
                #expect(try await matching.count(dueAtExpiry) == 1)

                // A routine offer waits 24 hours for an answer.
                matching.clock.set(MediationHarness.time("2026-11-24T09:59:00+08:00"))
                try await matching.dispatcher.round()
                #expect(try await matching.count("SELECT count(*) FROM offer WHERE status = 'pending'") == 1)
                matching.clock.set(MediationHarness.time("2026-11-24T10:00:00+08:00"))
                try await matching.dispatcher.round()
                #expect(try await matching.count("SELECT count(*) FROM offer WHERE status = 'expired' AND volunteer_id = '\(VolunteerHarness.id(1))'") == 1)
                let second = try await matching.call(.get, "/api/v1/volunteers/\(VolunteerHarness.id(2))/offers", token: try await matching.volunteer(2))
                let pending = (try? JSONSerialization.jsonObject(with: Data(second.body.utf8))) as? [[String: Any]] ?? []
                #expect(pending.count == 1, "\(second.body)")
                #expect(pending.first?["rank"] as? Int == 2)

                let declined = try await matching.call(
                    .post, "/api/v1/offers/\(pending.first?["id"] as? String ?? "-")/decline", token: try await matching.volunteer(2), body: ["reason": "away"])
                #expect(declined.status == .ok, "\(declined.body)")
                #expect(try await matching.count("SELECT count(*) FROM offer WHERE status = 'pending' AND volunteer_id = '\(VolunteerHarness.id(3))' AND need_id = '\(needID)'") == 1,
                    "the next candidate is asked at once")

                // V3 pauses: their offer is withdrawn and the need is due at once; nobody is left to ask,
                // so the dispatcher looks again after five minutes.
                try await matching.dispatcher.round()
                #expect(try await matching.count(dueAtExpiry) == 1)
                let paused = try await matching.call(
                    .post, "/api/v1/volunteers/\(VolunteerHarness.id(3))/pause", token: try await matching.volunteer(3), body: ["reason": "travelling"])
                #expect(paused.status == .ok, "\(paused.body)")
                #expect(try await matching.count("SELECT count(*) FROM service_need WHERE id = '\(needID)' AND dispatch_after = '-infinity'") == 1)
                try await matching.dispatcher.round()
                #expect(try await matching.count("SELECT count(*) FROM offer WHERE need_id = '\(needID)'") == 3, "no candidate left")
                #expect(
                    try await matching.count(
                        "SELECT count(*) FROM service_need WHERE id = '\(needID)' AND dispatch_after = '2026-11-24T10:05:00+08:00'") == 1)

                // Once the service has begun nobody new is asked, whatever happens to the offers.
                matching.clock.set(MediationHarness.time("2026-12-01T09:05:00+08:00"))
                try await matching.dispatcher.round()
                #expect(try await matching.count("SELECT count(*) FROM offer WHERE need_id = '\(needID)'") == 3)
                #expect(try await matching.count("SELECT count(*) FROM service_need WHERE id = '\(needID)' AND dispatch_after = 'infinity'") == 1)
            }
        }

        @Test func whenThreeVolunteersAcceptTheLastSeatAtOnceExactlyOneGetsIt() async throws {
            try await VolunteerHarness.run { matching in
                let reply = try await matching.need(urgency: "urgent")
                let offers = matching.offers(reply)
                #expect(offers.count == 3, "urgent: three asked for the one seat")
                let tokens = [try await matching.volunteer(1), try await matching.volunteer(2), try await matching.volunteer(3)]
                let ids = offers.map { $0["id"] as? String ?? "-" }
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for (offer, token) in zip(ids, tokens) {
                        group.addTask { try await matching.call(.post, "/api/v1/offers/\(offer)/accept", token: token).status }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == .created }.count == 1, "\(statuses)")
                #expect(statuses.filter { $0 == .conflict }.count == 2, "\(statuses)")
                #expect(try await matching.count("SELECT count(*) FROM assignment") == 1)
                #expect(try await matching.count("SELECT confirmed FROM service_need") == 1)
            }
        }

        @Test func aVolunteerIsNeverBookedTwiceForOverlappingTime() async throws {
            try await VolunteerHarness.run { matching in
                let first = try await matching.need(urgency: "soon")
                let overlapping = try await matching.need(urgency: "soon", window: ("2026-11-24T10:00:00+08:00", "2026-11-24T12:00:00+08:00"))
                let offerA = try #require(matching.offers(first).first { ($0["volunteerId"] as? String) == VolunteerHarness.id(1).uuidString })
                let offerB = try #require(matching.offers(overlapping).first { ($0["volunteerId"] as? String) == VolunteerHarness.id(1).uuidString })
                let volunteer1 = try await matching.volunteer(1)
                #expect(try await matching.call(.post, "/api/v1/offers/\(offerA["id"] as? String ?? "-")/accept", token: volunteer1).status == .created)
                let twice = try await matching.call(.post, "/api/v1/offers/\(offerB["id"] as? String ?? "-")/accept", token: volunteer1)
                #expect(twice.status == .conflict)
                #expect(twice.body.contains("double-booked"), "\(twice.body)")
                #expect(try await matching.count("SELECT count(*) FROM assignment") == 1, "the refused accept wrote nothing")
                #expect(try await matching.count("SELECT count(*) FROM offer WHERE status = 'pending' AND id = '\(offerB["id"] as? String ?? "-")'") == 1)

                // The index learns the booking: a third overlapping need does not ask V1.
                try await matching.directory.refresh()
                let third = try await matching.need(urgency: "urgent", window: ("2026-11-24T10:30:00+08:00", "2026-11-24T11:30:00+08:00"))
                #expect(!matching.volunteerIDs(matching.offers(third)).contains(VolunteerHarness.id(1)))
                #expect(matching.volunteerIDs(matching.offers(third)).contains(VolunteerHarness.id(2)))
            }
        }

        @Test func hoursAreRecordedVerifiedOnceAndCountedAndAbsencesCountOnlyWhenUnexcused() async throws {
            try await VolunteerHarness.run { matching in
                let reply = try await matching.need(urgency: "soon", extra: ["schedule": ["weekly": ["tue 09:00-11:00"], "from": "2026-11-24", "until": "2026-12-01"], "windows": []])
                #expect(reply.status == .created, "\(reply.body)")
                #expect(((reply.json["need"] as? [String: Any])?["windows"] as? [Any])?.count == 2, "two Tuesdays")
                let volunteer1 = try await matching.volunteer(1)
                let offer = try #require(matching.offers(reply).first?["id"] as? String)
                let assignment = try await matching.call(.post, "/api/v1/offers/\(offer)/accept", token: volunteer1)
                let assignmentID = try #require(assignment.json["id"] as? String)

                // A reminder goes out once, a day ahead.
                #expect(try await matching.reminders.remind() == 1)
                #expect(try await matching.reminders.remind() == 0)

                matching.clock.set(MediationHarness.time("2026-11-24T08:55:00+08:00"))
                let checkIn = try await matching.call(.post, "/api/v1/assignments/\(assignmentID)/check-in", token: volunteer1)
                #expect(checkIn.status == .created, "\(checkIn.body)")
                #expect(try await matching.call(.post, "/api/v1/assignments/\(assignmentID)/check-in", token: volunteer1).status == .conflict)
                matching.clock.set(MediationHarness.time("2026-11-24T11:02:00+08:00"))
                let checkOut = try await matching.call(.post, "/api/v1/assignments/\(assignmentID)/check-out", token: volunteer1)
                #expect(checkOut.json["hours"] as? Double == 2.0, "2 h 7 min rounds to the quarter hour")
                #expect(checkOut.json["verification"] as? String == "pending")
                let recordID = try #require(checkOut.json["id"] as? String)

                #expect(try await matching.call(.post, "/api/v1/service-records/\(recordID)/verification", token: volunteer1, body: ["decision": "approve"]).status == .forbidden)
                let elsewhere = try await matching.token(.communityWorker, Scope(level: .community, id: "C3"))
                #expect(try await matching.call(.post, "/api/v1/service-records/\(recordID)/verification", token: elsewhere, body: ["decision": "approve"]).status == .notFound)
                #expect(try await matching.call(.post, "/api/v1/service-records/\(recordID)/verification", token: try await matching.worker, body: ["decision": "reject"]).status == .badRequest,
                    "a rejection needs its reason")
                let approved = try await matching.call(.post, "/api/v1/service-records/\(recordID)/verification", token: try await matching.worker, body: ["decision": "approve"])
                #expect(approved.json["verification"] as? String == "approved", "\(approved.body)")
                let again = try await matching.call(.post, "/api/v1/service-records/\(recordID)/verification", token: try await matching.worker, body: ["decision": "reject", "note": "x"])
                #expect(again.status == .conflict, "approved hours are locked")

                #expect(try await matching.call(.post, "/api/v1/service-records/\(recordID)/ratings", token: try await matching.worker, body: ["from": "recipient", "stars": 5]).status == .ok)
                #expect(try await matching.call(.post, "/api/v1/service-records/\(recordID)/ratings", token: try await matching.worker, body: ["from": "recipient", "stars": 1]).status == .conflict)
                #expect(try await matching.call(.post, "/api/v1/service-records/\(recordID)/ratings", token: volunteer1, body: ["from": "volunteer", "stars": 4]).status == .ok)

                // The second Tuesday is missed without excuse: it counts against reliability.
                matching.clock.set(MediationHarness.time("2026-12-01T12:00:00+08:00"))
                let absence = try await matching.call(
                    .post, "/api/v1/assignments/\(assignmentID)/absences", token: try await matching.worker,
                    body: ["windowStart": "2026-12-01T09:00:00+08:00", "excused": false, "reason": "did not come"])
                #expect(absence.status == .created, "\(absence.body)")
                let profile = try await matching.call(.get, "/api/v1/volunteers/\(VolunteerHarness.id(1))", token: volunteer1)
                #expect(profile.json["completed"] as? Int == 1)
                #expect(profile.json["noShows"] as? Int == 1)
                #expect(profile.json["averageRating"] as? Double == 5)
                let hours = try await matching.call(.get, "/api/v1/volunteers/\(VolunteerHarness.id(1))/hours?year=2026", token: volunteer1)
                #expect(hours.json["approvedHours"] as? Double == 2.0, "\(hours.body)")
                #expect(((hours.json["months"] as? [[String: Any]])?.first)?["month"] as? String == "2026-11")
                let types = try await matching.eventTypes()
                #expect(types.contains("volunteer.service.completed.v1") && types.contains("volunteer.service.verified.v1"))
                #expect(types.contains("volunteer.assignment.no-show.v1") && types.contains("volunteer.reminder.due.v1"))
            }
        }

        @Test func scopesPausesAndBadNeedsAreRefusedAndWriteNothing() async throws {
            try await VolunteerHarness.run { matching in
                let outsider = try await matching.token(.districtOperator, Scope(level: .district, id: "D2"))
                let body: [String: Any] = [
                    "householdId": VolunteerHarness.household.uuidString, "kind": "elder-care",
                    "windows": [["start": VolunteerHarness.tuesday.start, "end": VolunteerHarness.tuesday.end]],
                ]
                #expect(try await matching.call(.post, "/api/v1/needs", token: outsider, body: body).status == .forbidden)
                let bad = try await matching.need(extra: ["kind": "gardening", "volunteers": 0, "windows": [["start": "2026-11-24T11:00:00+08:00", "end": "2026-11-24T09:00:00+08:00"]]])
                #expect(bad.status == .badRequest)
                let fields = Set((bad.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
                #expect(fields == ["kind", "volunteers", "windows[0]"], "\(bad.body)")
                #expect(try await matching.need(extra: ["householdId": UUID().uuidString]).status == .unprocessableContent)
                #expect(try await matching.count("SELECT count(*) FROM service_need") == 0)
                #expect(try await matching.count("SELECT count(*) FROM outbox") == 0)

                // V1 pauses: the offer waiting for them is withdrawn and no new need asks them.
                let first = try await matching.need(urgency: "routine")
                #expect(matching.volunteerIDs(matching.offers(first)) == [VolunteerHarness.id(1)])
                #expect(try await matching.call(.post, "/api/v1/volunteers/\(VolunteerHarness.id(2))/pause", token: try await matching.volunteer(1)).status == .notFound)
                let paused = try await matching.call(.post, "/api/v1/volunteers/\(VolunteerHarness.id(1))/pause", token: try await matching.volunteer(1), body: ["reason": "travelling"])
                #expect(paused.json["paused"] as? Bool == true, "\(paused.body)")
                #expect(try await matching.count("SELECT count(*) FROM offer WHERE status = 'withdrawn'") == 1)
                let second = try await matching.need(urgency: "urgent")
                #expect(!matching.volunteerIDs(matching.offers(second)).contains(VolunteerHarness.id(1)))
                #expect(try await matching.call(.get, "/api/v1/needs", token: outsider).json["items"] as? [Any] != nil)
                #expect((try await matching.call(.get, "/api/v1/needs", token: outsider).json["items"] as? [Any])?.isEmpty == true, "D2 sees none of D1's needs")
            }
        }

        @Test func pairingsMakeContinuityAndTheirCardsAreForTheVolunteerAndStaffOnly() async throws {
            try await VolunteerHarness.run { matching in
                let card = try await matching.call(
                    .post, "/api/v1/pairings", token: try await matching.worker,
                    body: [
                        "volunteerId": VolunteerHarness.id(3).uuidString, "householdId": VolunteerHarness.household.uuidString, "kind": "elder-care",
                        "schedule": ["tue 09:00-11:00"], "startsOn": "2026-11-24",
                    ])
                #expect(card.status == .created, "\(card.body)")
                let cardID = try #require(card.json["id"] as? String)
                #expect(try await matching.call(.get, "/api/v1/pairings/\(cardID)", token: try await matching.volunteer(3)).json["householdAddress"] as? String == "Canal Road 3, door 2")
                #expect(try await matching.call(.get, "/api/v1/pairings/\(cardID)", token: try await matching.volunteer(1)).status == .notFound)
                try await matching.directory.refresh()
                let reply = try await matching.need(urgency: "urgent")
                let ranked = matching.offers(reply)
                let paired = try #require(ranked.first { ($0["volunteerId"] as? String) == VolunteerHarness.id(3).uuidString })
                #expect((paired["score"] as? [String: Any])?["continuity"] as? Double == 10, "the paired volunteer is preferred for their household")
            }
        }

        @Test func theReadModelAndDistrictNeedsArriveThroughTheBrokerIdempotentlyAndBadOnesAreDeadLettered() async throws {
            try await Stack.withDatabase(schema: Stack.uniqueName("vol"), migrations: RuntimeSchema.migrations + VolunteerMatchingService.migrations) { database in
                let registry = try await Stack.topic("registry-events", partitions: 3)
                let inbound = try await Stack.topic("district-inbound", partitions: 3)
                let logger = Stack.logger
                let producer = try KafkaProducer(config: try Stack.kafka(), logger: logger)
                func publish(_ payload: some EventPayload, key: String) async throws {
                    let event = try CloudEvent(source: "/registry", subject: key, time: Date(), payload: payload)
                    _ = try await producer.send(OutgoingMessage(event: event, topic: registry, key: key))
                }
                let grid = PlaceLocation(district: "D1", street: "S1", community: "C1", grid: "G1", gridVersion: 1)
                let household = UUID(), volunteerRole = UUID()
                try await publish(PlaceRegistered(place: PlaceSnapshot(code: "G1", level: "grid", name: "Canal", parentCode: "C1", location: grid, version: 1)), key: "G1")
                try await publish(HouseholdRegistered(household: HouseholdSnapshot(id: household, address: "Canal Road 3", location: grid)), key: household.uuidString)
                try await publish(
                    RoleAssigned(
                        role: RoleSnapshot(
                            id: volunteerRole, residentId: UUID(), personName: "Sun Li", role: "volunteer", placeCode: "G1", location: grid,
                            details: RoleDetails(skills: ["elder-care"], availability: ["tue 08:00-12:00"]), active: true, startedOn: "2026-01-01", endedOn: nil)),
                    key: volunteerRole.uuidString)
                try await publish(
                    OrganisationRegistered(organisation: OrganisationSnapshot(id: UUID(), name: "Helpers", kind: "social-organisation", legalPerson: true, registrationAuthority: nil, serves: nil, eligibleBidder: true)),
                    key: "org")

                let need = DistrictServiceNeed(
                    id: UUID(), householdId: household, grid: "G1", kind: "elder-care",
                    windows: [ServiceWindow(start: Date().addingTimeInterval(86400), end: Date().addingTimeInterval(86400 + 7200))])
                func district(_ code: String, _ record: DistrictServiceNeed, id: UUID = UUID()) async throws {
                    let event = try DistrictInbound.event(district: code, type: DistrictInbound.serviceNeedReported, subject: record.id.uuidString, record: record, id: id)
                    _ = try await producer.send(OutgoingMessage(event: event, topic: inbound, key: code))
                }
                try await district("D1", need)
                try await district("D1", need)  // sent again by a retrying district system
                try await district("D2", DistrictServiceNeed(id: UUID(), householdId: household, grid: "G1", kind: "elder-care", windows: need.windows))
                var bad = need
                bad.id = UUID()
                bad.kind = "gardening"
                try await district("D1", bad)

                let projectionGroup = Stack.uniqueName("vol-projection"), ingressGroup = Stack.uniqueName("vol-ingress")
                let projection = InboxConsumer(
                    database: database, consumer: try KafkaConsumer(config: try Stack.kafka(), groupID: projectionGroup, topics: [registry], logger: logger),
                    deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: projectionGroup, logger: logger), handler: RegistryProjection(), logger: logger)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await projection.run() }
                    try await Stack.eventually(timeout: .seconds(40), "registry events consumed") { projection.statistics.consumed >= 4 }
                    tasks.cancelAll()
                }
                #expect(projection.statistics.ignored == 1, "organisations are not needed here")
                #expect(try await Stack.count(database, "SELECT count(*) FROM volunteer WHERE skills = '{elder-care}' AND grid_code = 'G1' AND active") == 1)

                let ingress = InboxConsumer(
                    database: database, consumer: try KafkaConsumer(config: try Stack.kafka(), groupID: ingressGroup, topics: [inbound], logger: logger),
                    deadLetters: DeadLetterPublisher(producer: producer, consumerGroup: ingressGroup, logger: logger),
                    handler: NeedIngress(timeZone: TimeZone(identifier: "Asia/Shanghai")!, logger: logger), logger: logger)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await ingress.run() }
                    try await Stack.eventually(timeout: .seconds(40), "district needs consumed") { ingress.statistics.consumed >= 4 }
                    tasks.cancelAll()
                }
                await producer.shutdown()
                #expect(try await Stack.count(database, "SELECT count(*) FROM service_need") == 1, "one need, whatever the redelivery")
                #expect(try await Stack.count(database, "SELECT count(*) FROM service_need WHERE reported_by = 'district:D1' AND contact_address = 'Canal Road 3'") == 1)
                #expect(ingress.statistics.deadLettered == 2, "D2 reporting for a D1 grid, and a kind that does not exist")
                #expect(try await Stack.count(database, "SELECT count(*) FROM outbox WHERE event_type = 'volunteer.need.opened.v1'") == 1)
            }
        }
    }
}
