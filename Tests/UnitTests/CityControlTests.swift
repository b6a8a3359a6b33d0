@testable import CityControl
import Contracts
import Foundation
import Testing

private let schemas = try! DistrictSchemas(folder: Repository.root.appendingPathComponent("deploy/schemas/district-inbound"))
private let household = "0f8fad5b-d9cb-469f-a165-70867728950e"
private let resident = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

@Suite struct DistrictFileChecks {
    let reader = DistrictFile(district: "D01", schemas: schemas, now: { Date(timeIntervalSince1970: 1_795_000_000) })

    @Test func goodJSONLinesBecomeEventsFromTheDistrictWithStableIDs() throws {
        let text = """
            # households first, then the people who live in them
            {"type":"district.household.registered.v1","data":{"id":"\(household)","buildingCode":"D01-S01-C01-G01-B01","address":"3单元502室"}}

            {"type":"district.resident.registered.v1","data":{"id":"\(resident)","householdId":"\(household)","name":"王芳","nationalId":"11010519491231002X","residency":"registered"}}
            """
        let report = reader.read(text, format: .jsonl)
        #expect(report.problems.map(\.description) == [])
        #expect(report.events.map(\.line) == [2, 4])
        let first = try #require(report.events.first?.event)
        #expect(first.source == "/district/D01")
        #expect(first.subject == household)
        #expect(first.type == DistrictInbound.householdRegistered)
        // Read again, the same record gets the same id: a file published twice is taken once.
        #expect(reader.read(text, format: .jsonl).events.first?.event.id == first.id)
        let other = DistrictFile(district: "D02", schemas: schemas).read(text.replacingOccurrences(of: "D01-", with: "D02-"), format: .jsonl)
        #expect(other.events.first?.event.id != first.id)
    }

    @Test func everyBadLineIsReportedWithItsNumberAndWhatIsWrong() {
        let text = """
            {"type":"district.household.registered.v1","data":{"id":"\(household)","buildingCode":"D01-S01-C01-G01-B01","address":"3单元502室"}}
            {"type":"district.household.registered.v1","data":{"id":"not-a-uuid","buildingCode":"D01-S01","address":""}}
            {"type":"district.resident.registered.v1","data":{"id":"\(resident)","householdId":"\(household)","name":"王芳","nationalId":"110105194912310021","residency":"registered"}}
            {"type":"district.household.registered.v1","data":{"id":"\(household)","buildingCode":"D02-S01-C01-G01-B01","address":"x"}}
            {"type":"district.pet.registered.v1","data":{}}
            {"type": oops}
            {"data":{}}
            """
        let report = reader.read(text, format: .jsonl)
        #expect(!report.isValid)
        #expect(report.problems.map(\.line) == [2, 3, 4, 5, 6, 7])
        let byLine = Dictionary(uniqueKeysWithValues: report.problems.map { ($0.line, $0.description) })
        #expect(byLine[2]?.contains("id: must be a UUID") == true)
        #expect(byLine[2]?.contains("address: must not be empty") == true)
        #expect(byLine[3]?.contains("nationalId") == true, "the check digit of a national id is the registry's own rule")
        #expect(byLine[4]?.contains("buildingCode: D02-S01-C01-G01-B01 is not in district D01") == true)
        #expect(byLine[5]?.contains("unknown event type 'district.pet.registered.v1'") == true)
        #expect(byLine[6]?.contains("not valid JSON") == true)
        #expect(byLine[7]?.contains("needs \"type\" and \"data\"") == true)
    }

    @Test func csvCellsAreTypedByTheSchemaAndNestedByDottedColumns() throws {
        let text = """
            type,id,grid,category,severity,description,specialNeeds,parties.0.name,parties.0.residentId,parties.1.name
            district.dispute.reported.v1,\(household),D01-S01-C01-G01,neighbours,minor,"楼上噪音, 夜间
            影响休息",elderly;disabled,王芳,\(resident),李强
            district.dispute.reported.v1,\(resident),D01-S01-C01-G01,weather,minor,x,,王芳,,
            """
        let report = reader.read(text, format: .csv)
        #expect(report.problems.map(\.description) == ["line 4: category: must be one of neighbours, family, property-management, demolition-relocation, labour, environment, public-order, other, got 'weather'"])
        let event = try #require(report.events.first?.event)
        #expect(report.events.first?.line == 2)
        let dispute = try EventCoding.decoder.decode(DistrictDispute.self, from: Data(event.data))
        #expect(dispute.description == "楼上噪音, 夜间\n影响休息")
        #expect(dispute.specialNeeds == ["elderly", "disabled"])
        #expect(dispute.parties.map(\.name) == ["王芳", "李强"])
        #expect(dispute.parties[0].residentId?.uuidString.lowercased() == resident)
    }

    @Test func csvStructureProblemsPointAtTheirLine() {
        #expect(reader.read("id,buildingCode,address\n\(household),D01-B,x\n", format: .csv).problems.map(\.description) == [
            "line 1: the file needs a 'type' column, or pass --type"
        ])
        let typed = reader.read("id,buildingCode,address,colour\n\(household),D01-B,x,red\n\(household),D01-B\n", format: .csv, type: DistrictInbound.householdUpdated)
        #expect(typed.problems.map(\.description) == ["line 2: colour: not a property of this record type", "line 3: has 2 fields, the header has 4"])
        #expect(reader.read("type,id\n\"district.household.registered.v1,x\n", format: .csv).problems.map(\.line) == [2])
    }

    @Test func aBadDistrictCodeIsRefusedBeforeAnyLine() {
        let report = DistrictFile(district: "d-1", schemas: schemas).read("{}", format: .jsonl)
        #expect(report.problems.map(\.line) == [0])
    }
}

@Suite struct TheSchemaValidator {
    let schema = JSONSchema(
        try! JSONValue.parse(
            Data(
                """
                {"type":"object","required":["a"],"properties":{"a":{"type":"integer","minimum":1,"maximum":9},
                 "b":{"type":"array","items":{"type":"string","enum":["x","y"]},"uniqueItems":true},
                 "c":{"type":"string","format":"date"}},
                 "additionalProperties": false,
                 "oneOf":[{"description":"a alone","not":{"required":["b"]}},{"description":"or with b","required":["b"]}]}
                """.utf8)))

    @Test func violationsNameThePathAndTheRule() throws {
        #expect(schema.violations(of: try JSONValue.parse(Data(#"{"a":3,"b":["x"],"c":"2026-11-23"}"#.utf8))) == [])
        let problems = schema.violations(of: try JSONValue.parse(Data(#"{"a":12,"b":["x","z","x"],"c":"23/11/2026","d":1}"#.utf8))).map(\.description)
        #expect(problems.contains("a: must be at most 9"))
        #expect(problems.contains("b: must not repeat an item"))
        #expect(problems.contains("b[1]: must be one of x, y, got 'z'"))
        #expect(problems.contains("c: must be a date written YYYY-MM-DD, got '23/11/2026'"))
        #expect(problems.contains("d: is not a known property"))
        #expect(schema.violations(of: .object([:])).map(\.description) == ["a: is required"])
        #expect(schema.violations(of: .string("a")).map(\.description) == ["record: must be an object, got 'a'"])
    }
}

/// Text PostgreSQL cannot store — U+0000, bytes that are not UTF-8 — is refused by the district
/// schemas and by `cityctl publish` (dry run or not) with the line's number, before anything is sent.
@Suite struct UnstorableDistrictText {
    let reader = DistrictFile(district: "D01", schemas: schemas, now: { Date(timeIntervalSince1970: 1_795_000_000) })
    static let noNUL = #"^[^\u0000]*$"#

    /// Every schema node that takes a string, with where it is.
    static func stringNodes(_ node: JSONValue, at path: String, into found: inout [(String, JSONValue)]) {
        switch node {
        case .object(let members):
            let types: [String] =
                switch members["type"] {
                case .string(let name): [name]
                case .array(let names): names.compactMap(\.stringValue)
                default: []
                }
            if types.contains("string") { found.append((path, node)) }
            for (name, member) in members { stringNodes(member, at: "\(path)/\(name)", into: &found) }
        case .array(let items):
            for (index, item) in items.enumerated() { stringNodes(item, at: "\(path)[\(index)]", into: &found) }
        default: break
        }
    }

    @Test func everyStringPropertyOfEveryDistrictSchemaRefusesNUL() throws {
        var checked = 0
        for type in DistrictInbound.allTypes {
            let schema = try #require(schemas.byType[type])
            var nodes: [(String, JSONValue)] = []
            Self.stringNodes(schema.document, at: type.rawValue, into: &nodes)
            #expect(!nodes.isEmpty)
            for (path, node) in nodes where node["enum"] == nil && node["const"] == nil {
                let pattern = try #require(node["pattern"]?.stringValue, "\(path) takes any string, U+0000 included")
                // The pattern alone refuses text holding U+0000 and takes text without it.
                let alone = JSONSchema(.object(["pattern": .string(pattern)]))
                #expect(!alone.violations(of: .string("a\u{0}b")).isEmpty, "\(path)")
                if pattern == Self.noNUL {
                    #expect(alone.violations(of: .string("王芳, Unit 5\nsecond line")).isEmpty, "\(path)")
                }
                checked += 1
            }
        }
        #expect(checked > 40)
    }

    @Test func theCheckerRunsTheNULPatternAsOtherValidatorsDo() throws {
        let schema = JSONSchema(try JSONValue.parse(Data(#"{"type":"object","properties":{"name":{"type":"string","pattern":"^[^\\u0000]*$"}}}"#.utf8)))
        #expect(schema.violations(of: .object(["name": .string("Wang Fang 王芳")])) == [])
        #expect(schema.violations(of: .object(["name": .string(#"a \u0000 written out is fine"#)])) == [])
        #expect(schema.violations(of: .object(["name": .string("Wang\u{0}Fang")])).map(\.description) == ["name: text holds U+0000, which the database cannot store"])
        // A pattern that is not a regular expression fails the value rather than passing it unchecked.
        let broken = JSONSchema(.object(["pattern": .string("([")]))
        #expect(broken.violations(of: .string("x")).map(\.problem).first?.contains("not a regular expression") == true)
    }

    @Test func aLineHoldingNULAnywhereOrNotUTF8IsRefusedByItsNumber() {
        let good = #"{"type":"district.household.registered.v1","data":{"id":"\#(household)","buildingCode":"D01-S01-C01-G01-B01","address":"3单元502室"}}"#
        let lines: [[UInt8]] = [
            Array(good.utf8),
            Array(good.replacingOccurrences(of: "3单元502室", with: #"3单元\u0000502室"#).utf8),  // 2: the escape in a schema property
            Array(good.replacingOccurrences(of: #""address""#, with: #""colour":"red\u0000","address""#).utf8),  // 3: a property the schema does not know
            Array(good.replacingOccurrences(of: #"{"type""#, with: #"{"subject":"h\u0000","type""#).utf8),  // 4: the envelope
            Array(good.replacingOccurrences(of: #""address""#, with: #""x\u0000y":1,"address""#).utf8),  // 5: a property name
            Array(good.utf8).map { $0 == UInt8(ascii: "5") ? 0 : $0 },  // 6: a raw zero byte
            Array(good.utf8).map { $0 == UInt8(ascii: "5") ? 0xFF : $0 },  // 7: not UTF-8
            Array(#"{"type":"district.household.registered.v1","data":{"id":"\#(household)","buildingCode":"D01-B","address":"back\\u0000slash"}}"#.utf8),
        ]
        let report = reader.read(Data(lines.joined(separator: [UInt8(ascii: "\n")])), format: .jsonl)
        #expect(report.problems.map(\.line) == [2, 3, 4, 5, 6, 7])
        #expect(report.events.map(\.line) == [1, 8], "an escaped backslash before u0000 is text, not U+0000")
        let byLine = Dictionary(uniqueKeysWithValues: report.problems.map { ($0.line, $0.description) })
        for line in 2...6 { #expect(byLine[line]?.contains("text holds U+0000, which the database cannot store") == true, "\(byLine[line] ?? "")") }
        #expect(byLine[2]?.contains("data.address") == true)
        #expect(byLine[3]?.contains("data.colour") == true)
        #expect(byLine[4]?.contains("subject") == true)
        #expect(byLine[6]?.contains("zero byte") == true)
        #expect(byLine[7]?.contains("not valid UTF-8") == true)
        #expect(report.problems.allSatisfy { !$0.description.utf8.contains(0) }, "no message carries U+0000 itself")
    }

    @Test func aCSVRowHoldingNULOrNotUTF8IsRefusedByItsNumber() {
        var bytes = Array("type,id,buildingCode,address\n".utf8)
        bytes += Array("district.household.registered.v1,\(household),D01-B,Unit 1\n".utf8)
        bytes += Array("district.household.registered.v1,\(household),D01-B,Unit".utf8) + [0] + Array("2\n".utf8)
        bytes += Array("district.household.registered.v1,\(household),D01-B,Unit".utf8) + [0xC3, 0x28] + Array("\n".utf8)
        let report = reader.read(Data(bytes), format: .csv)
        #expect(report.problems.map(\.line) == [3, 4])
        #expect(report.problems.first?.description.contains("U+0000") == true)
        #expect(report.problems.last?.description.contains("not valid UTF-8") == true)
        #expect(report.events.map(\.line) == [2])
    }

    @Test func thePublisherRefusesAnEventHoldingNULBeforeSendingAny() throws {
        func event(_ json: String, subject: String? = nil) -> CloudEvent {
            CloudEvent(
                id: UUID(), source: "/district/D01", type: DistrictInbound.householdRegistered, subject: subject, time: Date(), data: Array(json.utf8))
        }
        #expect(DistrictPublisher.unstorable(event(#"{"address":"Unit 5"}"#)) == nil)
        #expect(DistrictPublisher.unstorable(event(#"{"address":"back\\u0000slash"}"#)) == nil)
        #expect(DistrictPublisher.unstorable(event(#"{"address":"Unit\u00005"}"#))?.contains("U+0000") == true)
        #expect(DistrictPublisher.unstorable(event(#"{"address":"Unit 5"}"#, subject: "h\u{0}")) != nil)
        let failure = DistrictPublisher.Failure(delivered: 0, line: 7, reason: JSONSchema.nulProblem, beforeSending: true)
        #expect(failure.description == "line 7: text holds U+0000, which the database cannot store; nothing was published")
    }
}

@Suite struct TheDistrictSimulator {
    let places = DistrictSimulator.Places(grids: ["D01-S01-C01-G01", "D01-S01-C01-G02"], buildings: ["D01-S01-C01-G01-B01", "D01-S01-C01-G02-B01"])
    let start = Date(timeIntervalSince1970: 1_795_000_000)

    @Test func theSameSeedGivesTheSameStreamAndAnotherSeedAnother() {
        var one = DistrictSimulator(district: "D01", places: places, seed: 42, start: start)
        var two = DistrictSimulator(district: "D01", places: places, seed: 42, start: start)
        var three = DistrictSimulator(district: "D01", places: places, seed: 43, start: start)
        let first = one.events(200)
        #expect(first == two.events(200))
        #expect(first != three.events(200))
    }

    @Test func everySimulatedEventPassesTheChecksADistrictFileGets() throws {
        var simulator = DistrictSimulator(district: "D01", places: places, seed: 7, settle: 0, start: start)
        let events = simulator.events(500)
        let reader = DistrictFile(district: "D01", schemas: schemas, now: { [start] in start })
        var kinds: [EventType: Int] = [:]
        for event in events {
            kinds[event.type, default: 0] += 1
            let record = try JSONValue.parse(Data(event.data))
            let line = JSONValue.object(["type": .string(event.type.rawValue), "data": record])
            let report = reader.read(String(decoding: line.canonicalData(), as: UTF8.self), format: .jsonl)
            #expect(report.problems.map(\.description) == [], "\(event.type)")
        }
        #expect(Set(kinds.keys) == [DistrictInbound.householdRegistered, DistrictInbound.residentRegistered, DistrictInbound.disputeReported, DistrictInbound.serviceNeedReported])
        #expect(kinds[DistrictInbound.residentRegistered, default: 0] >= kinds[DistrictInbound.householdRegistered, default: 0])
    }

    @Test func disputesAndNeedsWaitUntilTheirPeopleHaveSettled() {
        var simulator = DistrictSimulator(district: "D01", places: places, seed: 7, settle: 5, start: start)
        let early = (0..<50).map { _ in simulator.next(at: start) }
        #expect(Set(early.map(\.type)) == [DistrictInbound.householdRegistered, DistrictInbound.residentRegistered])
        let later = (0..<200).map { _ in simulator.next(at: start.addingTimeInterval(6)) }
        #expect(later.contains { $0.type == DistrictInbound.disputeReported })
    }
}

@Suite struct OperatorOutput {
    @Test func prometheusTextBecomesTheStatusRow() {
        let text = """
            # HELP consumer_lag_records records behind
            consumer_lag_records{group="registry.ingress",topic="district.inbound",partition="0"} 7
            consumer_lag_records{group="registry.ingress",topic="district.inbound",partition="1"} 5
            outbox_backlog_rows 12
            outbox_oldest_unsent_age_seconds{lane="0"} 3.5
            dead_letters_total{topic="district.inbound",kind="invalid"} 2
            dead_letters_total{topic="district.inbound",kind="out_of_scope"} 1
            mediation_open_cases{status="reported"} 4
            mediation_open_cases{status="assigned"} 6
            """
        let status = ServiceStatus(name: "mediation", readiness: "ready", checks: ["postgres": "up", "kafka": "up"], metrics: MetricSample.parse(text))
        #expect(status.lag == ["district.inbound": 12])
        #expect(status.outboxBacklog == 12)
        #expect(status.deadLetters == 3)
        #expect(status.domain.first { $0.0 == "open cases" }?.1 == 10)
        let table = ServiceStatus.table([status])
        #expect(table.contains("mediation"))
        #expect(table.contains("open cases 10"))
    }

    @Test func progressLinesShowCountShareAndRate() {
        let line = ProgressBar.line(label: "publishing", done: 1200, total: 2400, elapsed: .seconds(2), width: 10)
        #expect(line.hasPrefix("publishing [#####-----] 1,200/2,400  50%  600/s  ~2s left"))
        #expect(ProgressBar.group(1_234_567) == "1,234,567")
    }
}
