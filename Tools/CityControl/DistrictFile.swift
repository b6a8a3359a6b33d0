import Contracts
import Crypto
import Foundation
import RegistryCore

/// The JSON Schemas of `district.inbound`, one per event type, read from a folder.
public struct DistrictSchemas: Sendable {
    public var folder: URL
    public var byType: [EventType: JSONSchema]

    public struct Missing: Error, CustomStringConvertible {
        public var searched: [String]
        public var description: String {
            "the district JSON Schemas were not found (looked in \(searched.joined(separator: ", "))); pass --schemas or set CITY_SCHEMAS_DIR"
        }
    }

    public init(folder: URL) throws {
        self.folder = folder
        var byType: [EventType: JSONSchema] = [:]
        for type in DistrictInbound.allTypes {
            byType[type] = try JSONSchema(contentsOf: folder.appendingPathComponent("\(type.rawValue).schema.json"))
        }
        self.byType = byType
    }

    /// `explicit`, then `CITY_SCHEMAS_DIR`, then the repository's `deploy/schemas/district-inbound` from
    /// the working directory up, then where the image installs them.
    public static func locate(explicit: String?, environment: [String: String]) throws -> DistrictSchemas {
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        if let configured = environment["CITY_SCHEMAS_DIR"] { candidates.append(configured) }
        var directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<6 {
            candidates.append(directory.appendingPathComponent("deploy/schemas/district-inbound").path)
            directory.deleteLastPathComponent()
        }
        candidates.append("/usr/share/city-governance/schemas/district-inbound")
        let marker = "\(DistrictInbound.householdRegistered.rawValue).schema.json"
        for candidate in candidates where FileManager.default.fileExists(atPath: "\(candidate)/\(marker)") {
            return try DistrictSchemas(folder: URL(fileURLWithPath: candidate))
        }
        throw Missing(searched: explicit.map { [$0] } ?? Array(Set(candidates)).sorted())
    }
}

/// A district's file of records, read and checked in full before anything is published: every bad
/// line is reported with its number, and one bad line means nothing is sent.
///
/// JSON Lines: one event per line, `{"type": "...", "data": {...}}` with optional `id`, `subject` and
/// `time`; or, with a fixed type, one record per line. Blank lines and lines starting with `#` are
/// skipped. CSV: a header row of record properties (`floating.origin`, `parties.0.name` for nested
/// ones), a `type` column or a fixed type, optional `ce_id`, `ce_subject`, `ce_time` columns; lists
/// are separated by `;`; an empty cell is an absent property.
public struct DistrictFile: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl, csv

        public static func guess(path: String) -> Format {
            path.lowercased().hasSuffix(".csv") ? .csv : .jsonl
        }
    }

    public struct Line: Sendable {
        public var line: Int
        public var event: CloudEvent

        public init(line: Int, event: CloudEvent) {
            self.line = line
            self.event = event
        }
    }

    public struct LineProblem: Sendable, CustomStringConvertible {
        public var line: Int
        public var problems: [String]
        public var description: String { "line \(line): \(problems.joined(separator: "; "))" }
    }

    public struct Report: Sendable {
        public var events: [Line] = []
        public var problems: [LineProblem] = []
        public var isValid: Bool { problems.isEmpty }
    }

    public var district: String
    public var schemas: DistrictSchemas
    public var now: @Sendable () -> Date

    public init(district: String, schemas: DistrictSchemas, now: @escaping @Sendable () -> Date = Date.init) {
        self.district = district
        self.schemas = schemas
        self.now = now
    }

    public func read(_ text: String, format: Format, type fixedType: EventType? = nil) -> Report {
        read(Data(text.utf8), format: format, type: fixedType)
    }

    /// The file as it is on disk. Text the database cannot store — bytes that are not UTF-8, or the
    /// character U+0000 (a raw zero byte, or the JSON escape `\u0000` anywhere in a line's JSON) — is
    /// refused by its line number like any other problem, so nothing of such a file is published.
    public func read(_ data: Data, format: Format, type fixedType: EventType? = nil) -> Report {
        var report = Report()
        if let problem = Self.districtProblem(district) {
            report.problems.append(LineProblem(line: 0, problems: [problem]))
            return report
        }
        var lines: [(number: Int, text: String)] = []
        var unreadable: [LineProblem] = []
        for (index, bytes) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            if let problem = Self.textProblem(bytes) {
                unreadable.append(LineProblem(line: index + 1, problems: [problem]))
            } else {
                lines.append((index + 1, String(decoding: bytes, as: UTF8.self)))
            }
        }
        switch format {
        case .jsonl:
            report.problems = unreadable
            readLines(lines, fixedType: fixedType, into: &report)
        case .csv:
            // A CSV record may span lines, so the file is read whole; a line refused above is reported
            // once, for what makes it unreadable.
            readCSV(String(decoding: data, as: UTF8.self), fixedType: fixedType, into: &report)
            let refused = Set(unreadable.map(\.line))
            report.problems = unreadable + report.problems.filter { !refused.contains($0.line) }
            report.events.removeAll { refused.contains($0.line) }
        }
        report.problems.sort { $0.line < $1.line }
        return report
    }

    /// What makes one line's bytes unstorable as text, if anything: U+0000 or bytes that are not UTF-8.
    static func textProblem(_ bytes: some Collection<UInt8>) -> String? {
        switch StorableText.problem(inText: bytes) {
        case .nulCharacter(let offset)?: "\(JSONSchema.nulProblem) (a zero byte at byte \(offset + 1))"
        case .invalidUTF8(let offset)?: "text is not valid UTF-8 (near byte \(offset + 1)), which the database cannot store; save the file as UTF-8"
        case nil: nil
        }
    }

    /// Where in a JSON value text holds U+0000 (a string or a property name), as a path; `nil` when nowhere.
    static func nulPath(in value: JSONValue, at path: String = "") -> String? {
        switch value {
        case .string(let text):
            return text.utf8.contains(0) ? (path.isEmpty ? "the line" : path) : nil
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = nulPath(in: item, at: "\(path)[\(index)]") { return found }
            }
            return nil
        case .object(let members):
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                let here = JSONSchema.join(path, JSONSchema.shown(name))
                if name.utf8.contains(0) { return "the property name \(here)" }
                if let found = nulPath(in: member, at: here) { return found }
            }
            return nil
        case .null, .bool, .integer, .number:
            return nil
        }
    }

    static func districtProblem(_ code: String) -> String? {
        let allowed = code.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
        return !code.isEmpty && allowed ? nil : "the district code must be upper-case letters and digits (e.g. D01), got '\(code)'"
    }

    // MARK: JSON Lines

    private func readLines(_ lines: [(number: Int, text: String)], fixedType: EventType?, into report: inout Report) {
        for (line, raw) in lines {
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            let value: JSONValue
            do {
                value = try JSONValue.parse(Data(trimmed.utf8))
            } catch {
                report.problems.append(LineProblem(line: line, problems: ["not valid JSON: \(Self.jsonError(error))"]))
                continue
            }
            // Anywhere in the line — the record, the envelope, a property the schema does not know.
            if let path = Self.nulPath(in: value) {
                report.problems.append(LineProblem(line: line, problems: ["\(JSONSchema.nulProblem) (in \(path))"]))
                continue
            }
            var envelope = Envelope()
            let record: JSONValue
            if let fixedType {
                envelope.type = fixedType.rawValue
                record = value
            } else {
                guard case .object = value, let type = value["type"]?.stringValue, let data = value["data"] else {
                    report.problems.append(
                        LineProblem(line: line, problems: ["an event line needs \"type\" and \"data\" (or pass --type and give records alone)"]))
                    continue
                }
                envelope = Envelope(type: type, id: value["id"]?.stringValue, subject: value["subject"]?.stringValue, time: value["time"]?.stringValue)
                record = data
            }
            accept(record, envelope: envelope, line: line, into: &report)
        }
    }

    // MARK: CSV

    private static let envelopeColumns = ["type", "ce_id", "ce_subject", "ce_time"]

    private func readCSV(_ text: String, fixedType: EventType?, into report: inout Report) {
        let rows: [CSVReader.Row]
        do {
            rows = try CSVReader.rows(text)
        } catch {
            report.problems.append(LineProblem(line: error.line, problems: [error.problem]))
            return
        }
        guard let header = rows.first else { return }
        let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        if let duplicate = Dictionary(grouping: columns, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            report.problems.append(LineProblem(line: header.line, problems: ["column '\(duplicate)' appears twice"]))
            return
        }
        if fixedType == nil && !columns.contains("type") {
            report.problems.append(LineProblem(line: header.line, problems: ["the file needs a 'type' column, or pass --type"]))
            return
        }
        for row in rows.dropFirst() {
            guard row.fields.count == columns.count else {
                report.problems.append(LineProblem(line: row.line, problems: ["has \(row.fields.count) fields, the header has \(columns.count)"]))
                continue
            }
            let cells = Dictionary(uniqueKeysWithValues: zip(columns, row.fields))
            let type = fixedType?.rawValue ?? cells["type", default: ""].trimmingCharacters(in: .whitespaces)
            let envelope = Envelope(
                type: type, id: cells["ce_id"].flatMap(Self.nonEmpty), subject: cells["ce_subject"].flatMap(Self.nonEmpty),
                time: cells["ce_time"].flatMap(Self.nonEmpty))
            guard let schema = schemas.byType[EventType(rawValue: type)] else {
                report.problems.append(LineProblem(line: row.line, problems: [Self.unknownType(type)]))
                continue
            }
            var problems: [String] = []
            var record = JSONValue.object([:])
            for (column, cell) in zip(columns, row.fields) where !Self.envelopeColumns.contains(column) {
                guard let cell = Self.nonEmpty(cell) else { continue }
                let path = column.split(separator: ".").map(String.init)
                do {
                    let value = try Self.typed(cell, schema: schema.schema(at: path), column: column)
                    try Self.insert(value, at: path[...], into: &record)
                } catch {
                    problems.append(error.description)
                }
            }
            if !problems.isEmpty {
                report.problems.append(LineProblem(line: row.line, problems: problems))
                continue
            }
            accept(record, envelope: envelope, line: row.line, into: &report)
        }
    }

    struct CellProblem: Error, CustomStringConvertible {
        var description: String
    }

    /// A cell as the JSON value its property's schema asks for.
    static func typed(_ cell: String, schema: JSONValue?, column: String) throws(CellProblem) -> JSONValue {
        guard let schema else { throw CellProblem(description: "\(column): not a property of this record type") }
        switch JSONSchema.type(of: schema) {
        case "integer":
            guard let number = Int64(cell.trimmingCharacters(in: .whitespaces)) else {
                throw CellProblem(description: "\(column): must be a whole number, got '\(cell.prefix(40))'")
            }
            return .integer(number)
        case "number":
            guard let number = Double(cell.trimmingCharacters(in: .whitespaces)) else {
                throw CellProblem(description: "\(column): must be a number, got '\(cell.prefix(40))'")
            }
            return .number(number)
        case "boolean":
            switch cell.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "yes", "1": return .bool(true)
            case "false", "no", "0": return .bool(false)
            default: throw CellProblem(description: "\(column): must be true or false, got '\(cell.prefix(40))'")
            }
        case "array":
            let items = cell.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let itemSchema = schema["items"]
            return .array(try items.map { item throws(CellProblem) in try typed(item, schema: itemSchema ?? .object([:]), column: column) })
        case "object":
            throw CellProblem(description: "\(column): give the fields of this object as their own columns (\(column).<field>)")
        default:
            return .string(cell)
        }
    }

    /// Puts `value` at `path`, creating objects and arrays (numeric components) on the way.
    static func insert(_ value: JSONValue, at path: ArraySlice<String>, into node: inout JSONValue) throws(CellProblem) {
        guard let head = path.first else {
            node = value
            return
        }
        if let index = Int(head) {
            var items: [JSONValue]
            switch node {
            case .array(let existing): items = existing
            case .object(let members) where members.isEmpty: items = []
            default: throw CellProblem(description: "column \(path.joined(separator: ".")) mixes a list and a field")
            }
            guard index >= 0, index <= items.count, index < 1000 else {
                throw CellProblem(description: "list positions must start at 0 and follow each other (got \(index) after \(items.count))")
            }
            if index == items.count { items.append(.object([:])) }
            try insert(value, at: path.dropFirst(), into: &items[index])
            node = .array(items)
        } else {
            guard case .object(var members) = node else {
                throw CellProblem(description: "column \(path.joined(separator: ".")) mixes a list and a field")
            }
            var child = members[head] ?? .object([:])
            try insert(value, at: path.dropFirst(), into: &child)
            members[head] = child
            node = .object(members)
        }
    }

    // MARK: Checking one record

    struct Envelope {
        var type = ""
        var id: String?
        var subject: String?
        var time: String?
    }

    private func accept(_ record: JSONValue, envelope: Envelope, line: Int, into report: inout Report) {
        switch check(record, envelope: envelope) {
        case .success(let event): report.events.append(Line(line: line, event: event))
        case .failure(let problems): report.problems.append(LineProblem(line: line, problems: problems.problems))
        }
    }

    struct Problems: Error { var problems: [String] }

    /// The same checks the services make, short of the ones that need their data: the schema, the
    /// typed record, the registry's own rules, and the district's scope.
    func check(_ record: JSONValue, envelope: Envelope) -> Result<CloudEvent, Problems> {
        let type = EventType(rawValue: envelope.type)
        guard let schema = schemas.byType[type], let payload = EventCatalogue.districtRecord(of: type) else {
            return .failure(Problems(problems: [Self.unknownType(envelope.type)]))
        }
        var problems = schema.violations(of: record).map(\.description)
        let canonical = record.canonicalData()
        let id = envelope.id.map { UUID(uuidString: $0) } ?? Self.eventID(district: district, type: type, canonical: canonical)
        if id == nil, let given = envelope.id { problems.append("id: must be a UUID, got '\(given.prefix(40))'") }
        var time = now()
        if let given = envelope.time {
            if let parsed = CloudEventKafkaBinding.parseTime(given) { time = parsed } else { problems.append("time: must be an RFC 3339 time, got '\(given.prefix(40))'") }
        }
        guard problems.isEmpty, let id else { return .failure(Problems(problems: problems)) }

        let data: [UInt8]
        do {
            let decoded = try EventCoding.decoder.decode(payload, from: canonical)
            problems += Self.ruleProblems(decoded, today: time) + scopeProblems(record)
            data = try EventCoding.encode(decoded)
        } catch {
            return .failure(Problems(problems: [EventCoding.explain(error)]))
        }
        guard problems.isEmpty else { return .failure(Problems(problems: problems)) }
        let subject = envelope.subject ?? record["id"]?.stringValue
        return .success(CloudEvent(id: id, source: DistrictInbound.source(district: district), type: type, subject: subject, time: time, data: data))
    }

    /// The registry's own field rules (national ID check digit, residency, kinds, ...).
    static func ruleProblems(_ record: any Decodable, today: Date) -> [String] {
        do {
            switch record {
            case let household as DistrictHousehold: _ = try HouseholdFacts(household)
            case let resident as DistrictResident: _ = try ResidentFacts(resident, today: today)
            case let organisation as DistrictOrganisation:
                _ = try OrganisationFacts(
                    id: organisation.id, name: organisation.name, kind: organisation.kind, legalPerson: organisation.legalPerson,
                    registrationAuthority: organisation.registrationAuthority, registrationNumber: organisation.registrationNumber,
                    servesPlace: organisation.servesPlace)
            default: break
            }
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    /// Places a district names must lie in that district; the registry would refuse them otherwise.
    func scopeProblems(_ record: JSONValue) -> [String] {
        ["buildingCode", "grid", "servesPlace", "placeCode"].compactMap { field in
            guard let code = record[field]?.stringValue, code != district, !code.hasPrefix(district + "-") else { return nil }
            return "\(field): \(code) is not in district \(district)"
        }
    }

    /// The same record from the same district always gets the same event id, so a file published twice
    /// (after an interrupted run) is taken once.
    static func eventID(district: String, type: EventType, canonical: Data) -> UUID {
        var hasher = SHA256()
        hasher.update(data: Data("\(district)\n\(type.rawValue)\n".utf8))
        hasher.update(data: canonical)
        return UUID(bytes: hasher.finalize(), version: 8)
    }

    static func unknownType(_ type: String) -> String {
        let known = DistrictInbound.allTypes.map(\.rawValue).joined(separator: ", ")
        return type.isEmpty ? "the event type is missing; one of \(known)" : "unknown event type '\(type.prefix(60))'; one of \(known)"
    }

    static func nonEmpty(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    static func jsonError(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String ?? context.debugDescription
        }
        return "\(error)"
    }
}
