import Contracts
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import RegistryService
import ServiceRuntime
import Storage
import Testing

extension IntegrationSuite {
    @Suite struct RegistryAPI {
        @Test func aResidentIsRegisteredOnceWithTheIDMaskedAndOneEventPerRealChange() async throws {
            try await RegistryHarness.run { registry in
                try await registry.drawPlaces("D1")
                #expect(try await registry.count("SELECT count(*) FROM outbox WHERE event_type = 'registry.place.registered.v1'") == 5)
                let household = try await registry.createHousehold(building: "D1-B")
                let number = testNationalID(1)
                let resident = try await registry.createResident(household: household, nationalID: number, groups: ["elderly"])
                let admin = try await registry.admin

                let read = try await registry.call(.get, "/api/v1/residents/\(resident)", token: admin)
                #expect(read.status == .ok)
                #expect(read.json["nationalIdMasked"] as? String == "440305********" + number.suffix(4))
                #expect(read.json["birthDate"] as? String == "1950-03-07")
                #expect((read.json["location"] as? [String: Any])?["grid"] as? String == "D1-G")
                #expect(!read.body.contains(number))

                let payloads = try await registry.database.withConnection { connection in
                    var texts: [String] = []
                    for try await text in try await connection.query("SELECT payload::text FROM outbox", logger: Stack.logger).decode(String.self) {
                        texts.append(text)
                    }
                    return texts
                }
                #expect(!payloads.contains { $0.contains(number) || $0.contains(String(number.prefix(14))) }, "the ID number never reaches an event")
                #expect(try await registry.count("SELECT count(*) FROM outbox WHERE event_type = 'registry.resident.registered.v1'") == 1)

                // The same values again: answered, nothing published.
                let same = try await registry.call(.patch, "/api/v1/residents/\(resident)", token: admin, body: ["name": "Wang Fang", "groups": ["elderly"]])
                #expect(same.status == .ok)
                #expect(try await registry.count("SELECT count(*) FROM outbox WHERE event_type = 'registry.resident.updated.v1'") == 0)
                let renamed = try await registry.call(.patch, "/api/v1/residents/\(resident)", token: admin, body: ["name": "Wang Fangfang"])
                #expect(renamed.json["name"] as? String == "Wang Fangfang")
                #expect(try await registry.count("SELECT count(*) FROM outbox WHERE event_type = 'registry.resident.updated.v1'") == 1)
                #expect(try await registry.count("SELECT count(*) FROM outbox WHERE message_key = '\(resident.uuidString.lowercased())'") == 2)
            }
        }

        @Test func badInputIsAnsweredWithAClearProblemAndWritesNothing() async throws {
            try await RegistryHarness.run { registry in
                try await registry.drawPlaces("D1")
                try await registry.drawPlaces("D2")
                let household = try await registry.createHousehold(building: "D1-B")
                _ = try await registry.createResident(household: household, nationalID: testNationalID(1))
                let admin = try await registry.admin
                let residentsBefore = try await registry.count("SELECT count(*) FROM resident")
                let outboxBefore = try await registry.count("SELECT count(*) FROM outbox")
                let placesBefore = try await registry.count("SELECT count(*) FROM place")

                var mistyped = testNationalID(2)
                mistyped.removeLast()
                mistyped += mistyped.last == "1" ? "2" : "1"
                func resident(_ nationalID: String, household: UUID = household, name: String = "Li Lei") -> [String: Any] {
                    ["householdId": household.uuidString, "name": name, "nationalId": nationalID, "residency": "registered"]
                }
                let badID = try await registry.call(.post, "/api/v1/residents", token: admin, body: resident(mistyped))
                #expect(badID.status == .badRequest)
                #expect(badID.fieldsWithProblems == ["nationalId"])
                #expect(badID.headers[.contentType] == "application/problem+json")

                let manyWrongs = try await registry.call(
                    .post, "/api/v1/residents", token: admin,
                    body: ["householdId": household.uuidString, "name": " ", "nationalId": "123", "residency": "floating", "groups": ["astronaut"]])
                #expect(Set(manyWrongs.fieldsWithProblems) == ["name", "nationalId", "floating", "groups[0]"], "every problem at once: \(manyWrongs.body)")

                let unknownHousehold = try await registry.call(.post, "/api/v1/residents", token: admin, body: resident(testNationalID(3), household: UUID()))
                #expect(unknownHousehold.status == .unprocessableContent)
                #expect(unknownHousehold.fieldsWithProblems == ["householdId"])

                let duplicate = try await registry.call(.post, "/api/v1/residents", token: admin, body: resident(testNationalID(1), name: "Someone Else"))
                #expect(duplicate.status == .conflict)
                #expect(duplicate.fieldsWithProblems == ["nationalId"])

                let unknownParent = try await registry.call(
                    .post, "/api/v1/places", token: admin, body: ["code": "X-G", "level": "grid", "name": "Nowhere", "parentCode": "NO-SUCH"])
                #expect(unknownParent.status == .unprocessableContent)
                let wrongParent = try await registry.call(
                    .post, "/api/v1/places", token: admin, body: ["code": "X-G", "level": "grid", "name": "Grid", "parentCode": "D1-S"])
                #expect(wrongParent.status == .badRequest)
                #expect(wrongParent.body.contains("hangs under a community"))

                let d2Operator = try await registry.token(.districtOperator, Scope(level: .district, id: "D2"))
                let intoD1 = try await registry.call(.post, "/api/v1/residents", token: d2Operator, body: resident(testNationalID(4)))
                #expect(intoD1.status == .forbidden)
                let gridInD1 = try await registry.call(
                    .post, "/api/v1/places", token: d2Operator, body: ["code": "D1-G2", "level": "grid", "name": "Grid 2", "parentCode": "D1-C"])
                #expect(gridInD1.status == .forbidden)
                let districtByOperator = try await registry.call(.post, "/api/v1/places", token: d2Operator, body: ["code": "D9", "level": "district", "name": "D9"])
                #expect(districtByOperator.status == .forbidden)
                let volunteer = try await registry.token(.volunteer, Scope(level: .district, id: "D1"))
                #expect(try await registry.call(.get, "/api/v1/residents", token: volunteer).status == .forbidden)
                let notJSON = try await registry.call(.post, "/api/v1/households", token: admin, body: ["buildingCode": 7])
                #expect(notJSON.status == .badRequest)

                #expect(try await registry.count("SELECT count(*) FROM resident") == residentsBefore)
                #expect(try await registry.count("SELECT count(*) FROM outbox") == outboxBefore)
                #expect(try await registry.count("SELECT count(*) FROM place") == placesBefore)
            }
        }

        @Test func movesAndRedrawsKeepTheirHistoryAndRecordsFollow() async throws {
            try await RegistryHarness.run { registry in
                try await registry.drawPlaces("D1")
                let admin = try await registry.admin
                try #require(
                    try await registry.call(.post, "/api/v1/places", token: admin, body: ["code": "D1-C2", "level": "community", "name": "East", "parentCode": "D1-S", "communityType": "resettlement"]).status == .created)
                try #require(
                    try await registry.call(.post, "/api/v1/places", token: admin, body: ["code": "D1-G2", "level": "grid", "name": "East grid", "parentCode": "D1-C2"]).status == .created)
                try #require(
                    try await registry.call(.post, "/api/v1/places", token: admin, body: ["code": "D1-B2", "level": "building", "name": "East 1", "parentCode": "D1-G2"]).status == .created)
                let first = try await registry.createHousehold(building: "D1-B")
                let second = try await registry.createHousehold(building: "D1-B2")
                let resident = try await registry.createResident(household: first, nationalID: testNationalID(7))

                let moved = try await registry.call(
                    .post, "/api/v1/residents/\(resident)/moves", token: admin, body: ["householdId": second.uuidString, "reason": "rented a flat"])
                #expect(moved.status == .ok, "\(moved.body)")
                let read = try await registry.call(.get, "/api/v1/residents/\(resident)", token: admin)
                let moves = read.json["moves"] as? [[String: Any]] ?? []
                #expect(moves.count == 1)
                #expect((moves.first?["from"] as? [String: Any])?["community"] as? String == "D1-C")
                #expect((moves.first?["to"] as? [String: Any])?["community"] as? String == "D1-C2")
                #expect(moves.first?["reason"] as? String == "rented a flat")
                #expect(try await registry.count("SELECT count(*) FROM outbox WHERE event_type = 'registry.resident.moved.v1'") == 1)

                // The household moves back to the first building; its resident follows.
                let householdMove = try await registry.call(.post, "/api/v1/households/\(second)/moves", token: admin, body: ["buildingCode": "D1-B"])
                #expect(householdMove.status == .ok, "\(householdMove.body)")
                let after = try await registry.call(.get, "/api/v1/residents/\(resident)", token: admin)
                #expect((after.json["location"] as? [String: Any])?["building"] as? String == "D1-B")
                let household = try await registry.call(.get, "/api/v1/households/\(second)", token: admin)
                #expect((household.json["moves"] as? [Any])?.count == 1)
                #expect(household.json["residents"] as? Int == 1)

                // Redraw: grid D1-G2 goes under community D1-C. Version 2; version 1 still says D1-C2.
                let redrawn = try await registry.call(.patch, "/api/v1/places/D1-G2", token: admin, body: ["parentCode": "D1-C"])
                #expect(redrawn.json["version"] as? Int == 2)
                let versions = try await registry.call(.get, "/api/v1/places/D1-G2/versions", token: admin)
                #expect(versions.items.count == 2)
                #expect(((versions.items.first?["place"] as? [String: Any])?["location"] as? [String: Any])?["community"] as? String == "D1-C2")
                #expect(versions.items.first?["validTo"] != nil)
                let building = try await registry.call(.get, "/api/v1/places/D1-B2", token: admin)
                #expect((building.json["location"] as? [String: Any])?["community"] as? String == "D1-C")
                #expect((building.json["location"] as? [String: Any])?["gridVersion"] as? Int == 2)
                #expect(try await registry.count("SELECT count(*) FROM outbox WHERE event_type = 'registry.place.updated.v1'") == 1)
                // Renaming is not a redraw.
                let renamed = try await registry.call(.patch, "/api/v1/places/D1-G2", token: admin, body: ["name": "Canal grid"])
                #expect(renamed.json["version"] as? Int == 2)
            }
        }

        @Test func scopesLimitWhatOperatorsSeeAndSensitiveReadsAreLoggedAndNeverEdited() async throws {
            try await RegistryHarness.run { registry in
                try await registry.drawPlaces("D1")
                try await registry.drawPlaces("D2")
                let inD1 = try await registry.createHousehold(building: "D1-B")
                let inD2 = try await registry.createHousehold(building: "D2-B")
                let sensitive = try await registry.createResident(household: inD1, nationalID: testNationalID(11), groups: ["elderly", "community-correction"])
                _ = try await registry.createResident(household: inD2, nationalID: testNationalID(12), name: "Zhao Min")

                let d2 = try await registry.token(.districtOperator, Scope(level: .district, id: "D2"))
                let listed = try await registry.call(.get, "/api/v1/residents", token: d2)
                #expect(listed.items.map { $0["name"] as? String } == ["Zhao Min"])
                #expect(try await registry.call(.get, "/api/v1/residents/\(sensitive)", token: d2).status == .notFound)
                #expect(try await registry.call(.get, "/api/v1/residents?district=D1", token: d2).status == .forbidden)

                let admin = try await registry.admin
                let plain = try await registry.call(.get, "/api/v1/residents/\(sensitive)", token: admin)
                #expect(plain.json["groups"] as? [String] == ["elderly"])
                #expect(plain.json["sensitiveGroups"] == nil)
                let published = try await registry.count(
                    "SELECT count(*) FROM outbox WHERE payload::text LIKE '%community-correction%'")
                #expect(published == 0, "sensitive groups never reach an event")

                let gridWorker = try await registry.token(.gridWorker, Scope(level: .community, id: "D1-C"), subject: "grid-1")
                #expect(try await registry.call(.get, "/api/v1/residents/\(sensitive)?include=sensitive", token: gridWorker).status == .forbidden)
                #expect(try await registry.call(.get, "/api/v1/residents?group=community-correction", token: gridWorker).status == .forbidden)
                let worker = try await registry.token(.communityWorker, Scope(level: .community, id: "D1-C"), subject: "worker-7")
                #expect(try await registry.call(.get, "/api/v1/residents/\(sensitive)?include=sensitive", token: worker).status == .badRequest)
                let revealed = try await registry.call(
                    .get, "/api/v1/residents/\(sensitive)?include=sensitive", token: worker, headers: ["X-Access-Reason": "correction visit"])
                #expect(revealed.json["sensitiveGroups"] as? [String] == ["community-correction"])
                let byGroup = try await registry.call(
                    .get, "/api/v1/residents?group=community-correction", token: worker, headers: ["X-Access-Reason": "monthly review"])
                #expect(byGroup.items.count == 1)

                // A grid worker corrects the phone of that resident: allowed, and the sensitive group stays.
                let corrected = try await registry.call(.patch, "/api/v1/residents/\(sensitive)", token: gridWorker, body: ["phone": "13800000000"])
                #expect(corrected.status == .ok, "\(corrected.body)")
                #expect(try await registry.count("SELECT count(*) FROM resident WHERE sensitive_groups = '{community-correction}'") == 1)

                // Acting for a resident at the counter is on the record.
                let counter = try await registry.call(
                    .patch, "/api/v1/residents/\(sensitive)", token: worker, body: ["phone": "0755-1234567"],
                    headers: ["X-On-Behalf-Of": sensitive.uuidString, "X-Access-Reason": "resident at the counter"])
                #expect(counter.status == .ok, "\(counter.body)")

                let auditor = try await registry.token(.auditor)
                let log = try await registry.call(.get, "/api/v1/audit-log?resident=\(sensitive)", token: auditor)
                let actions = log.items.compactMap { $0["action"] as? String }
                #expect(actions == ["sensitive-groups-written", "sensitive-groups-read", "sensitive-group-listed", "acted-for-resident"])
                #expect(log.items.dropFirst().allSatisfy { $0["actorSubject"] as? String == "worker-7" })
                #expect(log.items.last?["reason"] as? String == "resident at the counter")
                #expect(try await registry.call(.get, "/api/v1/audit-log", token: worker).status == .forbidden)

                // The table itself refuses edits.
                await #expect(throws: (any Error).self) {
                    try await registry.database.withConnection { connection in
                        try await connection.query("UPDATE audit_log SET reason = 'nothing happened'", logger: Stack.logger)
                    }
                }
                #expect(try await registry.count("SELECT count(*) FROM audit_log WHERE reason = 'nothing happened'") == 0)
            }
        }

        /// Registrations that arrive together share transactions; each still gets its own answer.
        @Test func concurrentRegistrationsEachGetTheirOwnAnswerAndOneEventPerHousehold() async throws {
            try await RegistryHarness.run { registry in
                try await registry.drawPlaces("D1")
                try await registry.drawPlaces("D2")
                let admin = try await registry.admin
                let d1Operator = try await registry.token(.districtOperator, Scope(level: .district, id: "D1"))
                let twice = UUID()
                // (token, building, id): fine ones from two callers, one id sent twice, an unknown
                // building, and the D1 operator writing into D2.
                var requests: [(String, String, UUID)] = (0..<30).map { n in (n % 2 == 0 ? admin : d1Operator, n % 3 == 0 ? "D2-B" : "D1-B", UUID()) }
                    .filter { !($0.0 == d1Operator && $0.1 == "D2-B") }
                let fine = requests.count
                requests += [(admin, "D1-B", twice), (d1Operator, "D1-B", twice), (admin, "D9-B", UUID()), (d1Operator, "D2-B", UUID())]
                let statuses = try await withThrowingTaskGroup(of: (Int, HTTPResponse.Status).self) { group in
                    for (index, (token, building, id)) in requests.enumerated() {
                        group.addTask {
                            let reply = try await registry.call(
                                .post, "/api/v1/households", token: token, body: ["id": id.uuidString, "buildingCode": building, "address": "Unit \(index)"])
                            return (index, reply.status)
                        }
                    }
                    var statuses: [Int: HTTPResponse.Status] = [:]
                    for try await (index, status) in group { statuses[index] = status }
                    return statuses
                }
                #expect((0..<fine).allSatisfy { statuses[$0] == .created })
                #expect([statuses[fine], statuses[fine + 1]].compactMap { $0 }.sorted { $0.code < $1.code } == [.created, .conflict], "one id twice: one wins")
                #expect(statuses[fine + 2] == .unprocessableContent || statuses[fine + 2] == .badRequest || statuses[fine + 2] == .notFound, "unknown building: \(String(describing: statuses[fine + 2]))")
                #expect(statuses[fine + 3] == .forbidden || statuses[fine + 3] == .notFound, "out of scope: \(String(describing: statuses[fine + 3]))")
                #expect(try await registry.count("SELECT count(*) FROM household") == fine + 1)
                #expect(try await registry.count("SELECT count(*) FROM outbox WHERE event_type = 'registry.household.registered.v1'") == fine + 1)
                #expect(try await registry.count("SELECT count(DISTINCT message_key) FROM outbox WHERE event_type = 'registry.household.registered.v1'") == fine + 1)
                let transactions = try await registry.count("SELECT count(DISTINCT xmin::text) FROM household")
                #expect(transactions < fine + 1, "some registrations shared a transaction (\(transactions) transactions for \(fine + 1) households)")
            }
        }

        @Test func anIdempotencyKeyReplaysTheFirstAnswerAndListsPageByCursor() async throws {
            try await RegistryHarness.run { registry in
                try await registry.drawPlaces("D1")
                let admin = try await registry.admin
                let body: [String: Any] = ["buildingCode": "D1-B", "address": "Unit 202"]
                let first = try await registry.call(.post, "/api/v1/households", token: admin, body: body, headers: ["Idempotency-Key": "k-1"])
                let again = try await registry.call(.post, "/api/v1/households", token: admin, body: body, headers: ["Idempotency-Key": "k-1"])
                #expect(first.status == .created)
                #expect(again.status == .created)
                #expect(again.body == first.body)
                #expect(again.headers[HTTPFields.Element.Name("Idempotent-Replayed")!] == "true")
                let changed = try await registry.call(
                    .post, "/api/v1/households", token: admin, body: ["buildingCode": "D1-B", "address": "Unit 303"], headers: ["Idempotency-Key": "k-1"])
                #expect(changed.status == .unprocessableContent)
                #expect(try await registry.count("SELECT count(*) FROM household") == 1)

                // The same id created again (no key): refused, and neither the row nor an event changes.
                let id = try #require(first.json["id"] as? String)
                let taken = try await registry.call(.post, "/api/v1/households", token: admin, body: ["id": id, "buildingCode": "D1-B", "address": "Unit 909"])
                #expect(taken.status == .conflict, "\(taken.body)")
                #expect(try await registry.count("SELECT count(*) FROM household WHERE address = 'Unit 202'") == 1)
                #expect(try await registry.count("SELECT count(*) FROM outbox WHERE event_type = 'registry.household.registered.v1'") == 1)

                for _ in 0..<4 { _ = try await registry.createHousehold(building: "D1-B") }
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let page = try await registry.call(.get, "/api/v1/households?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: admin)
                    #expect(page.items.count <= 2)
                    seen += page.items.compactMap { $0["id"] as? String }
                    cursor = page.json["nextCursor"] as? String
                } while cursor != nil
                #expect(seen.count == 5)
                #expect(Set(seen).count == 5)
                #expect(try await registry.call(.get, "/api/v1/households?cursor=!!", token: admin).status == .badRequest)

                let report = try await registry.call(.get, "/api/v1/reports/size-policy", token: admin)
                let findings = report.items.map { "\($0["code"] ?? "")=\($0["verdict"] ?? "")" }
                #expect(Set(findings) == ["D1-C=too-small", "D1-G=too-small"])
            }
        }

        @Test func organisationsAndRolesFollowTheirRules() async throws {
            try await RegistryHarness.run { registry in
                try await registry.drawPlaces("D1")
                let admin = try await registry.admin
                let household = try await registry.createHousehold(building: "D1-B")
                let person = try await registry.createResident(household: household, nationalID: testNationalID(21), name: "Chen Jing")
                let charity = try await registry.call(
                    .post, "/api/v1/organisations", token: admin,
                    body: ["name": "Canal Care", "kind": "social-group", "legalPerson": true, "servesPlace": "D1"])
                #expect(charity.status == .created)
                #expect(((charity.json["organisation"] as? [String: Any])?["eligibleBidder"] as? Bool) == true)
                let committee = try await registry.call(
                    .post, "/api/v1/organisations", token: admin,
                    body: ["name": "Canal Residents' Committee", "kind": "residents-committee", "legalPerson": false, "servesPlace": "D1-C"])
                #expect(((committee.json["organisation"] as? [String: Any])?["eligibleBidder"] as? Bool) == false)
                let charityID = try #require((charity.json["organisation"] as? [String: Any])?["id"] as? String)

                let mediatorOnGrid = try await registry.call(
                    .post, "/api/v1/roles", token: admin,
                    body: ["residentId": person.uuidString, "role": "mediator", "placeCode": "D1-G", "details": ["mediatorLevel": "community"]])
                #expect(mediatorOnGrid.status == .badRequest)
                let mediator = try await registry.call(
                    .post, "/api/v1/roles", token: admin,
                    body: ["residentId": person.uuidString, "role": "mediator", "placeCode": "D1-C", "details": ["mediatorLevel": "community", "fullTime": true]])
                #expect(mediator.status == .created, "\(mediator.body)")
                let expert = try await registry.call(
                    .post, "/api/v1/roles", token: admin,
                    body: ["residentId": person.uuidString, "role": "expert", "placeCode": "D1", "details": ["fields": ["social-work"], "affiliations": [charityID]]])
                #expect(expert.status == .created, "\(expert.body)")
                let strangerAffiliation = try await registry.call(
                    .post, "/api/v1/roles", token: admin,
                    body: ["residentId": person.uuidString, "role": "expert", "placeCode": "D1", "details": ["fields": ["law"], "affiliations": [UUID().uuidString]]])
                #expect(strangerAffiliation.status == .unprocessableContent)
                let volunteer = try await registry.call(
                    .post, "/api/v1/roles", token: admin,
                    body: ["residentId": person.uuidString, "role": "volunteer", "placeCode": "D1-C", "details": ["skills": ["tutoring"], "availability": ["sat 9:00-12:00"]]])
                #expect(volunteer.fieldsWithProblems == ["details.availability[0]"])

                let mediatorID = try #require(mediator.json["id"] as? String)
                let mediators = try await registry.call(.get, "/api/v1/residents?role=mediator", token: admin)
                #expect(mediators.items.count == 1)
                let ended = try await registry.call(.post, "/api/v1/roles/\(mediatorID)/end", token: admin, body: ["reason": "moved away"])
                #expect(ended.json["active"] as? Bool == false)
                #expect(try await registry.call(.post, "/api/v1/roles/\(mediatorID)/end", token: admin, body: ["reason": "again"]).status == .conflict)
                #expect(try await registry.call(.get, "/api/v1/residents?role=mediator", token: admin).items.isEmpty)
                let kinds = try await registry.database.withConnection { connection in
                    var types: [String] = []
                    let rows = try await connection.query("SELECT event_type FROM outbox WHERE event_type LIKE 'registry.role.%' ORDER BY position", logger: Stack.logger)
                    for try await type in rows.decode(String.self) { types.append(type) }
                    return types
                }
                #expect(kinds == ["registry.role.assigned.v1", "registry.role.assigned.v1", "registry.role.ended.v1"])
            }
        }
    }
}
