import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO

/// The read model fed by `registry.events`: places, households, residents and volunteers. Events carry
/// their aggregate's whole state, so each one is an upsert; per-aggregate order is the topic's.
/// A volunteer's pause and service figures belong to this service and are never overwritten here.
public struct RegistryProjection: InboxHandler {
    static let applied: Set<EventType> = [
        PlaceRegistered.eventType, PlaceUpdated.eventType, HouseholdRegistered.eventType, HouseholdUpdated.eventType, HouseholdMoved.eventType,
        ResidentRegistered.eventType, ResidentUpdated.eventType, ResidentMoved.eventType, RoleAssigned.eventType, RoleUpdated.eventType,
        RoleEnded.eventType,
    ]

    public init() {}

    public func disposition(for type: EventType) -> EventDisposition {
        // Organisations are not needed here.
        .ofRegistryEvent(type, applying: Self.applied)
    }

    public func apply(_ events: [InboundEvent], on connection: PostgresConnection, logger: Logger) async throws {
        for event in events {
            switch event.event.type {
            case PlaceRegistered.eventType: try await upsert(try event.decode(PlaceRegistered.self).place, on: connection, logger: logger)
            case PlaceUpdated.eventType: try await upsert(try event.decode(PlaceUpdated.self).place, on: connection, logger: logger)
            case HouseholdRegistered.eventType: try await upsert(try event.decode(HouseholdRegistered.self).household, on: connection, logger: logger)
            case HouseholdUpdated.eventType: try await upsert(try event.decode(HouseholdUpdated.self).household, on: connection, logger: logger)
            case HouseholdMoved.eventType:
                let household = try event.decode(HouseholdMoved.self).household
                try await upsert(household, on: connection, logger: logger)
                // The registry publishes no resident events for a household's move: its residents go with it.
                let location = household.location
                try await connection.query(
                    """
                    UPDATE known_resident SET district_code = \(location.district), street_code = \(location.street),
                        community_code = \(location.community), grid_code = \(location.grid), updated_at = now()
                    WHERE household_id = \(household.id)
                    """, logger: logger)
            case ResidentRegistered.eventType: try await upsert(try event.decode(ResidentRegistered.self).resident, on: connection, logger: logger)
            case ResidentUpdated.eventType: try await upsert(try event.decode(ResidentUpdated.self).resident, on: connection, logger: logger)
            case ResidentMoved.eventType: try await upsert(try event.decode(ResidentMoved.self).resident, on: connection, logger: logger)
            case RoleAssigned.eventType: try await upsert(try event.decode(RoleAssigned.self).role, on: connection, logger: logger)
            case RoleUpdated.eventType: try await upsert(try event.decode(RoleUpdated.self).role, on: connection, logger: logger)
            case RoleEnded.eventType: try await upsert(try event.decode(RoleEnded.self).role, on: connection, logger: logger)
            default: continue
            }
        }
    }

    private func upsert(_ place: PlaceSnapshot, on connection: PostgresConnection, logger: Logger) async throws {
        let location = place.location
        try await connection.query(
            """
            INSERT INTO known_place (code, level, name, district_code, street_code, community_code, grid_code)
            VALUES (\(place.code), \(place.level), \(place.name), \(location.district), \(location.street), \(location.community), \(location.grid))
            ON CONFLICT (code) DO UPDATE SET level = excluded.level, name = excluded.name, district_code = excluded.district_code,
                street_code = excluded.street_code, community_code = excluded.community_code, grid_code = excluded.grid_code, updated_at = now()
            """, logger: logger)
    }

    private func upsert(_ household: HouseholdSnapshot, on connection: PostgresConnection, logger: Logger) async throws {
        let location = household.location
        try await connection.query(
            """
            INSERT INTO known_household (id, address, district_code, street_code, community_code, grid_code, building_code)
            VALUES (\(household.id), \(household.address), \(location.district), \(location.street), \(location.community), \(location.grid),
                    \(location.building))
            ON CONFLICT (id) DO UPDATE SET address = excluded.address, district_code = excluded.district_code, street_code = excluded.street_code,
                community_code = excluded.community_code, grid_code = excluded.grid_code, building_code = excluded.building_code, updated_at = now()
            """, logger: logger)
    }

    private func upsert(_ resident: ResidentSnapshot, on connection: PostgresConnection, logger: Logger) async throws {
        let location = resident.location
        try await connection.query(
            """
            INSERT INTO known_resident (id, household_id, name, groups, district_code, street_code, community_code, grid_code)
            VALUES (\(resident.id), \(resident.householdId), \(resident.name), \(resident.groups), \(location?.district), \(location?.street),
                    \(location?.community), \(location?.grid))
            ON CONFLICT (id) DO UPDATE SET household_id = excluded.household_id, name = excluded.name, groups = excluded.groups,
                district_code = excluded.district_code, street_code = excluded.street_code, community_code = excluded.community_code,
                grid_code = excluded.grid_code, updated_at = now()
            """, logger: logger)
    }

    private func upsert(_ role: RoleSnapshot, on connection: PostgresConnection, logger: Logger) async throws {
        guard role.role == "volunteer" else { return }
        let location = role.location
        try await connection.query(
            """
            INSERT INTO volunteer (role_id, resident_id, name, skills, availability, district_code, street_code, community_code, grid_code, active)
            VALUES (\(role.id), \(role.residentId), \(role.personName), \((role.details.skills ?? []).map { $0.lowercased() }), \(role.details.availability ?? []),
                    \(location?.district), \(location?.street), \(location?.community), \(location?.grid), \(role.active))
            ON CONFLICT (role_id) DO UPDATE SET name = excluded.name, skills = excluded.skills, availability = excluded.availability,
                district_code = excluded.district_code, street_code = excluded.street_code, community_code = excluded.community_code,
                grid_code = excluded.grid_code, active = excluded.active, changed_at = clock_timestamp()
            """, logger: logger)
        if !role.active {
            // Nobody waits for an answer from a volunteer whose role has ended.
            try await OfferDesk(logger: logger).withdrawPending(
                volunteer: role.id, reason: "volunteer role ended", now: Date(), on: connection)
        }
    }
}
