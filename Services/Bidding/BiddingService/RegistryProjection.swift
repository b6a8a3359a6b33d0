import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO

/// The read model fed by `registry.events`: places, organisations (who may bid) and the expert pool
/// (fields and affiliations). Events carry their aggregate's whole state, so each one is an upsert.
public struct RegistryProjection: InboxHandler {
    static let applied: Set<EventType> = [
        PlaceRegistered.eventType, PlaceUpdated.eventType, OrganisationRegistered.eventType, OrganisationUpdated.eventType,
        RoleAssigned.eventType, RoleUpdated.eventType, RoleEnded.eventType,
    ]

    public init() {}

    public func disposition(for type: EventType) -> EventDisposition {
        // Households and residents are not needed here.
        .ofRegistryEvent(type, applying: Self.applied)
    }

    public func apply(_ events: [InboundEvent], on connection: PostgresConnection, logger: Logger) async throws {
        for event in events {
            switch event.event.type {
            case PlaceRegistered.eventType: try await upsert(try event.decode(PlaceRegistered.self).place, on: connection, logger: logger)
            case PlaceUpdated.eventType: try await upsert(try event.decode(PlaceUpdated.self).place, on: connection, logger: logger)
            case OrganisationRegistered.eventType:
                try await upsert(try event.decode(OrganisationRegistered.self).organisation, on: connection, logger: logger)
            case OrganisationUpdated.eventType:
                try await upsert(try event.decode(OrganisationUpdated.self).organisation, on: connection, logger: logger)
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
            INSERT INTO known_place (code, level, name, district_code, street_code, community_code, updated_at)
            VALUES (\(place.code), \(place.level), \(place.name), \(location.district), \(location.street), \(location.community), now())
            ON CONFLICT (code) DO UPDATE SET level = excluded.level, name = excluded.name, district_code = excluded.district_code,
                street_code = excluded.street_code, community_code = excluded.community_code, updated_at = now()
            """, logger: logger)
    }

    private func upsert(_ organisation: OrganisationSnapshot, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO organisation (id, name, kind, legal_person, registration_authority, eligible_bidder, updated_at)
            VALUES (\(organisation.id), \(organisation.name), \(organisation.kind), \(organisation.legalPerson),
                    \(organisation.registrationAuthority), \(organisation.eligibleBidder), now())
            ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, legal_person = excluded.legal_person,
                registration_authority = excluded.registration_authority, eligible_bidder = excluded.eligible_bidder, updated_at = now()
            """, logger: logger)
    }

    private func upsert(_ role: RoleSnapshot, on connection: PostgresConnection, logger: Logger) async throws {
        guard role.role == "expert" else { return }
        let fields = (role.details.fields ?? []).map { $0.lowercased() }
        try await connection.query(
            """
            INSERT INTO expert (role_id, resident_id, name, fields, affiliations, active, updated_at)
            VALUES (\(role.id), \(role.residentId), \(role.personName), \(fields), \(role.details.affiliations ?? []), \(role.active), now())
            ON CONFLICT (role_id) DO UPDATE SET name = excluded.name, fields = excluded.fields, affiliations = excluded.affiliations,
                active = excluded.active, updated_at = now()
            """, logger: logger)
    }
}
