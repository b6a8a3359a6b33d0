import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import RegistryCore
import ServiceRuntime
import Storage

/// How a write treats a record that exists already.
enum WriteMode: Sendable {
    /// API create: the id must be new.
    case create
    /// District `registered`: create, or bring up to date.
    case upsert
    /// API or district `updated`: the record must exist.
    case update
}

/// A household inserted by someone else between the look and the write.
struct HouseholdRace: Error, CustomStringConvertible {
    var description: String { "a household was registered concurrently; the write is retried" }
}

/// What one record's write came to.
enum WriteOutcome<Snapshot: Sendable>: Sendable {
    case created(Snapshot)
    case updated(Snapshot)
    case moved(Snapshot)
    case unchanged(Snapshot)

    var snapshot: Snapshot {
        switch self {
        case .created(let value), .updated(let value), .moved(let value), .unchanged(let value): value
        }
    }

    /// For metrics.
    var label: String {
        switch self {
        case .created: "created"
        case .updated: "updated"
        case .moved: "moved"
        case .unchanged: "unchanged"
        }
    }
}

struct HouseholdRecord: Sendable {
    var id: UUID
    var address: String
    var path: PathColumns

    static let columns = "id, address, building_code, grid_code, grid_version, community_code, street_code, district_code"

    init(id: UUID, address: String, path: PathColumns) {
        self.id = id
        self.address = address
        self.path = path
    }

    init(row: PostgresRandomAccessRow) throws {
        id = try row.value("id")
        address = try row.value("address")
        path = try PathColumns(row: row, building: try row.value("building_code"))
    }

    var snapshot: HouseholdSnapshot { HouseholdSnapshot(id: id, address: address, location: path.location) }
}

/// Households (户), attached to buildings. Written in bulk: one statement per kind of change for a
/// whole batch, which is what makes a district's import fast.
struct HouseholdStore: Sendable {
    let logger: Logger

    /// The households with the given ids; `lock` takes their row locks in id order (so two writers of
    /// overlapping batches cannot deadlock). They come back as one row of column arrays: a district
    /// import looks up a thousand households a batch, and read row by row the rows cost more than the
    /// lookup.
    func find(ids: [UUID], lock: Bool = false, on connection: PostgresConnection) async throws -> [UUID: HouseholdRecord] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await connection.query(
            """
            SELECT array_agg(id), array_agg(address), array_agg(building_code), array_agg(grid_code), array_agg(grid_version),
                   array_agg(community_code), array_agg(street_code), array_agg(district_code)
            FROM (SELECT * FROM household WHERE id = ANY(\(ids)::uuid[]) \(unescaped: lock ? "ORDER BY id FOR UPDATE" : "")) AS found
            """, logger: logger)
        var found: [UUID: HouseholdRecord] = [:]
        for try await (ids, addresses, buildings, grids, versions, communities, streets, districts)
            in rows.decode(([UUID]?, [String]?, [String]?, [String]?, [Int32]?, [String]?, [String]?, [String]?).self)
        {
            guard let ids, let addresses, let buildings, let grids, let versions, let communities, let streets, let districts else { break }
            found.reserveCapacity(ids.count)
            for index in ids.indices {
                let path = PathColumns(
                    district: districts[index], street: streets[index], community: communities[index], grid: grids[index],
                    gridVersion: Int(versions[index]), building: buildings[index])
                found[ids[index]] = HouseholdRecord(id: ids[index], address: addresses[index], path: path)
            }
        }
        return found
    }

    /// Writes `records` (ids unique within the call); each gets its outcome or the reason it was refused.
    /// Refused records change nothing; the others are written.
    func write(
        _ records: [HouseholdFacts], mode: WriteMode, actor: RegistryActor, reason: String? = nil, now: Date,
        on connection: PostgresConnection
    ) async throws -> [Result<WriteOutcome<HouseholdSnapshot>, RegistryError>] {
        let buildings = try await PlaceStore(logger: logger).find(codes: records.map(\.buildingCode), on: connection)
        // A create needs no look first: the insert itself finds an id that is taken (below).
        let existing = mode == .create ? [:] : try await find(ids: records.map(\.id), lock: true, on: connection)
        var results: [Result<WriteOutcome<HouseholdSnapshot>, RegistryError>] = []
        var inserts: [HouseholdRecord] = [], updates: [HouseholdRecord] = [], moves: [(HouseholdRecord, from: PathColumns)] = []
        var created: Set<UUID> = []
        for facts in records {
            do throws(RegistryError) {
                // Two creates of one id in one write (registrations sharing a transaction): the first wins.
                if mode == .create, !created.insert(facts.id).inserted {
                    throw .alreadyExists(kind: "household", id: facts.id.uuidString.lowercased())
                }
                guard let building = buildings[facts.buildingCode] else {
                    throw .unknownReference(field: "buildingCode", kind: "building", id: facts.buildingCode)
                }
                guard building.level == .building else {
                    throw .invalid([FieldIssue("buildingCode", "\(facts.buildingCode) is a \(building.level.rawValue); a household lives in a building")])
                }
                try actor.requireScope(building.path.scopePath, kind: "building", id: building.code)
                let record = HouseholdRecord(id: facts.id, address: facts.address, path: building.path)
                try mode.check(exists: existing[facts.id] != nil, kind: "household", id: facts.id)
                switch existing[facts.id] {
                case nil:
                    inserts.append(record)
                    results.append(.success(.created(record.snapshot)))
                case .some(let old):
                    try actor.requireScope(old.path.scopePath, kind: "household", id: facts.id.uuidString.lowercased())
                    if old.path.building != record.path.building {
                        moves.append((record, old.path))
                        updates.append(record)
                        results.append(.success(.moved(record.snapshot)))
                    } else if old.address != record.address {
                        updates.append(record)
                        results.append(.success(.updated(record.snapshot)))
                    } else {
                        results.append(.success(.unchanged(old.snapshot)))
                    }
                }
            } catch {
                results.append(.failure(error))
            }
        }
        let inserted = try await insert(inserts, now: now, on: connection)
        if inserted.count < inserts.count {
            // Only a create skipped the look; elsewhere a row that appeared meanwhile is a race: the
            // whole write fails and is tried again, and then finds it.
            guard mode == .create else { throw HouseholdRace() }
            for (index, result) in results.enumerated() {
                if case .success(.created(let household)) = result, !inserted.contains(household.id) {
                    results[index] = .failure(.alreadyExists(kind: "household", id: household.id.uuidString.lowercased()))
                }
            }
        }
        try await update(updates, now: now, on: connection)
        try await recordMoves(moves, recordedBy: actor.recordedBy, reason: reason, now: now, on: connection)
        var events: [OutboxEntry] = []
        for case .success(let outcome) in results {
            let key = outcome.snapshot.id.uuidString.lowercased()
            switch outcome {
            case .created(let household): events.append(try RegistryOutbox.entry(HouseholdRegistered(household: household), key: key, time: now))
            case .updated(let household): events.append(try RegistryOutbox.entry(HouseholdUpdated(household: household), key: key, time: now))
            case .moved(let household):
                let from = moves.first { $0.0.id == household.id }!.from
                events.append(try RegistryOutbox.entry(HouseholdMoved(household: household, from: from.location), key: key, time: now))
            case .unchanged: break
            }
        }
        try await Outbox.append(events, on: connection, logger: logger)
        return results
    }

    private func columns(_ records: [HouseholdRecord]) -> PathArrays {
        PathArrays(records.map(\.path))
    }

    /// Inserts the new households; returns the ids written (an id taken meanwhile, or by a create
    /// that did not look first, is left out and written nothing).
    private func insert(_ records: [HouseholdRecord], now: Date, on connection: PostgresConnection) async throws -> Set<UUID> {
        guard !records.isEmpty else { return [] }
        let path = columns(records)
        let rows = try await connection.query(
            """
            INSERT INTO household (id, address, building_code, grid_code, grid_version, community_code, street_code, district_code, created_at, updated_at)
            SELECT * , \(now)::timestamptz, \(now)::timestamptz
            FROM unnest(\(records.map(\.id))::uuid[], \(records.map(\.address))::text[], \(path.building)::text[], \(path.grid)::text[],
                        \(path.gridVersion)::int4[], \(path.community)::text[], \(path.street)::text[], \(path.district)::text[])
            ON CONFLICT (id) DO NOTHING
            RETURNING id
            """, logger: logger)
        var written: Set<UUID> = []
        for try await id in rows.decode(UUID.self) { written.insert(id) }
        return written
    }

    private func update(_ records: [HouseholdRecord], now: Date, on connection: PostgresConnection) async throws {
        guard !records.isEmpty else { return }
        let path = columns(records)
        try await connection.query(
            """
            UPDATE household h SET address = u.address, building_code = u.building, grid_code = u.grid, grid_version = u.grid_version,
                community_code = u.community, street_code = u.street, district_code = u.district, updated_at = \(now)
            FROM unnest(\(records.map(\.id))::uuid[], \(records.map(\.address))::text[], \(path.building)::text[], \(path.grid)::text[],
                        \(path.gridVersion)::int4[], \(path.community)::text[], \(path.street)::text[], \(path.district)::text[])
                 AS u(id, address, building, grid, grid_version, community, street, district)
            WHERE h.id = u.id
            """, logger: logger)
    }

    /// A moved household's history row, and its residents' paths follow it.
    private func recordMoves(
        _ moves: [(HouseholdRecord, from: PathColumns)], recordedBy: String, reason: String?, now: Date, on connection: PostgresConnection
    ) async throws {
        guard !moves.isEmpty else { return }
        let path = PathArrays(moves.map(\.0.path))
        try await connection.query(
            """
            INSERT INTO household_move (household_id, from_location, to_location, moved_at, recorded_by, reason)
            SELECT m.id, m.from_location::json, m.to_location::json, \(now), \(recordedBy), \(reason)
            FROM unnest(\(moves.map(\.0.id))::uuid[], \(moves.map { $0.from.json() })::text[], \(moves.map { $0.0.path.json() })::text[])
                 AS m(id, from_location, to_location)
            """, logger: logger)
        try await connection.query(
            """
            UPDATE resident r SET building_code = u.building, grid_code = u.grid, grid_version = u.grid_version,
                community_code = u.community, street_code = u.street, district_code = u.district, updated_at = \(now)
            FROM unnest(\(moves.map(\.0.id))::uuid[], \(path.building)::text[], \(path.grid)::text[], \(path.gridVersion)::int4[],
                        \(path.community)::text[], \(path.street)::text[], \(path.district)::text[])
                 AS u(id, building, grid, grid_version, community, street, district)
            WHERE r.household_id = u.id
            """, logger: logger)
    }

    // MARK: reads

    struct MoveView: Codable, Sendable {
        var from: PlaceLocation
        var to: PlaceLocation
        var movedAt: Date
        var recordedBy: String
        var reason: String?
    }

    struct HouseholdView: Codable, Sendable {
        var household: HouseholdSnapshot
        var residents: Int
        var moves: [MoveView]
    }

    func detail(_ id: UUID, on connection: PostgresConnection) async throws -> (HouseholdView, PathColumns)? {
        guard let record = try await find(ids: [id], on: connection)[id] else { return nil }
        let count = try await connection.query("SELECT count(*) FROM resident WHERE household_id = \(id)", logger: logger)
        var residents = 0
        for try await value in count.decode(Int.self) { residents = value }
        let rows = try await connection.query(
            "SELECT from_location::text, to_location::text, moved_at, recorded_by, reason FROM household_move WHERE household_id = \(id) ORDER BY id",
            logger: logger)
        var moves: [MoveView] = []
        for try await (from, to, at, by, reason) in rows.decode((String, String, Date, String, String?).self) {
            moves.append(
                MoveView(
                    from: try EventCoding.decoder.decode(PlaceLocation.self, from: Data(from.utf8)),
                    to: try EventCoding.decoder.decode(PlaceLocation.self, from: Data(to.utf8)), movedAt: at, recordedBy: by, reason: reason))
        }
        return (HouseholdView(household: record.snapshot, residents: residents, moves: moves), record.path)
    }

    struct Filter: Sendable {
        var place = PlacePath()
        var grid: String?
        var building: String?
    }

    func list(_ filter: Filter, page: PageRequest, on connection: PostgresConnection) async throws -> Page<HouseholdSnapshot> {
        var query = QueryBuilder()
        query.filter(filter.place.district) { "district_code = \($0)" }
        query.filter(filter.place.street) { "street_code = \($0)" }
        query.filter(filter.place.community) { "community_code = \($0)" }
        query.filter(filter.grid) { "grid_code = \($0)" }
        query.filter(filter.building) { "building_code = \($0)" }
        let order = query.keyset(after: page.after.flatMap(UUID.init(uuidString:)), column: "id", limit: page.limit)
        let rows = try await connection.query(
            query.query("SELECT \(HouseholdRecord.columns) FROM household \(query.whereClause) \(order)"), logger: logger)
        return Page(fetched: try await rows.collect(HouseholdRecord.init).map(\.snapshot), limit: page.limit) { $0.id.uuidString }
    }
}

/// Path columns of many records as parallel arrays, for `unnest`.
struct PathArrays {
    var district: [String] = [], street: [String] = [], community: [String] = [], grid: [String] = [], gridVersion: [Int32] = []
    var building: [String] = []

    init(_ paths: [PathColumns]) {
        for path in paths {
            district.append(path.district)
            street.append(path.street ?? "")
            community.append(path.community ?? "")
            grid.append(path.grid ?? "")
            gridVersion.append(Int32(path.gridVersion ?? 1))
            building.append(path.building ?? "")
        }
    }
}

/// A household registered through the API, with who registered it: the unit `GroupCommit` batches.
struct HouseholdRegistration: Sendable {
    var facts: HouseholdFacts
    var actor: RegistryActor

    /// Writes registrations in one transaction: one store write per caller, since the store checks
    /// each record against one caller's scope.
    static func write(
        _ registrations: [HouseholdRegistration], now: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Result<HouseholdSnapshot, any Error>] {
        var results = [Result<HouseholdSnapshot, any Error>?](repeating: nil, count: registrations.count)
        let byCaller = Dictionary(grouping: registrations.indices) { index in
            let actor = registrations[index].actor
            return "\(actor.subject)\u{0}\(actor.role.rawValue)\u{0}\(actor.scope)"
        }
        for indices in byCaller.values {
            let written = try await HouseholdStore(logger: logger).write(
                indices.map { registrations[$0].facts }, mode: .create, actor: registrations[indices[0]].actor, now: now, on: connection)
            for (index, outcome) in zip(indices, written) {
                results[index] = outcome.map(\.snapshot).mapError { $0 }
            }
        }
        return results.map { $0! }  // every index belongs to one caller's group
    }
}
