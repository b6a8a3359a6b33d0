import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO

/// The read model fed by `registry.events`: places (with every grid drawing) and mediators. Events
/// carry their aggregate's whole state, so each one is an upsert; per-aggregate order is the topic's.
public struct RegistryProjection: InboxHandler {
    static let placeTypes: Set<EventType> = [PlaceRegistered.eventType, PlaceUpdated.eventType]
    static let roleTypes: Set<EventType> = [RoleAssigned.eventType, RoleUpdated.eventType, RoleEnded.eventType]

    public init() {}

    public func disposition(for type: EventType) -> EventDisposition {
        // Households, residents and organisations are not needed here.
        .ofRegistryEvent(type, applying: Self.placeTypes.union(Self.roleTypes))
    }

    public func apply(_ events: [InboundEvent], on connection: PostgresConnection, logger: Logger) async throws {
        for event in events {
            switch event.event.type {
            case PlaceRegistered.eventType:
                try await upsert(try event.decode(PlaceRegistered.self).place, on: connection, logger: logger)
            case PlaceUpdated.eventType:
                try await upsert(try event.decode(PlaceUpdated.self).place, on: connection, logger: logger)
            case RoleAssigned.eventType:
                try await upsert(try event.decode(RoleAssigned.self).role, on: connection, logger: logger)
            case RoleUpdated.eventType:
                try await upsert(try event.decode(RoleUpdated.self).role, on: connection, logger: logger)
            case RoleEnded.eventType:
                try await upsert(try event.decode(RoleEnded.self).role, on: connection, logger: logger)
            default:
                continue
            }
        }
    }

    private func upsert(_ place: PlaceSnapshot, on connection: PostgresConnection, logger: Logger) async throws {
        let location = place.location
        try await connection.query(
            """
            INSERT INTO known_place (code, level, name, district_code, street_code, community_code, version, updated_at)
            VALUES (\(place.code), \(place.level), \(place.name), \(location.district), \(location.street), \(location.community), \(place.version), now())
            ON CONFLICT (code) DO UPDATE SET level = excluded.level, name = excluded.name, district_code = excluded.district_code,
                street_code = excluded.street_code, community_code = excluded.community_code, version = excluded.version, updated_at = now()
            """, logger: logger)
        guard place.level == "grid", let community = location.community, let street = location.street else { return }
        try await connection.query(
            """
            INSERT INTO known_grid_version (code, version, community_code, street_code, district_code)
            VALUES (\(place.code), \(place.version), \(community), \(street), \(location.district))
            ON CONFLICT (code, version) DO UPDATE SET community_code = excluded.community_code, street_code = excluded.street_code,
                district_code = excluded.district_code
            """, logger: logger)
    }

    private func upsert(_ role: RoleSnapshot, on connection: PostgresConnection, logger: Logger) async throws {
        guard role.role == "mediator", let level = role.details.mediatorLevel, let place = role.placeCode else { return }
        let location = role.location
        try await connection.query(
            """
            INSERT INTO mediator (role_id, resident_id, name, level, place_code, district_code, street_code, community_code, full_time, active, updated_at)
            VALUES (\(role.id), \(role.residentId), \(role.personName), \(level), \(place), \(location?.district), \(location?.street),
                    \(location?.community), \(role.details.fullTime ?? false), \(role.active), now())
            ON CONFLICT (role_id) DO UPDATE SET name = excluded.name, level = excluded.level, place_code = excluded.place_code,
                district_code = excluded.district_code, street_code = excluded.street_code, community_code = excluded.community_code,
                full_time = excluded.full_time, active = excluded.active, updated_at = now()
            """, logger: logger)
    }
}
