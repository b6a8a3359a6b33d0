import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import RegistryCore
import ServiceRuntime
import Storage

struct ResidentRecord: Sendable, Equatable {
    var id: UUID
    var householdId: UUID
    var name: String
    /// Hex of the keyed digest.
    var digest: String
    var masked: String
    var birthDate: String
    var phone: String?
    var residency: String
    var floating: FloatingFacts?
    var groups: [String]
    var sensitiveGroups: [String]
    var path: PathColumns

    static let columns = """
        id, household_id, name, encode(national_id_digest, 'hex') AS digest, national_id_masked, birth_date::text AS birth_date, phone,
        residency, floating::text AS floating, groups, sensitive_groups, building_code, grid_code, grid_version, community_code,
        street_code, district_code
        """

    init(
        id: UUID, householdId: UUID, name: String, digest: String, masked: String, birthDate: String, phone: String?, residency: String,
        floating: FloatingFacts?, groups: [String], sensitiveGroups: [String], path: PathColumns
    ) {
        self.id = id
        self.householdId = householdId
        self.name = name
        self.digest = digest
        self.masked = masked
        self.birthDate = birthDate
        self.phone = phone
        self.residency = residency
        self.floating = floating
        self.groups = groups
        self.sensitiveGroups = sensitiveGroups
        self.path = path
    }

    init(row: PostgresRandomAccessRow) throws {
        id = try row.value("id")
        householdId = try row.value("household_id")
        name = try row.value("name")
        digest = try row.value("digest")
        masked = try row.value("national_id_masked")
        birthDate = try row.value("birth_date")
        phone = try row.value("phone")
        residency = try row.value("residency")
        floating = try (row.value("floating", as: String?.self)).map { try JSONDecoder().decode(FloatingFacts.self, from: Data($0.utf8)) }
        groups = try row.value("groups")
        sensitiveGroups = try row.value("sensitive_groups")
        path = try PathColumns(row: row, building: try row.value("building_code"))
    }

    /// A resident as `facts` describe them, living in `household`.
    init(new facts: ResidentFacts, nationalID: NationalID, digest: String, household: HouseholdRecord) {
        self.init(
            id: facts.id, householdId: facts.householdId, name: facts.name, digest: digest, masked: nationalID.masked,
            birthDate: nationalID.birthDay, phone: facts.phone, residency: facts.residency.rawValue, floating: facts.floating,
            groups: facts.ordinaryGroups, sensitiveGroups: facts.sensitiveGroups, path: household.path)
    }

    /// The Kafka key of the resident's events.
    var eventKey: String { id.uuidString.lowercased() }

    var snapshot: ResidentSnapshot {
        ResidentSnapshot(
            id: id, householdId: householdId, name: name, birthYear: Int(birthDate.prefix(4)) ?? 0, residency: residency,
            reachableByPhone: phone != nil, groups: groups, location: path.location)
    }

    /// Everything but the place, which follows the household.
    func sameFacts(as other: ResidentRecord) -> Bool {
        var a = self, b = other
        a.path = b.path
        a.householdId = b.householdId
        return a == b
    }
}

/// Who may record sensitive-group membership: those who may read it, and district systems (whose
/// records carry it from the district's own case files).
let sensitiveWriters = RegistryAccess.sensitiveReaders.union([.districtIntegrator])

/// Residents: registered and floating, their groups, and their moves between households.
struct ResidentStore: Sendable {
    let logger: Logger
    let digest: NationalIDDigest

    func find(ids: [UUID], lock: Bool = false, on connection: PostgresConnection) async throws -> [UUID: ResidentRecord] {
        try await rows(
            of: "resident", columns: ResidentRecord.columns, ids: ids, lock: lock, logger: logger, on: connection, id: \.id,
            make: ResidentRecord.init)
    }

    /// Writes `records` (ids unique within the call). A record without a national ID keeps the stored
    /// one (partial updates); an actor who may not see sensitive groups leaves them as they are.
    ///
    /// Unless `mode` is `.update`, every record is first tried as a new resident: one statement inserts
    /// the rows whose id and national ID are both free. Only the records left over (residents already
    /// stored, numbers already taken) are looked up, locked and compared, so a district's first import
    /// spends no statement on them. Outcomes are those of taking the records one by one, in order.
    func write(
        _ records: [ResidentFacts], mode: WriteMode, actor: RegistryActor, reason: String? = nil, now: Date,
        on connection: PostgresConnection
    ) async throws -> [Result<WriteOutcome<ResidentRecord>, RegistryError>] {
        let key = digest
        // The keyed digests (HMAC) are worked out on the other core while the households are read.
        async let digested = OtherCore.run { records.map { facts in facts.nationalID.map { hex(key.digest($0)) } } }
        let households = try await HouseholdStore(logger: logger).find(ids: Array(Set(records.map(\.householdId))), on: connection)
        let digests = await digested
        let mayWriteSensitive = sensitiveWriters.contains(actor.role)

        var results = [Result<WriteOutcome<ResidentRecord>, RegistryError>?](repeating: nil, count: records.count)
        var homes = [HouseholdRecord?](repeating: nil, count: records.count)
        var newcomers: [(index: Int, record: ResidentRecord)] = []
        for (index, facts) in records.enumerated() {
            do throws(RegistryError) {
                let household = try placed(facts, in: households, actor: actor, mayWriteSensitive: mayWriteSensitive)
                homes[index] = household
                if mode != .update, let nationalID = facts.nationalID, let digestHex = digests[index] {
                    newcomers.append((index, ResidentRecord(new: facts, nationalID: nationalID, digest: digestHex, household: household)))
                }
            } catch {
                results[index] = .failure(error)
            }
        }
        // Their events are encoded on the other core while the rows are written: in a district import
        // encoding is a good part of the time a batch holds its transaction.
        let candidates = newcomers
        async let newcomerEvents = OtherCore.run {
            try candidates.map { try RegistryOutbox.entry(ResidentRegistered(resident: $0.record.snapshot), key: $0.record.eventKey, time: now) }
        }
        let inserted = try await insertIfFree(newcomers.map(\.record), now: now, on: connection)
        var newcomerAt: [String: Int] = [:]
        for (index, record) in newcomers where inserted.contains(record.id) {
            results[index] = .success(.created(record))
            newcomerAt[record.digest] = index
        }

        // The rest in order, as before the fast path: stored residents, clashes, and every update.
        var existing: [UUID: ResidentRecord] = [:]
        var inserts: [ResidentRecord] = [], updates: [ResidentRecord] = [], moves: [(ResidentRecord, from: ResidentRecord)] = []
        var sensitiveChanged: [UUID] = [], withdrawn: [UUID] = []
        let rest = records.indices.filter { results[$0] == nil }
        if !rest.isEmpty {
            existing = try await find(ids: rest.map { records[$0].id }, lock: true, on: connection)
            let owners = try await owners(of: rest.compactMap { digests[$0] }, on: connection)
            var claimed: [String: UUID] = [:]
            for index in rest {
                let facts = records[index]
                guard let household = homes[index] else { continue }
                do throws(RegistryError) {
                    let old = existing[facts.id]
                    try mode.check(exists: old != nil, kind: "resident", id: facts.id)
                    if let old, !actor.scope.covers(old.path.scopePath) {
                        try actor.requireScope(old.path.scopePath, kind: "resident", id: facts.id.uuidString.lowercased())
                    }
                    if let digestHex = digests[index] {
                        if let later = newcomerAt[digestHex], later > index {
                            // Inserted above, but later in the batch than this record, which claims the number first.
                            results[later] = .failure(.duplicateNationalID(field: "nationalId", existingResident: facts.id))
                            withdrawn.append(records[later].id)
                            newcomerAt[digestHex] = nil
                            claimed[digestHex] = facts.id
                        }
                        let owner = claimed[digestHex] ?? owners[digestHex]
                        if let owner, owner != facts.id { throw .duplicateNationalID(field: "nationalId", existingResident: owner) }
                        claimed[digestHex] = facts.id
                    }
                    guard let nationalID = facts.nationalID, let digestHex = digests[index] else {
                        guard let old else { throw .invalid([FieldIssue("nationalId", "is required to register a resident")]) }
                        let record = merge(facts, household: household, old: old, mayWriteSensitive: mayWriteSensitive)
                        results[index] = classify(record, old: old, updates: &updates, moves: &moves, sensitiveChanged: &sensitiveChanged)
                        continue
                    }
                    var record = ResidentRecord(new: facts, nationalID: nationalID, digest: digestHex, household: household)
                    if let old {
                        if !mayWriteSensitive { record.sensitiveGroups = old.sensitiveGroups }
                        results[index] = classify(record, old: old, updates: &updates, moves: &moves, sensitiveChanged: &sensitiveChanged)
                    } else {
                        inserts.append(record)
                        results[index] = .success(.created(record))
                    }
                } catch {
                    results[index] = .failure(error)
                }
            }
        }
        let outcomes = results.map { $0! }
        let created = Set(newcomerAt.values), stored = existing
        async let restEvents = rest.isEmpty ? [] : OtherCore.run {
            try rest.compactMap { index in try Self.event(of: outcomes[index], existing: stored, now: now).map { (index, $0) } }
        }
        if !withdrawn.isEmpty {
            try await connection.query("DELETE FROM resident WHERE id = ANY(\(withdrawn)::uuid[])", logger: logger)
        }
        // A stored row can appear between the look and this insert only through a concurrent writer:
        // the whole write is refused (a district batch is tried again, and then finds it).
        guard try await insertIfFree(inserts, now: now, on: connection).count == inserts.count else {
            throw RegistryError.conflict("A resident of this write was registered by someone else meanwhile; send it again.")
        }
        try await update(updates, now: now, on: connection)
        try await recordMoves(moves, recordedBy: actor.recordedBy, reason: reason, now: now, on: connection)
        sensitiveChanged += outcomes.indices.compactMap { index in
            guard case .success(.created(let record)) = outcomes[index], !record.sensitiveGroups.isEmpty else { return nil }
            return record.id
        }
        if !sensitiveChanged.isEmpty {
            try await AuditLog(logger: logger).append(
                sensitiveChanged.map { AuditEntry(actor: actor, action: .sensitiveGroupsWritten, residentId: $0, reason: reason) }, on: connection)
        }
        var events = zip(newcomers, try await newcomerEvents).compactMap { created.contains($0.index) ? ($0.index, $1) : nil }
        events += try await restEvents
        events.sort { $0.0 < $1.0 }
        try await Outbox.append(events.map(\.1), on: connection, logger: logger)
        return outcomes
    }

    /// The household a record goes to, once the checks that need no stored resident pass.
    private func placed(
        _ facts: ResidentFacts, in households: [UUID: HouseholdRecord], actor: RegistryActor, mayWriteSensitive: Bool
    ) throws(RegistryError) -> HouseholdRecord {
        if !facts.sensitiveGroups.isEmpty && !mayWriteSensitive {
            throw .forbidden("The role \(actor.role.rawValue) may not record sensitive-group membership (\(facts.sensitiveGroups.joined(separator: ", "))).")
        }
        guard let household = households[facts.householdId] else {
            throw .unknownReference(field: "householdId", kind: "household", id: facts.householdId.uuidString.lowercased())
        }
        if !actor.scope.covers(household.path.scopePath) {
            try actor.requireScope(household.path.scopePath, kind: "household", id: facts.householdId.uuidString.lowercased())
        }
        return household
    }

    /// The registry event of one write's outcome, if it has one.
    private static func event(
        of result: Result<WriteOutcome<ResidentRecord>, RegistryError>, existing: [UUID: ResidentRecord], now: Date
    ) throws -> OutboxEntry? {
        guard case .success(let outcome) = result else { return nil }
        let resident = outcome.snapshot
        switch outcome {
        case .created: return try RegistryOutbox.entry(ResidentRegistered(resident: resident.snapshot), key: resident.eventKey, time: now)
        case .updated:
            // A change to sensitive groups alone is not published: other services never see them.
            if let old = existing[resident.id], old.snapshot == resident.snapshot { return nil }
            return try RegistryOutbox.entry(ResidentUpdated(resident: resident.snapshot), key: resident.eventKey, time: now)
        case .moved:
            let from = existing[resident.id]
            return try RegistryOutbox.entry(
                ResidentMoved(resident: resident.snapshot, fromHouseholdId: from?.householdId, from: from?.path.location), key: resident.eventKey,
                time: now)
        case .unchanged: return nil
        }
    }

    /// A partial update: the stored number and, unless the caller may see them, sensitive groups stay.
    private func merge(_ facts: ResidentFacts, household: HouseholdRecord, old: ResidentRecord, mayWriteSensitive: Bool) -> ResidentRecord {
        var record = old
        record.householdId = facts.householdId
        record.name = facts.name
        record.phone = facts.phone
        record.residency = facts.residency.rawValue
        record.floating = facts.floating
        record.groups = facts.ordinaryGroups
        if mayWriteSensitive { record.sensitiveGroups = facts.sensitiveGroups }
        record.path = household.path
        return record
    }

    private func classify(
        _ record: ResidentRecord, old: ResidentRecord, updates: inout [ResidentRecord], moves: inout [(ResidentRecord, from: ResidentRecord)],
        sensitiveChanged: inout [UUID]
    ) -> Result<WriteOutcome<ResidentRecord>, RegistryError> {
        if record.sensitiveGroups != old.sensitiveGroups { sensitiveChanged.append(record.id) }
        if record.householdId != old.householdId {
            updates.append(record)
            moves.append((record, old))
            return .success(.moved(record))
        } else if !record.sameFacts(as: old) {
            updates.append(record)
            return .success(.updated(record))
        } else {
            return .success(.unchanged(old))
        }
    }

    private func owners(of digests: [String], on connection: PostgresConnection) async throws -> [String: UUID] {
        guard !digests.isEmpty else { return [:] }
        let rows = try await connection.query(
            """
            SELECT encode(national_id_digest, 'hex'), id FROM resident
            WHERE national_id_digest = ANY(ARRAY(SELECT decode(d, 'hex') FROM unnest(\(digests)::text[]) AS d))
            """, logger: logger)
        var owners: [String: UUID] = [:]
        for try await (digest, id) in rows.decode((String, UUID).self) { owners[digest] = id }
        return owners
    }

    /// The columns of many residents as parallel arrays for `unnest` (groups joined with commas: group
    /// names never hold one, and PostgreSQL arrays of arrays must be rectangular).
    private struct Columns {
        var ids: [UUID] = [], households: [UUID] = [], names: [String] = [], digests: [String] = [], masked: [String] = []
        var births: [String] = [], phones: [String] = [], residencies: [String] = [], floating: [String] = []
        var groups: [String] = [], sensitive: [String] = []
        var path: PathArrays

        init(_ records: [ResidentRecord]) {
            path = PathArrays(records.map(\.path))
            for record in records {
                ids.append(record.id)
                households.append(record.householdId)
                names.append(record.name)
                digests.append(record.digest)
                masked.append(record.masked)
                births.append(record.birthDate)
                phones.append(record.phone ?? "")
                residencies.append(record.residency)
                floating.append(record.floating.map { String(decoding: try! EventCoding.encode($0), as: UTF8.self) } ?? "")
                groups.append(record.groups.joined(separator: ","))
                sensitive.append(record.sensitiveGroups.joined(separator: ","))
            }
        }
    }

    /// Inserts the rows whose id and national ID are free (the others are left out, not an error);
    /// returns the ids inserted.
    private func insertIfFree(_ records: [ResidentRecord], now: Date, on connection: PostgresConnection) async throws -> Set<UUID> {
        guard !records.isEmpty else { return [] }
        let c = Columns(records)
        return try await connection.query(
            """
            WITH inserted AS (
            INSERT INTO resident (id, household_id, name, national_id_digest, national_id_masked, birth_date, phone, residency, floating,
                                  groups, sensitive_groups, building_code, grid_code, grid_version, community_code, street_code,
                                  district_code, created_at, updated_at)
            SELECT r.id, r.household, r.name, decode(r.digest, 'hex'), r.masked, r.birth::date, NULLIF(r.phone, ''), r.residency,
                   NULLIF(r.floating, '')::jsonb, coalesce(string_to_array(NULLIF(r.groups, ''), ','), '{}'),
                   coalesce(string_to_array(NULLIF(r.sensitive, ''), ','), '{}'),
                   r.building, r.grid, r.grid_version, r.community, r.street, r.district, \(now), \(now)
            FROM unnest(\(c.ids)::uuid[], \(c.households)::uuid[], \(c.names)::text[], \(c.digests)::text[], \(c.masked)::text[],
                        \(c.births)::text[], \(c.phones)::text[], \(c.residencies)::text[], \(c.floating)::text[], \(c.groups)::text[],
                        \(c.sensitive)::text[], \(c.path.building)::text[], \(c.path.grid)::text[], \(c.path.gridVersion)::int4[],
                        \(c.path.community)::text[], \(c.path.street)::text[], \(c.path.district)::text[])
                 AS r(id, household, name, digest, masked, birth, phone, residency, floating, groups, sensitive, building, grid,
                      grid_version, community, street, district)
            ON CONFLICT DO NOTHING
            RETURNING id)
            SELECT coalesce(array_agg(id), '{}') FROM inserted
            """, logger: logger
        ).idSet()
    }

    private func update(_ records: [ResidentRecord], now: Date, on connection: PostgresConnection) async throws {
        guard !records.isEmpty else { return }
        let c = Columns(records)
        try await connection.query(
            """
            UPDATE resident t SET household_id = r.household, name = r.name, national_id_digest = decode(r.digest, 'hex'),
                national_id_masked = r.masked, birth_date = r.birth::date, phone = NULLIF(r.phone, ''), residency = r.residency,
                floating = NULLIF(r.floating, '')::jsonb, groups = coalesce(string_to_array(NULLIF(r.groups, ''), ','), '{}'),
                sensitive_groups = coalesce(string_to_array(NULLIF(r.sensitive, ''), ','), '{}'), building_code = r.building,
                grid_code = r.grid, grid_version = r.grid_version, community_code = r.community, street_code = r.street,
                district_code = r.district, updated_at = \(now)
            FROM unnest(\(c.ids)::uuid[], \(c.households)::uuid[], \(c.names)::text[], \(c.digests)::text[], \(c.masked)::text[],
                        \(c.births)::text[], \(c.phones)::text[], \(c.residencies)::text[], \(c.floating)::text[], \(c.groups)::text[],
                        \(c.sensitive)::text[], \(c.path.building)::text[], \(c.path.grid)::text[], \(c.path.gridVersion)::int4[],
                        \(c.path.community)::text[], \(c.path.street)::text[], \(c.path.district)::text[])
                 AS r(id, household, name, digest, masked, birth, phone, residency, floating, groups, sensitive, building, grid,
                      grid_version, community, street, district)
            WHERE t.id = r.id
            """, logger: logger)
    }

    private func recordMoves(
        _ moves: [(ResidentRecord, from: ResidentRecord)], recordedBy: String, reason: String?, now: Date, on connection: PostgresConnection
    ) async throws {
        guard !moves.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO resident_move (resident_id, from_household_id, to_household_id, from_location, to_location, moved_at, recorded_by, reason)
            SELECT m.id, m.from_household, m.to_household, m.from_location::json, m.to_location::json, \(now), \(recordedBy), \(reason)
            FROM unnest(\(moves.map(\.0.id))::uuid[], \(moves.map(\.from.householdId))::uuid[], \(moves.map(\.0.householdId))::uuid[],
                        \(moves.map { $0.from.path.json() })::text[], \(moves.map { $0.0.path.json() })::text[])
                 AS m(id, from_household, to_household, from_location, to_location)
            """, logger: logger)
    }

    // MARK: reads

    struct MoveView: Codable, Sendable {
        var fromHouseholdId: UUID?
        var toHouseholdId: UUID
        var from: PlaceLocation?
        var to: PlaceLocation
        var movedAt: Date
        var recordedBy: String
        var reason: String?
    }

    func moves(of id: UUID, on connection: PostgresConnection) async throws -> [MoveView] {
        let rows = try await connection.query(
            """
            SELECT from_household_id, to_household_id, from_location::text, to_location::text, moved_at, recorded_by, reason
            FROM resident_move WHERE resident_id = \(id) ORDER BY id
            """, logger: logger)
        var moves: [MoveView] = []
        for try await (fromHousehold, toHousehold, from, to, at, by, reason) in rows.decode((UUID?, UUID, String?, String, Date, String, String?).self) {
            moves.append(
                MoveView(
                    fromHouseholdId: fromHousehold, toHouseholdId: toHousehold,
                    from: try from.map { try EventCoding.decoder.decode(PlaceLocation.self, from: Data($0.utf8)) },
                    to: try EventCoding.decoder.decode(PlaceLocation.self, from: Data(to.utf8)), movedAt: at, recordedBy: by, reason: reason))
        }
        return moves
    }

    struct Filter: Sendable {
        var place = PlacePath()
        var grid: String?
        var household: UUID?
        var group: String?
        var sensitiveGroup: String?
        var role: String?
        var residency: String?
        var namePrefix: String?
    }

    func list(_ filter: Filter, page: PageRequest, on connection: PostgresConnection) async throws -> [ResidentRecord] {
        var query = QueryBuilder()
        query.filter(filter.place.district) { "district_code = \($0)" }
        query.filter(filter.place.street) { "street_code = \($0)" }
        query.filter(filter.place.community) { "community_code = \($0)" }
        query.filter(filter.grid) { "grid_code = \($0)" }
        query.filter(filter.household) { "household_id = \($0)" }
        query.filter(filter.group.map { [$0] }) { "groups @> \($0)::text[]" }
        query.filter(filter.sensitiveGroup.map { [$0] }) { "sensitive_groups @> \($0)::text[]" }
        query.filter(filter.residency) { "residency = \($0)" }
        query.filter(filter.role) {
            "EXISTS (SELECT 1 FROM person_role pr WHERE pr.resident_id = resident.id AND pr.role = \($0) AND pr.ended_on IS NULL)"
        }
        query.filter(filter.namePrefix.map(likePrefix)) { "name LIKE \($0)" }
        let order = query.keyset(after: page.after.flatMap(UUID.init(uuidString:)), column: "id", limit: page.limit)
        let rows = try await connection.query(
            query.query("SELECT \(ResidentRecord.columns) FROM resident \(query.whereClause) \(order)"), logger: logger)
        return try await rows.collect(ResidentRecord.init)
    }
}

/// `text%` with LIKE's wildcards in `text` escaped, so a name is matched literally.
func likePrefix(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
}

