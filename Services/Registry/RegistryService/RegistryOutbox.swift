import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import ServiceRuntime

/// Registry events go to `registry.events`, keyed by the aggregate id, from source `/registry`.
enum RegistryOutbox {
    static let source = "/registry"

    static func entry<Payload: EventPayload>(_ payload: Payload, key: String, time: Date) throws -> OutboxEntry {
        OutboxEntry(
            topic: Topic.registryEvents.name, key: key,
            event: try CloudEvent(source: source, subject: key, time: time, payload: payload))
    }
}

extension PostgresRandomAccessRow {
    /// The named column, decoded; a type mismatch is a programming error surfaced with the column name.
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }
}

/// A place's position as the denormalised path columns hold it.
struct PathColumns: Sendable, Hashable {
    var district: String
    var street: String?
    var community: String?
    var grid: String?
    var gridVersion: Int?
    var building: String?

    init(district: String, street: String? = nil, community: String? = nil, grid: String? = nil, gridVersion: Int? = nil, building: String? = nil) {
        self.district = district
        self.street = street
        self.community = community
        self.grid = grid
        self.gridVersion = gridVersion
        self.building = building
    }

    init(row: PostgresRandomAccessRow, building: String? = nil) throws {
        self.init(
            district: try row.value("district_code"), street: try row.value("street_code"), community: try row.value("community_code"),
            grid: try row.value("grid_code"), gridVersion: try row.value("grid_version"), building: building)
    }

    var location: PlaceLocation {
        PlaceLocation(district: district, street: street, community: community, grid: grid, gridVersion: gridVersion, building: building)
    }

    var scopePath: PlacePath { PlacePath(district: district, street: street, community: community) }

    func json() -> String {
        (try? String(decoding: EventCoding.encode(location), as: UTF8.self)) ?? "{}"
    }
}

/// Rows of `table` with the given ids, keyed by id; `lock` takes their row locks in id order (so two
/// writers of overlapping batches cannot deadlock).
func rows<Record>(
    of table: String, columns: String, ids: [UUID], lock: Bool, logger: Logger, on connection: PostgresConnection,
    id: (Record) -> UUID, make: (PostgresRandomAccessRow) throws -> Record
) async throws -> [UUID: Record] {
    guard !ids.isEmpty else { return [:] }
    let result = try await connection.query(
        PostgresQuery(unsafeSQL: "SELECT \(columns) FROM \(table) WHERE id = ANY($1)\(lock ? " ORDER BY id FOR UPDATE" : "")", binds: PostgresBindings.of(ids)),
        logger: logger)
    return Dictionary(uniqueKeysWithValues: try await result.collect(make).map { (id($0), $0) })
}

extension WriteMode {
    /// Whether a record may be written given whether it exists: an update needs it, a create must not find it.
    func check(exists: Bool, kind: String, id: UUID) throws(RegistryError) {
        switch (exists, self) {
        case (false, .update): throw .notFound(kind: kind, id: id.uuidString.lowercased())
        case (true, .create): throw .alreadyExists(kind: kind, id: id.uuidString.lowercased())
        default: break
        }
    }
}
