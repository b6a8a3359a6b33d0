import Contracts
import Foundation

/// The JSON Schema (draft-07) keywords the district schemas use, so a district's file is checked
/// against exactly the documents integrators are given (`deploy/schemas/district-inbound`).
///
/// Supported: `type`, `enum`, `const`, `required`, `properties`, `additionalProperties`, `items`,
/// `minItems`, `maxItems`, `uniqueItems`, `minLength`, `maxLength`, `pattern`, `minimum`, `maximum`,
/// `format` (`uuid`, `date`, `date-time`), `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`
/// and `$ref` into the document's own `definitions`. Unknown keywords are ignored, as the standard says.
///
/// `pattern` is an ECMA 262-style regular expression as JSON Schema has it, run by ICU; `\uXXXX`
/// escapes work as in Python's `re` and JavaScript, so `^[^\\u0000]*$` (as written in JSON) refuses text
/// holding U+0000 here and in other validators alike.
public struct JSONSchema: Sendable {
    public let document: JSONValue
    /// Every `pattern` of the document, compiled once: a file checks the same few on every line.
    let patterns: [String: NSRegularExpression]

    public init(_ document: JSONValue) {
        self.document = document
        patterns = Self.compilePatterns(in: document)
    }

    public init(contentsOf url: URL) throws {
        self.init(try JSONValue.parse(Data(contentsOf: url)))
    }

    /// The patterns of the document that compile; one that does not is reported where it is used.
    private static func compilePatterns(in document: JSONValue) -> [String: NSRegularExpression] {
        var compiled: [String: NSRegularExpression] = [:]
        func walk(_ node: JSONValue) {
            switch node {
            case .object(let members):
                if let pattern = members["pattern"]?.stringValue, compiled[pattern] == nil {
                    compiled[pattern] = try? NSRegularExpression(pattern: pattern)
                }
                members.values.forEach(walk)
            case .array(let items): items.forEach(walk)
            default: break
            }
        }
        walk(document)
        return compiled
    }

    /// Every violation, each with the JSON path of the value (`parties[0].name`).
    public func violations(of value: JSONValue) -> [FieldIssue] {
        var problems: [FieldIssue] = []
        check(value, against: document, path: "", into: &problems)
        return problems
    }

    /// The schema that applies at a property path (following `$ref` and `allOf`), for typing CSV cells.
    public func schema(at path: [String]) -> JSONValue? {
        var current = resolve(document)
        for component in path {
            if Int(component) != nil, let items = current["items"] {
                current = resolve(items)
            } else if let property = properties(of: current)[component] {
                current = resolve(property)
            } else {
                return nil
            }
        }
        return current
    }

    /// The declared type of a (resolved) schema: `string`, `integer`, `array`, ...
    public static func type(of schema: JSONValue) -> String? {
        switch schema["type"] {
        case .string(let name): name
        case .array(let names): names.compactMap(\.stringValue).first { $0 != "null" }
        default: nil
        }
    }

    private func properties(of schema: JSONValue) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        if case .object(let members) = schema["properties"] { out = members }
        if case .array(let parts) = schema["allOf"] {
            for part in parts { out.merge(properties(of: resolve(part))) { first, _ in first } }
        }
        return out
    }

    private func resolve(_ schema: JSONValue) -> JSONValue {
        var schema = schema
        // A lone `allOf` of one `$ref` is how a description is attached to a reference.
        for _ in 0..<8 {
            if let reference = schema["$ref"]?.stringValue, let target = lookup(reference) {
                schema = target
            } else if case .array(let parts) = schema["allOf"], parts.count == 1, schema["properties"] == nil, schema["type"] == nil {
                schema = parts[0]
            } else {
                break
            }
        }
        return schema
    }

    private func lookup(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: JSONValue? = document
        for component in reference.dropFirst(2).split(separator: "/") {
            node = node?[String(component)]
        }
        return node
    }

    private func check(_ value: JSONValue, against rawSchema: JSONValue, path: String, into problems: inout [FieldIssue]) {
        if case .bool(let allowed) = rawSchema {
            if !allowed { problems.append(FieldIssue(path, "is not allowed")) }
            return
        }
        let schema = rawSchema["$ref"]?.stringValue.flatMap(lookup) ?? rawSchema
        let field = path.isEmpty ? "record" : path
        let before = problems.count

        switch schema["type"] {
        case .string(let name) where !value.schemaTypes.contains(name):
            problems.append(FieldIssue(field, "must be \(Self.article(name)), got \(Self.describe(value))"))
            return
        case .array(let names) where value.schemaTypes.isDisjoint(with: names.compactMap(\.stringValue)):
            problems.append(FieldIssue(field, "must be one of the types \(names.compactMap(\.stringValue).joined(separator: ", "))"))
            return
        default: break
        }
        if case .array(let allowed) = schema["enum"], !allowed.contains(value) {
            let choices = allowed.map { $0.stringValue ?? "\($0)" }.joined(separator: ", ")
            problems.append(FieldIssue(field, "must be one of \(choices), got \(Self.describe(value))"))
        }
        if let constant = schema["const"], constant != value {
            problems.append(FieldIssue(field, "must be \(Self.describe(constant)), got \(Self.describe(value))"))
        }

        switch value {
        case .string(let text):
            checkString(text, schema: schema, field: field, into: &problems)
        case .integer, .number:
            let number = value.numeric ?? 0
            if let minimum = schema["minimum"]?.numeric, number < minimum {
                problems.append(FieldIssue(field, "must be at least \(Self.format(minimum))"))
            }
            if let maximum = schema["maximum"]?.numeric, number > maximum {
                problems.append(FieldIssue(field, "must be at most \(Self.format(maximum))"))
            }
        case .array(let items):
            if let minimum = schema["minItems"]?.numeric, Double(items.count) < minimum {
                problems.append(FieldIssue(field, "must have at least \(Int(minimum)) item(s)"))
            }
            if let maximum = schema["maxItems"]?.numeric, Double(items.count) > maximum {
                problems.append(FieldIssue(field, "must have at most \(Int(maximum)) item(s)"))
            }
            if schema["uniqueItems"] == .bool(true), Set(items).count != items.count {
                problems.append(FieldIssue(field, "must not repeat an item"))
            }
            if let itemSchema = schema["items"] {
                for (index, item) in items.enumerated() {
                    check(item, against: itemSchema, path: "\(path)[\(index)]", into: &problems)
                }
            }
        case .object(let members):
            if case .array(let required) = schema["required"] {
                for name in required.compactMap(\.stringValue) where members[name] == nil || members[name] == .null {
                    problems.append(FieldIssue(Self.join(path, name), "is required"))
                }
            }
            let declared: [String: JSONValue]
            if case .object(let properties) = schema["properties"] { declared = properties } else { declared = [:] }
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let propertySchema = declared[name] {
                    // An explicit null is an absent optional property, as the services decode it.
                    if member == .null { continue }
                    check(member, against: propertySchema, path: Self.join(path, name), into: &problems)
                } else if schema["additionalProperties"] == .bool(false) {
                    problems.append(FieldIssue(Self.join(path, name), "is not a known property"))
                }
            }
        case .null, .bool:
            break
        }

        // Combinators: each branch is checked on its own list so that a failed alternative is not reported.
        if case .array(let parts) = schema["allOf"] {
            for part in parts { check(value, against: part, path: path, into: &problems) }
        }
        if case .array(let parts) = schema["anyOf"], !parts.contains(where: { passes(value, $0, path) }) {
            problems.append(FieldIssue(field, schema["description"]?.stringValue ?? Self.explain(parts) ?? "matches none of the allowed forms"))
        }
        if case .array(let parts) = schema["oneOf"], parts.filter({ passes(value, $0, path) }).count != 1 {
            problems.append(FieldIssue(field, schema["description"]?.stringValue ?? Self.explain(parts) ?? "must match exactly one of the allowed forms"))
        }
        if let negated = schema["not"], passes(value, negated, path) {
            problems.append(FieldIssue(field, schema["description"]?.stringValue ?? "has a form that is not allowed"))
        }
        if let condition = schema["if"], problems.count == before {
            if passes(value, condition, path) {
                if let then = schema["then"] { check(value, against: then, path: path, into: &problems) }
            } else if let otherwise = schema["else"] {
                check(value, against: otherwise, path: path, into: &problems)
            }
        }
    }

    private func passes(_ value: JSONValue, _ schema: JSONValue, _ path: String) -> Bool {
        var scratch: [FieldIssue] = []
        check(value, against: schema, path: path, into: &scratch)
        return scratch.isEmpty
    }

    private func checkString(_ text: String, schema: JSONValue, field: String, into problems: inout [FieldIssue]) {
        if let minimum = schema["minLength"]?.numeric, Double(text.count) < minimum {
            problems.append(FieldIssue(field, minimum == 1 ? "must not be empty" : "must have at least \(Int(minimum)) characters"))
        }
        if let maximum = schema["maxLength"]?.numeric, Double(text.count) > maximum {
            problems.append(FieldIssue(field, "must have at most \(Int(maximum)) characters"))
        }
        if let pattern = schema["pattern"]?.stringValue {
            if let expression = patterns[pattern] ?? (try? NSRegularExpression(pattern: pattern)) {
                if expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
                    // The reason a pattern refuses text holding U+0000 is nearly always that character.
                    problems.append(
                        FieldIssue(field, text.utf8.contains(0) ? Self.nulProblem : "must match \(pattern), got '\(Self.shown(text.prefix(40)))'"))
                }
            } else {
                problems.append(FieldIssue(field, "cannot be checked: the schema's pattern \(pattern) is not a regular expression"))
            }
        }
        switch schema["format"]?.stringValue {
        case "uuid" where UUID(uuidString: text) == nil:
            problems.append(FieldIssue(field, "must be a UUID, got '\(Self.shown(text.prefix(40)))'"))
        case "date" where !Self.isDay(text):
            problems.append(FieldIssue(field, "must be a date written YYYY-MM-DD, got '\(Self.shown(text.prefix(40)))'"))
        case "date-time" where CloudEventKafkaBinding.parseTime(text) == nil:
            problems.append(FieldIssue(field, "must be an RFC 3339 time with a zone, e.g. 2026-11-23T09:00:00+08:00, got '\(Self.shown(text.prefix(40)))'"))
        default: break
        }
    }

    /// What is said of text holding U+0000, here and by `cityctl publish`.
    public static let nulProblem = "text holds U+0000, which the database cannot store"

    /// Text as quoted in a message: U+0000 written as its escape, so a message never carries it.
    static func shown(_ text: some StringProtocol) -> String {
        String(text).replacingOccurrences(of: "\u{0}", with: "\\u0000")
    }

    private static func isDay(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let month = Int(parts[1]), let day = Int(parts[2]), Int(parts[0]) != nil
        else { return false }
        return (1...12).contains(month) && (1...31).contains(day)
    }

    /// The branches' own descriptions say what the alternatives are better than a list of failures.
    private static func explain(_ parts: [JSONValue]) -> String? {
        let descriptions = parts.compactMap { $0["description"]?.stringValue }
        return descriptions.isEmpty ? nil : descriptions.joined(separator: " / ")
    }

    static func join(_ path: String, _ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    private static func article(_ type: String) -> String {
        type == "integer" || type == "array" || type == "object" ? "an \(type)" : "a \(type)"
    }

    private static func format(_ number: Double) -> String {
        number.rounded() == number ? String(Int64(number)) : String(number)
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): "\(flag)"
        case .integer(let number): "\(number)"
        case .number(let number): format(number)
        case .string(let text): "'\(shown(text.prefix(40)))'"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
