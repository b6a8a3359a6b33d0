import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import RegistryCore
import ServiceRuntime
import Storage

/// A place as stored, with its denormalised path (its own code included at its level).
struct PlaceRecord: Sendable {
    var code: String
    var level: PlaceLevel
    var name: String
    var parentCode: String?
    var path: PathColumns
    var version: Int
    var communityType: String?
    var workstation: String?
    var boundary: String?
    var address: String?

    static let columns = """
        code, level, name, parent_code, district_code, street_code, community_code, grid_code, grid_version, version,
        community_type, workstation, boundary, address
        """

    init(row: PostgresRandomAccessRow) throws {
        code = try row.value("code")
        level = PlaceLevel(rawValue: try row.value("level")) ?? .district
        name = try row.value("name")
        parentCode = try row.value("parent_code")
        path = try PathColumns(row: row, building: level == .building ? code : nil)
        version = try row.value("version")
        communityType = try row.value("community_type")
        workstation = try row.value("workstation")
        boundary = try row.value("boundary")
        address = try row.value("address")
    }

    var snapshot: PlaceSnapshot {
        PlaceSnapshot(
            code: code, level: level.rawValue, name: name, parentCode: parentCode, location: path.location, version: version,
            communityType: communityType, workstation: workstation, boundary: boundary, address: address)
    }

    /// The path of a child of this place with `code` at `level`.
    func childPath(code child: String, level childLevel: PlaceLevel, childVersion: Int) -> PathColumns {
        var path = self.path
        switch childLevel {
        case .street: path.street = child
        case .community: path.community = child
        case .grid:
            path.grid = child
            path.gridVersion = childVersion
        case .building: path.building = child
        case .district, .household: break
        }
        return path
    }
}

/// Fields of `PATCH /places/{code}`; absent fields stay as they are.
public struct PlaceChange: Codable, Sendable {
    public var name: String?
    public var parentCode: String?
    public var communityType: String?
    public var workstation: String?
    public var boundary: String?
    public var address: String?
}

/// The hierarchy: districts, streets, communities, grids and buildings, with every version of each.
struct PlaceStore: Sendable {
    let logger: Logger

    func find(_ code: String, lock: Bool = false, on connection: PostgresConnection) async throws -> PlaceRecord? {
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(PlaceRecord.columns) FROM place WHERE code = $1\(lock ? " FOR UPDATE" : "")", binds: PostgresBindings.of(code)),
            logger: logger)
        return try await rows.collect(PlaceRecord.init).first
    }

    func find(codes: [String], on connection: PostgresConnection) async throws -> [String: PlaceRecord] {
        guard !codes.isEmpty else { return [:] }
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(PlaceRecord.columns) FROM place WHERE code = ANY($1)", binds: PostgresBindings.of(Array(Set(codes)))),
            logger: logger)
        return Dictionary(uniqueKeysWithValues: try await rows.collect(PlaceRecord.init).map { ($0.code, $0) })
    }

    /// Registers a new place under an existing parent of the level above.
    func register(_ facts: PlaceFacts, actor: RegistryActor, now: Date, on connection: PostgresConnection) async throws -> PlaceSnapshot {
        if try await find(facts.code, on: connection) != nil { throw RegistryError.alreadyExists(kind: "place", id: facts.code) }
        let path: PathColumns
        if facts.level == .district {
            guard actor.scope.level == .city else {
                throw RegistryError.forbidden("Only the city draws districts; your scope is \(actor.scope).")
            }
            path = PathColumns(district: facts.code)
        } else {
            let parent = try await parent(facts.parentCode!, for: facts.level, field: "parentCode", on: connection)
            path = parent.childPath(code: facts.code, level: facts.level, childVersion: 1)
        }
        try actor.requireScope(path.scopePath, kind: facts.level.rawValue, id: facts.code)
        try await connection.query(
            """
            INSERT INTO place (code, level, name, parent_code, district_code, street_code, community_code, grid_code, grid_version,
                               community_type, workstation, boundary, address, created_at, updated_at)
            VALUES (\(facts.code), \(facts.level.rawValue), \(facts.name), \(facts.parentCode), \(path.district), \(path.street),
                    \(path.community), \(path.grid), \(path.gridVersion), \(facts.communityType?.rawValue), \(facts.workstation),
                    \(facts.boundary), \(facts.address), \(now), \(now))
            """, logger: logger)
        guard let record = try await find(facts.code, on: connection) else { throw RegistryError.notFound(kind: "place", id: facts.code) }
        try await recordVersion(record, now: now, on: connection)
        try await Outbox.append([try RegistryOutbox.entry(PlaceRegistered(place: record.snapshot), key: record.code, time: now)], on: connection, logger: logger)
        return record.snapshot
    }

    /// Applies a change. Moving a place under another parent or giving a grid a new boundary is a
    /// redraw: a new version, with the old one kept, and everything below follows the place.
    func update(
        _ code: String, change: PlaceChange, actor: RegistryActor, now: Date, on connection: PostgresConnection
    ) async throws -> (PlaceSnapshot, changed: Bool) {
        guard let current = try await find(code, lock: true, on: connection) else { throw RegistryError.notFound(kind: "place", id: code) }
        try actor.requireScope(current.path.scopePath, kind: current.level.rawValue, id: code)
        let facts = try validated { () throws(InvalidRecord) in
            try PlaceFacts(
                code: code, level: current.level.rawValue, name: change.name ?? current.name, parentCode: change.parentCode ?? current.parentCode,
                communityType: change.communityType ?? current.communityType, workstation: change.workstation ?? current.workstation,
                boundary: change.boundary ?? current.boundary, address: change.address ?? current.address)
        }
        let reparented = facts.parentCode != current.parentCode
        let redrawn = reparented || facts.boundary != current.boundary
        var updated = current
        updated.name = facts.name
        updated.communityType = facts.communityType?.rawValue
        updated.workstation = facts.workstation
        updated.boundary = facts.boundary
        updated.address = facts.address
        if redrawn { updated.version += 1 }
        if reparented {
            let parent = try await parent(facts.parentCode!, for: current.level, field: "parentCode", on: connection)
            updated.parentCode = parent.code
            updated.path = parent.childPath(code: code, level: current.level, childVersion: updated.version)
            try actor.requireScope(updated.path.scopePath, kind: current.level.rawValue, id: code)
        } else if current.level == .grid {
            updated.path.gridVersion = updated.version
        }
        guard updated.snapshot != current.snapshot else { return (current.snapshot, false) }
        let path = updated.path
        try await connection.query(
            """
            UPDATE place SET name = \(updated.name), parent_code = \(updated.parentCode), district_code = \(path.district),
                street_code = \(path.street), community_code = \(path.community), grid_code = \(path.grid),
                grid_version = \(path.gridVersion), version = \(updated.version), community_type = \(updated.communityType),
                workstation = \(updated.workstation), boundary = \(updated.boundary), address = \(updated.address), updated_at = \(now)
            WHERE code = \(code)
            """, logger: logger)
        if redrawn {
            try await connection.query(
                "UPDATE place_version SET valid_to = \(now) WHERE code = \(code) AND version = \(current.version)", logger: logger)
            try await recordVersion(updated, now: now, on: connection)
            try await carryDescendants(of: updated, on: connection)
        } else {
            let snapshot = String(decoding: try EventCoding.encode(updated.snapshot), as: UTF8.self)
            try await connection.query(
                "UPDATE place_version SET snapshot = \(snapshot)::json WHERE code = \(code) AND version = \(current.version)", logger: logger)
        }
        try await Outbox.append(
            [try RegistryOutbox.entry(PlaceUpdated(place: updated.snapshot, redrawn: redrawn), key: code, time: now)], on: connection, logger: logger)
        return (updated.snapshot, true)
    }

    /// Everything below a redrawn place takes its new path; a redrawn grid's version reaches its
    /// buildings, households and residents.
    private func carryDescendants(of place: PlaceRecord, on connection: PostgresConnection) async throws {
        let path = place.path
        let tables = ["place", "household", "resident", "organisation", "person_role"]
        let withGrid: Set<String> = ["place", "household", "resident", "person_role"]
        for table in tables {
            let query: PostgresQuery
            switch place.level {
            case .street:
                query = "UPDATE \(unescaped: table) SET district_code = \(path.district) WHERE street_code = \(place.code)"
            case .community:
                query = "UPDATE \(unescaped: table) SET district_code = \(path.district), street_code = \(path.street) WHERE community_code = \(place.code)"
            case .grid where withGrid.contains(table):
                let version = table == "person_role" ? "" : ", grid_version = \(path.gridVersion ?? 1)"
                query = PostgresQuery(
                    unsafeSQL: "UPDATE \(table) SET district_code = $1, street_code = $2, community_code = $3\(version) WHERE grid_code = $4",
                    binds: PostgresBindings.of(path.district, path.street ?? "", path.community ?? "", place.code))
            case .building where table == "household" || table == "resident":
                query = PostgresQuery(
                    unsafeSQL: """
                        UPDATE \(table) SET district_code = $1, street_code = $2, community_code = $3, grid_code = $4, grid_version = $5
                        WHERE building_code = $6
                        """,
                    binds: PostgresBindings.of(path.district, path.street ?? "", path.community ?? "", path.grid ?? "", path.gridVersion ?? 1, place.code))
            default: continue
            }
            try await connection.query(query, logger: logger)
        }
    }

    private func parent(_ code: String, for level: PlaceLevel, field: String, on connection: PostgresConnection) async throws -> PlaceRecord {
        guard let parent = try await find(code, on: connection) else {
            throw RegistryError.unknownReference(field: field, kind: level.parent!.rawValue, id: code)
        }
        guard parent.level == level.parent else {
            throw RegistryError.invalid([
                FieldIssue(field, "\(code) is a \(parent.level.rawValue); a \(level.rawValue) hangs under a \(level.parent!.rawValue)")
            ])
        }
        return parent
    }

    private func recordVersion(_ record: PlaceRecord, now: Date, on connection: PostgresConnection) async throws {
        let snapshot = String(decoding: try EventCoding.encode(record.snapshot), as: UTF8.self)
        try await connection.query(
            "INSERT INTO place_version (code, version, snapshot, valid_from) VALUES (\(record.code), \(record.version), \(snapshot)::json, \(now))",
            logger: logger)
    }

    // MARK: reads

    struct Filter: Sendable {
        var level: String?
        var parent: String?
        var place = PlacePath()
    }

    func list(_ filter: Filter, page: PageRequest, on connection: PostgresConnection) async throws -> Page<PlaceSnapshot> {
        var query = QueryBuilder()
        query.filter(filter.level) { "level = \($0)" }
        query.filter(filter.parent) { "parent_code = \($0)" }
        query.filter(filter.place.district) { "district_code = \($0)" }
        query.filter(filter.place.street) { "street_code = \($0)" }
        query.filter(filter.place.community) { "community_code = \($0)" }
        let order = query.keyset(after: page.after, column: "code", limit: page.limit)
        let rows = try await connection.query(
            query.query("SELECT \(PlaceRecord.columns) FROM place \(query.whereClause) \(order)"), logger: logger)
        return Page(fetched: try await rows.collect(PlaceRecord.init).map(\.snapshot), limit: page.limit, key: \.code)
    }

    struct VersionView: Codable, Sendable {
        var version: Int
        var validFrom: Date
        var validTo: Date?
        var place: PlaceSnapshot
    }

    func versions(_ code: String, on connection: PostgresConnection) async throws -> [VersionView] {
        let rows = try await connection.query(
            "SELECT version, valid_from, valid_to, snapshot::text FROM place_version WHERE code = \(code) ORDER BY version", logger: logger)
        var versions: [VersionView] = []
        for try await (version, from, to, snapshot) in rows.decode((Int, Date, Date?, String).self) {
            versions.append(
                VersionView(version: version, validFrom: from, validTo: to, place: try EventCoding.decoder.decode(PlaceSnapshot.self, from: Data(snapshot.utf8))))
        }
        return versions
    }

    /// A place as it was drawn at `version`.
    func version(_ code: String, _ version: Int, on connection: PostgresConnection) async throws -> VersionView? {
        try await versions(code, on: connection).first { $0.version == version }
    }

    struct SizeFinding: Codable, Sendable {
        var code: String
        var level: String
        var name: String
        var location: PlaceLocation
        var households: Int
        var policy: String
        var verdict: String
    }

    /// Communities and grids whose household count is outside policy (002, 001): reported, not refused.
    func sizeReport(level: PlaceLevel?, place: PlacePath, policy: SizePolicy, on connection: PostgresConnection) async throws -> [SizeFinding] {
        var findings: [SizeFinding] = []
        for current in [PlaceLevel.community, .grid] where level == nil || level == current {
            var query = QueryBuilder()
            query.filter("p.level = '\(current.rawValue)'")
            query.filter(place.district) { "p.district_code = \($0)" }
            query.filter(place.street) { "p.street_code = \($0)" }
            query.filter(place.community) { "p.community_code = \($0)" }
            let column = current == .grid ? "grid_code" : "community_code"
            let rows = try await connection.query(
                query.query(
                    """
                    SELECT \(PlaceRecord.columns.split(separator: ",").map { "p." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")),
                           (SELECT count(*) FROM household h WHERE h.\(column) = p.code) AS households
                    FROM place p \(query.whereClause) ORDER BY p.code
                    """), logger: logger)
            let range = current == .grid ? policy.grid : policy.community
            for row in try await rows.collect({ row in (try PlaceRecord(row: row), try row.value("households", as: Int.self)) }) {
                guard let verdict = policy.verdict(level: current, households: row.1), verdict != .withinPolicy else { continue }
                findings.append(
                    SizeFinding(
                        code: row.0.code, level: current.rawValue, name: row.0.name, location: row.0.path.location, households: row.1,
                        policy: "\(range.lowerBound)-\(range.upperBound) households", verdict: verdict.rawValue))
            }
        }
        return findings
    }
}
