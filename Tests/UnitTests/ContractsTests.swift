import Contracts
import Foundation
import Testing

@Suite struct EventTypeNames {
    @Test func aVersionedNameSplitsIntoFamilyAndVersion() {
        let type: EventType = "registry.resident.registered.v2"
        #expect(type.version == 2)
        #expect(type.family == "registry.resident.registered")
        #expect(type.isWellFormed)
    }

    @Test(arguments: [
        "registry.resident.registered", "registry.v1", "Registry.Resident.Registered.v1", "registry..registered.v1", "a.b.c.v0", "a.b.c.V1",
        "a.b.c.v", "a.b.c.v1x", "a.b.c.v-1", "a.b.c.", ".a.b.v1", "a.b c.d.v1", "a.b.c.v1 ", "a.b.ç.v1X", "a.b.Ç.v1", "",
    ])
    func malformedNamesAreRejected(name: String) {
        #expect(!EventType(rawValue: name).isWellFormed)
    }

    @Test(arguments: ["a.b.c.v1", "district.service-need.reported.v1", "x_y.z9.w-w.v12", "a.b.c.d.e.v01", "registry.résident.registered.v1"])
    func wellFormedNamesAreAccepted(name: String) {
        #expect(EventType(rawValue: name).isWellFormed)
    }
}

struct Greeting: EventPayload, Equatable {
    static let eventType: EventType = "test.greeting.sent.v1"
    var text: String
    var count: Int
}

@Suite struct CloudEventsOverKafka {
    let time = Date(timeIntervalSince1970: 1_790_000_000.123)

    func headers(_ event: CloudEvent) -> [String: String] {
        Dictionary(CloudEventKafkaBinding.headers(for: event), uniquingKeysWith: { _, last in last })
    }

    @Test func anEventSurvivesTheTripThroughHeadersAndBody() throws {
        let event = try CloudEvent(source: "/registry", subject: "household-7", time: time, payload: Greeting(text: "你好", count: 3))
        let attributes = headers(event)
        #expect(attributes["ce_specversion"] == "1.0")
        #expect(attributes["ce_type"] == "test.greeting.sent.v1")
        #expect(attributes["content-type"] == "application/json")
        let decoded = try CloudEventKafkaBinding.event(value: event.data) { attributes[$0] }
        #expect(decoded.id == event.id)
        #expect(decoded.subject == "household-7")
        #expect(abs(decoded.time.timeIntervalSince(time)) < 0.001)
        #expect(try decoded.decode(Greeting.self) == Greeting(text: "你好", count: 3))
    }

    @Test func unknownFieldsInTheBodyAreIgnored() throws {
        let body = Array(#"{"text": "hi", "count": 1, "addedInAFutureVersion": {"x": 1}}"#.utf8)
        let event = CloudEvent(source: "/district/d01", type: Greeting.eventType, subject: nil, time: time, data: body)
        #expect(try event.decode(Greeting.self) == Greeting(text: "hi", count: 1))
    }

    @Test func aMissingFieldIsNamedInTheError() throws {
        let event = CloudEvent(source: "/x", type: Greeting.eventType, subject: nil, time: time, data: Array(#"{"text": "hi"}"#.utf8))
        #expect(throws: EventDecodingError.invalidData(type: "test.greeting.sent.v1", reason: "count is required")) {
            try event.decode(Greeting.self)
        }
    }

    @Test func recordsWithoutTheRequiredAttributesAreUndecodable() throws {
        let event = try CloudEvent(source: "/registry", subject: nil, time: time, payload: Greeting(text: "a", count: 1))
        var attributes = headers(event)
        attributes["ce_id"] = "not-a-uuid"
        #expect(throws: EventDecodingError.badAttribute(name: "ce_id", value: "not-a-uuid")) {
            try CloudEventKafkaBinding.event(value: event.data) { attributes[$0] }
        }
        attributes = headers(event)
        attributes["ce_specversion"] = "0.3"
        #expect(throws: EventDecodingError.unsupportedSpecVersion("0.3")) {
            try CloudEventKafkaBinding.event(value: event.data) { attributes[$0] }
        }
        attributes = headers(event)
        attributes.removeValue(forKey: "ce_source")
        let error = #expect(throws: EventDecodingError.self) {
            try CloudEventKafkaBinding.event(value: event.data) { attributes[$0] }
        }
        #expect(error?.kind == "undecodable")
        attributes = headers(event)
        #expect(throws: EventDecodingError.missingAttribute("data")) {
            try CloudEventKafkaBinding.event(value: nil) { attributes[$0] }
        }
    }

    @Test(arguments: ["2026-11-23T08:00:00Z", "2026-11-23T08:00:00.250Z", "2026-11-23T16:00:00+08:00"])
    func timesWithAndWithoutFractionsAndOffsetsParse(text: String) throws {
        let date = try #require(CloudEventKafkaBinding.parseTime(text))
        #expect(abs(date.timeIntervalSince1970 - 1_795_420_800) < 1)
    }

    @Test func deadLetterTopicsSitBesideTheirTopics() {
        #expect(Topic.districtInbound.deadLetter == "district.inbound.dead-letter")
        #expect(Set(Topic.allCases.map(\.name)).count == Topic.allCases.count)
    }
}

@Suite struct DistrictIngressContract {
    @Test func aDistrictSourceNamesExactlyOneDistrict() {
        #expect(DistrictInbound.district(fromSource: "/district/D01") == "D01")
        #expect(DistrictInbound.district(fromSource: "/district/") == nil)
        #expect(DistrictInbound.district(fromSource: "/district/D01/extra") == nil)
        #expect(DistrictInbound.district(fromSource: "/registry") == nil)
    }

    @Test func everyDocumentedTypeIsWellFormedAndRegistryTypesAreAmongThem() {
        #expect(DistrictInbound.allTypes.allSatisfy { $0.isWellFormed })
        #expect(RegistryEventTypes.all.allSatisfy { $0.isWellFormed })
        #expect(MediationEventTypes.all.allSatisfy { $0.isWellFormed })
        #expect(VolunteerEventTypes.all.allSatisfy { $0.isWellFormed }, "\(VolunteerEventTypes.all.filter { !$0.isWellFormed })")
        #expect(BiddingEventTypes.all.allSatisfy { $0.isWellFormed })
        #expect(Set(DistrictInbound.registryTypes).isSubset(of: Set(DistrictInbound.allTypes)))
    }

    @Test func registryEventsNeverCarryAnIDNumberField() throws {
        let resident = ResidentSnapshot(
            id: UUID(), householdId: UUID(), name: "Li", birthYear: 1950, residency: "floating", reachableByPhone: false, groups: ["elderly"],
            location: PlaceLocation(district: "D1"))
        let json = String(decoding: try EventCoding.encode(ResidentRegistered(resident: resident)), as: UTF8.self)
        #expect(!json.lowercased().contains("national"))
        #expect(!json.contains("phone\""))
    }
}

@Suite struct RandomIDs {
    @Test func randomIDsAreVersionFourAndDistinct() {
        let ids = (0..<10_000).map { _ in UUID.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(100) {
            let text = id.uuidString
            #expect(text[text.index(text.startIndex, offsetBy: 14)] == "4")
            #expect("89AB".contains(text[text.index(text.startIndex, offsetBy: 19)]))
        }
    }
}
