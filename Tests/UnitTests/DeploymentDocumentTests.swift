import BiddingService
import CityControl
import Contracts
import Foundation
import MediationService
import RegistryService
import ServiceRuntime
import Testing
import VolunteerMatchingService
import Yams

/// The repository's files, read as documents.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    static func yaml(_ path: String) throws -> JSONValue {
        try value(Yams.load(yaml: text(path)) as Any)
    }

    static func json(_ path: String) throws -> JSONValue {
        try JSONValue.parse(Data(contentsOf: root.appendingPathComponent(path)))
    }

    private static func value(_ node: Any) -> JSONValue {
        switch node {
        case let text as String: .string(text)
        case let flag as Bool: .bool(flag)
        case let number as Int: .integer(Int64(number))
        case let number as Double: .number(number)
        case let list as [Any]: .array(list.map(value))
        case let map as [String: Any]: .object(map.mapValues(value))
        case let map as [AnyHashable: Any]: .object(Dictionary(uniqueKeysWithValues: map.map { ("\($0.key)", value($0.value)) }))
        default: .null
        }
    }
}

extension JSONValue {
    var members: [String: JSONValue] {
        if case .object(let members) = self { return members }
        return [:]
    }

    var items: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }

    var text: String? {
        switch self {
        case .string(let text): text
        case .integer(let number): "\(number)"
        case .bool(let flag): "\(flag)"
        default: nil
        }
    }
}

/// `deploy/docker-compose.yml` names what the code reads: a compose file that drifts from the code
/// (a renamed variable, a new setting, a topic, a port, a schema) fails here.
@Suite struct ComposeMatchesTheCode {
    static let descriptors = OpenAPIMatchesRoutes.descriptors
    static let settings: [String: [String]] = [
        RegistryService.name: RegistrySettings.variables, MediationService.name: MediationSettings.variables,
        VolunteerMatchingService.name: VolunteerSettings.variables, BiddingService.name: BiddingSettings.variables,
    ]
    static let publishedPorts = [RegistryService.name: 8081, MediationService.name: 8082, VolunteerMatchingService.name: 8083, BiddingService.name: 8084]

    let compose: JSONValue
    init() throws { compose = try Repository.yaml("deploy/docker-compose.yml") }

    @Test(arguments: descriptors.map(\.name))
    func eachServiceGetsExactlyTheVariablesItReads(service: String) throws {
        let definition = try #require(compose["services"]?[service], "compose has no service \(service)")
        #expect(definition["command"]?.items.compactMap(\.text) == [service], "the image's executable is the service's name")
        let environment = definition["environment"]?.members ?? [:]
        let expected = Set(RuntimeConfiguration.variables + (Self.settings[service] ?? []))
        let named = Set(environment.keys)
        #expect(named.subtracting(expected).sorted() == [], "variables compose sets that \(service) does not read")
        #expect(expected.subtracting(named).sorted() == [], "variables \(service) reads that compose does not set")
    }

    @Test(arguments: descriptors.map(\.name))
    func portsSchemasAndRolesMatch(service: String) throws {
        let descriptor = try #require(Self.descriptors.first { $0.name == service })
        let definition = try #require(compose["services"]?[service])
        let environment = definition["environment"]?.members ?? [:]
        #expect(environment["POSTGRES_SCHEMA"]?.text == descriptor.schema)
        #expect(environment["HTTP_PORT"]?.text == "8080")
        let ports = definition["ports"]?.items.compactMap(\.text) ?? []
        let published = try #require(Self.publishedPorts[service])
        #expect(ports.count == 1 && ports[0].hasSuffix(":-\(published)}:8080"), "\(service) is published on \(published) → 8080, got \(ports)")
        // The role the init script creates is the user the service logs in as, and owns its schema.
        let roles = try Repository.text("deploy/postgres/init/10-service-roles.sh")
        let user = try #require(environment["POSTGRES_USER"]?.text)
        #expect(roles.contains("CREATE ROLE \(user) LOGIN"))
        #expect(roles.contains("CREATE SCHEMA \(descriptor.schema) AUTHORIZATION \(user)"))
        // Prometheus scrapes it, and the local quick start publishes it on the same port.
        let prometheus = try Repository.text("deploy/prometheus/prometheus.yml")
        #expect(prometheus.contains("job_name: \(service)"))
        #expect(try Repository.text("scripts/lib.sh").contains("\(service):\(published)"))
    }

    @Test func theToolReadsWhatComposeGivesItAndTheImageHoldsEveryExecutable() throws {
        let tool = try #require(compose["services"]?["cityctl"])
        let named = Set((tool["environment"]?.members ?? [:]).keys)
        #expect(named.subtracting(CityControlEnvironment.variables).sorted() == [])
        #expect(tool["environment"]?["CITY_SCHEMAS_DIR"]?.text == "/usr/share/city-governance/schemas/district-inbound")
        let dockerfile = try Repository.text("deploy/Dockerfile")
        let executables = Self.descriptors.map(\.name) + ["cityctl"]
        #expect(dockerfile.contains("for product in \(executables.joined(separator: " ")); do"))
        #expect(dockerfile.contains("COPY deploy/schemas/ /usr/share/city-governance/schemas/"))
    }

    @Test func theTopicJobCreatesEveryTopicTheServicesUseWithItsPartitions() throws {
        let script = try Repository.text("deploy/kafka/create-topics.sh")
        let pattern = try Regex(#""([a-z.\-]+):([0-9]+):\$\{[A-Z_]+\}""#)
        var created: [String: Int] = [:]
        for match in script.matches(of: pattern) {
            created[String(match.output[1].substring ?? "")] = Int(match.output[2].substring ?? "")
        }
        var expected: [String: Int] = [:]
        for topic in Topic.allCases {
            expected[topic.name] = Int(topic.partitions)
            expected[topic.deadLetter] = 1
        }
        #expect(created == expected)
        // Every topic a service consumes is one of them.
        for descriptor in Self.descriptors {
            for topic in descriptor.consumers.flatMap(\.topics) {
                #expect(expected[topic] != nil, "\(descriptor.name) consumes \(topic), which the job does not create")
            }
        }
    }

    @Test func everySecretComesFromTheEnvironmentAndIsInTheExample() throws {
        let example = try Repository.text("deploy/.env.example")
        let yaml = try Repository.text("deploy/docker-compose.yml") + Repository.text("deploy/docker-compose.sasl.yml")
        let required = Set(yaml.matches(of: try Regex(#"\$\{([A-Z_]+):\?"#)).map { String($0.output[1].substring ?? "") })
        #expect(!required.isEmpty)
        for variable in required.sorted() {
            #expect(example.contains("\(variable)="), "\(variable) is required by compose but missing from .env.example")
        }
        for secret in ["AUTH_JWT_SECRET", "REGISTRY_ID_DIGEST_KEY", "BID_SEALING_KEY", "POSTGRES_PASSWORD"] {
            for service in Self.descriptors.map(\.name) {
                guard let value = compose["services"]?[service]?["environment"]?[secret]?.text else { continue }
                #expect(value.hasPrefix("${") && value.contains(":?"), "\(service)'s \(secret) must come from the environment, got \(value)")
            }
        }
    }
}

/// `deploy/asyncapi.yaml` and the district JSON Schemas describe the records the code writes and
/// reads: a property added in code and not in the document (or the other way round), a changed
/// type or a field that became optional fails here.
@Suite struct EventDocumentsMatchTheCode {
    let asyncAPI: JSONValue
    init() throws { asyncAPI = try Repository.yaml("deploy/asyncapi.yaml") }

    @Test func theCatalogueListsEveryEventTypeOfEveryFamily() {
        let catalogued = EventCatalogue.entries
        #expect(catalogued[.registryEvents]?.map(\.type) == RegistryEventTypes.all)
        #expect(catalogued[.mediationEvents]?.map(\.type) == MediationEventTypes.all)
        #expect(catalogued[.volunteerEvents]?.map(\.type) == VolunteerEventTypes.all)
        #expect(catalogued[.biddingEvents]?.map(\.type) == BiddingEventTypes.all)
        #expect(catalogued[.districtInbound]?.map(\.type) == DistrictInbound.allTypes)
    }

    @Test(arguments: Topic.allCases)
    func eachChannelCarriesExactlyTheTopicsEventTypes(topic: Topic) throws {
        let channels = asyncAPI["channels"]?.members ?? [:]
        let channel = try #require(channels.values.first { $0["address"]?.text == topic.name }, "no channel for \(topic.name)")
        let documented = Set((channel["messages"]?.members ?? [:]).keys)
        let types = Set((EventCatalogue.entries[topic] ?? []).map(\.type.rawValue))
        #expect(documented == types)
        #expect(channel["bindings"]?["kafka"]?["partitions"]?.text == "\(topic.partitions)")
        let deadLetter = channels.values.first { $0["address"]?.text == topic.deadLetter }
        #expect(deadLetter?["bindings"]?["kafka"]?["partitions"]?.text == "1")
    }

    @Test(arguments: EventCatalogue.entries.values.flatMap { $0 }.map(\.type.rawValue))
    func eachMessagesPayloadHasTheRecordsProperties(type: String) throws {
        let entry = try #require(EventCatalogue.entries.values.flatMap { $0 }.first { $0.type.rawValue == type })
        let message = try #require(asyncAPI["components"]?["messages"]?[type], "no message \(type)")
        #expect(message["headers"]?["properties"]?["ce_type"]?["const"]?.text == type)
        let payload = try #require(message["payload"])
        let code = try JSONShape.of(entry.payload)
        var mismatches: [String] = []
        if let file = payload["schema"]?["$ref"]?.text {
            // The district records: the JSON Schema file integrators validate against.
            let schema = try Repository.json("deploy/" + file.replacingOccurrences(of: "./", with: ""))
            SchemaComparison(document: schema).compare(code, schema, path: type, into: &mismatches)
        } else {
            SchemaComparison(document: asyncAPI).compare(code, payload, path: type, into: &mismatches)
        }
        #expect(mismatches == [], "\(type) differs from \(entry.payload): \(mismatches.joined(separator: "; "))")
    }

    @Test func aPropertyMissingFromTheDocumentIsCaught() throws {
        // The comparison itself: a record with one more property than its schema.
        struct Grown: Codable { var id: UUID; var name: String; var extra: Int? }
        let schema = JSONValue.object([
            "type": .string("object"), "required": .array([.string("id"), .string("name")]),
            "properties": .object(["id": .object(["type": .string("string")]), "name": .object(["type": .string("string")])]),
        ])
        var mismatches: [String] = []
        SchemaComparison(document: schema).compare(try JSONShape.of(Grown.self), schema, path: "grown", into: &mismatches)
        #expect(mismatches == ["grown.extra: in the code, not in the document"])
    }
}

/// Compares a record's shape with a JSON Schema node, following `$ref` and single-entry `allOf`.
struct SchemaComparison {
    let document: JSONValue

    func resolve(_ node: JSONValue) -> JSONValue {
        var node = node
        for _ in 0..<8 {
            if let reference = node["$ref"]?.text, reference.hasPrefix("#/") {
                node = reference.dropFirst(2).split(separator: "/").reduce(document as JSONValue?) { $0?[String($1)] } ?? .null
            } else if let parts = node["allOf"]?.items, parts.count == 1, node["type"] == nil, node["properties"] == nil {
                node = parts[0]
            } else {
                return node
            }
        }
        return node
    }

    func compare(_ code: JSONShape, _ raw: JSONValue, path: String, into mismatches: inout [String]) {
        let schema = resolve(raw)
        let types = Set(schema["type"].map { $0.items.isEmpty ? [$0.text ?? ""] : $0.items.compactMap(\.text) } ?? [])
        func expectType(_ name: String) {
            if !types.contains(name) { mismatches.append("\(path): \(name) in the code, \(types.sorted()) in the document") }
        }
        switch code {
        case .string: expectType("string")
        case .integer: expectType("integer")
        case .number: expectType("number")
        case .boolean: expectType("boolean")
        case .map: expectType("object")
        case .unknown: break
        case .array(let element):
            expectType("array")
            if let items = schema["items"] { compare(element, items, path: path + "[]", into: &mismatches) }
        case .object(let fields):
            expectType("object")
            let properties = schema["properties"]?.members ?? [:]
            for name in Set(fields.keys).subtracting(properties.keys).sorted() {
                mismatches.append("\(path).\(name): in the code, not in the document")
            }
            for name in Set(properties.keys).subtracting(fields.keys).sorted() {
                mismatches.append("\(path).\(name): in the document, not in the code")
            }
            let required = Set(schema["required"]?.items.compactMap(\.text) ?? [])
            for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
                if field.optional == required.contains(name) {
                    mismatches.append("\(path).\(name): \(field.optional ? "optional" : "required") in the code, not in the document")
                }
                if let property = properties[name] { compare(field.shape, property, path: "\(path).\(name)", into: &mismatches) }
            }
        }
    }
}
