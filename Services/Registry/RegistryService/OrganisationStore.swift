import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import RegistryCore
import ServiceRuntime
import Storage

struct OrganisationRecord: Sendable, Equatable {
    var id: UUID
    var name: String
    var kind: String
    var legalPerson: Bool
    var registrationAuthority: String?
    var registrationNumber: String?
    var servesPlace: String?
    var path: PathColumns?
    var eligibleBidder: Bool

    static let columns = """
        id, name, kind, legal_person, registration_authority, registration_number, serves_place, district_code, street_code,
        community_code, eligible_bidder
        """

    init(_ facts: OrganisationFacts, path: PathColumns?) {
        id = facts.id
        name = facts.name
        kind = facts.kind.rawValue
        legalPerson = facts.legalPerson
        registrationAuthority = facts.registrationAuthority
        registrationNumber = facts.registrationNumber
        servesPlace = facts.servesPlace
        self.path = path
        eligibleBidder = facts.eligibleBidder
    }

    init(row: PostgresRandomAccessRow) throws {
        id = try row.value("id")
        name = try row.value("name")
        kind = try row.value("kind")
        legalPerson = try row.value("legal_person")
        registrationAuthority = try row.value("registration_authority")
        registrationNumber = try row.value("registration_number")
        servesPlace = try row.value("serves_place")
        let district: String? = try row.value("district_code")
        path = try district.map { PathColumns(district: $0, street: try row.value("street_code"), community: try row.value("community_code")) }
        eligibleBidder = try row.value("eligible_bidder")
    }

    var snapshot: OrganisationSnapshot {
        OrganisationSnapshot(
            id: id, name: name, kind: kind, legalPerson: legalPerson, registrationAuthority: registrationAuthority, serves: path?.location,
            eligibleBidder: eligibleBidder)
    }

    /// What the API shows: the snapshot and the registration number.
    var view: OrganisationView { OrganisationView(organisation: snapshot, registrationNumber: registrationNumber, servesPlace: servesPlace) }
}

public struct OrganisationView: Codable, Sendable {
    public var organisation: OrganisationSnapshot
    public var registrationNumber: String?
    public var servesPlace: String?
}

/// Organisations: committees, property companies, social organisations, enterprises, volunteer
/// organisations; and whether each may bid for purchased services.
struct OrganisationStore: Sendable {
    let logger: Logger

    func find(_ id: UUID, lock: Bool = false, on connection: PostgresConnection) async throws -> OrganisationRecord? {
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT \(OrganisationRecord.columns) FROM organisation WHERE id = $1\(lock ? " FOR UPDATE" : "")", binds: PostgresBindings.of(id)),
            logger: logger)
        return try await rows.collect(OrganisationRecord.init).first
    }

    func exists(_ ids: [UUID], on connection: PostgresConnection) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        let rows = try await connection.query("SELECT id FROM organisation WHERE id = ANY(\(ids))", logger: logger)
        var found: Set<UUID> = []
        for try await id in rows.decode(UUID.self) { found.insert(id) }
        return found
    }

    func write(
        _ facts: OrganisationFacts, mode: WriteMode, actor: RegistryActor, now: Date, on connection: PostgresConnection
    ) async throws -> WriteOutcome<OrganisationRecord> {
        let id = facts.id.uuidString.lowercased()
        var path: PathColumns?
        if let code = facts.servesPlace {
            guard let place = try await PlaceStore(logger: logger).find(code, on: connection) else {
                throw RegistryError.unknownReference(field: "servesPlace", kind: "place", id: code)
            }
            path = place.path
            try actor.requireScope(place.path.scopePath, kind: "place", id: code)
        } else if actor.scope.level != .city {
            throw RegistryError.forbidden("An organisation serving the whole city is registered at city level; name the place it serves (servesPlace).")
        }
        let record = OrganisationRecord(facts, path: path)
        let old = try await find(facts.id, lock: true, on: connection)
        try mode.check(exists: old != nil, kind: "organisation", id: facts.id)
        if let old {
            if let oldPath = old.path {
                try actor.requireScope(oldPath.scopePath, kind: "organisation", id: id)
            } else if actor.scope.level != .city {
                throw RegistryError.outOfScope(scope: actor.scope.description, kind: "organisation", id: id, place: "the whole city")
            }
            guard old != record else { return .unchanged(old) }
        }
        try await connection.query(
            """
            INSERT INTO organisation (id, name, kind, legal_person, registration_authority, registration_number, serves_place, district_code,
                                      street_code, community_code, eligible_bidder, created_at, updated_at)
            VALUES (\(record.id), \(record.name), \(record.kind), \(record.legalPerson), \(record.registrationAuthority), \(record.registrationNumber),
                    \(record.servesPlace), \(path?.district), \(path?.street), \(path?.community), \(record.eligibleBidder), \(now), \(now))
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, legal_person = excluded.legal_person,
                registration_authority = excluded.registration_authority, registration_number = excluded.registration_number,
                serves_place = excluded.serves_place, district_code = excluded.district_code, street_code = excluded.street_code,
                community_code = excluded.community_code, eligible_bidder = excluded.eligible_bidder, updated_at = excluded.updated_at
            """, logger: logger)
        let event: OutboxEntry =
            old == nil
            ? try RegistryOutbox.entry(OrganisationRegistered(organisation: record.snapshot), key: id, time: now)
            : try RegistryOutbox.entry(OrganisationUpdated(organisation: record.snapshot), key: id, time: now)
        try await Outbox.append([event], on: connection, logger: logger)
        return old == nil ? .created(record) : .updated(record)
    }

    struct Filter: Sendable {
        var place = PlacePath()
        var kind: String?
        var eligibleBidder: Bool?
    }

    func list(_ filter: Filter, page: PageRequest, on connection: PostgresConnection) async throws -> Page<OrganisationView> {
        var query = QueryBuilder()
        query.filter(filter.place.district) { "district_code = \($0)" }
        query.filter(filter.place.street) { "street_code = \($0)" }
        query.filter(filter.place.community) { "community_code = \($0)" }
        query.filter(filter.kind) { "kind = \($0)" }
        query.filter(filter.eligibleBidder) { "eligible_bidder = \($0)" }
        let order = query.keyset(after: page.after.flatMap(UUID.init(uuidString:)), column: "id", limit: page.limit)
        let rows = try await connection.query(
            query.query("SELECT \(OrganisationRecord.columns) FROM organisation \(query.whereClause) \(order)"), logger: logger)
        return Page(fetched: try await rows.collect(OrganisationRecord.init).map(\.view), limit: page.limit) { $0.organisation.id.uuidString }
    }
}
