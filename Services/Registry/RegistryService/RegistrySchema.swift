import Storage

/// The registry's tables in schema `registry`.
///
/// Places are keyed by their code (what district systems and operators already use). Households and
/// residents carry their place path (district … building) denormalised, so scope checks and filters
/// are single-index lookups; a move or a redraw rewrites those columns in the same transaction and
/// keeps the history. National ID numbers are kept only as a keyed digest (duplicates found) and a
/// masked form (shown); the number itself is never stored.
enum RegistrySchema {
    static let migrations: [Migration] = [
        Migration(
            version: "1001_registry_places_people_organisations",
            sql: """
                CREATE TABLE place (
                    code            text PRIMARY KEY,
                    level           text NOT NULL CHECK (level IN ('district', 'street', 'community', 'grid', 'building')),
                    name            text NOT NULL,
                    parent_code     text REFERENCES place (code),
                    district_code   text NOT NULL,
                    street_code     text,
                    community_code  text,
                    grid_code       text,
                    grid_version    integer,
                    version         integer NOT NULL DEFAULT 1,
                    community_type  text,
                    workstation     text,
                    boundary        text,
                    address         text,
                    created_at      timestamptz NOT NULL DEFAULT now(),
                    updated_at      timestamptz NOT NULL DEFAULT now(),
                    CHECK ((level = 'district') = (parent_code IS NULL))
                );
                CREATE INDEX place_parent ON place (parent_code, code);
                CREATE INDEX place_district_level ON place (district_code, level, code);
                CREATE INDEX place_community ON place (community_code, level, code);

                -- Every version of every place as it was: a grid redrawn keeps its old versions, and records
                -- made under them (households' moves, other services' cases) still resolve.
                CREATE TABLE place_version (
                    code        text NOT NULL REFERENCES place (code),
                    version     integer NOT NULL,
                    snapshot    json NOT NULL,
                    valid_from  timestamptz NOT NULL,
                    valid_to    timestamptz,
                    PRIMARY KEY (code, version)
                );

                CREATE TABLE household (
                    id              uuid PRIMARY KEY,
                    address         text NOT NULL,
                    building_code   text NOT NULL REFERENCES place (code),
                    grid_code       text NOT NULL,
                    grid_version    integer NOT NULL,
                    community_code  text NOT NULL,
                    street_code     text NOT NULL,
                    district_code   text NOT NULL,
                    created_at      timestamptz NOT NULL DEFAULT now(),
                    updated_at      timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX household_building ON household (building_code, id);
                CREATE INDEX household_grid ON household (grid_code, id);
                CREATE INDEX household_community ON household (community_code, id);
                CREATE INDEX household_district ON household (district_code, id);

                CREATE TABLE household_move (
                    id             bigserial PRIMARY KEY,
                    household_id   uuid NOT NULL REFERENCES household (id),
                    from_location  json NOT NULL,
                    to_location    json NOT NULL,
                    moved_at       timestamptz NOT NULL DEFAULT now(),
                    recorded_by    text NOT NULL,
                    reason         text
                );
                CREATE INDEX household_move_household ON household_move (household_id, id);

                CREATE TABLE resident (
                    id                  uuid PRIMARY KEY,
                    household_id        uuid NOT NULL REFERENCES household (id),
                    name                text NOT NULL,
                    national_id_digest  bytea NOT NULL UNIQUE,
                    national_id_masked  text NOT NULL,
                    birth_date          date NOT NULL,
                    phone               text,
                    residency           text NOT NULL CHECK (residency IN ('registered', 'floating')),
                    floating            jsonb,
                    groups              text[] NOT NULL DEFAULT '{}',
                    -- kept apart so that no query for ordinary groups can return them by accident
                    sensitive_groups    text[] NOT NULL DEFAULT '{}',
                    building_code       text NOT NULL,
                    grid_code           text NOT NULL,
                    grid_version        integer NOT NULL,
                    community_code      text NOT NULL,
                    street_code         text NOT NULL,
                    district_code       text NOT NULL,
                    created_at          timestamptz NOT NULL DEFAULT now(),
                    updated_at          timestamptz NOT NULL DEFAULT now(),
                    CHECK ((residency = 'floating') = (floating IS NOT NULL))
                );
                CREATE INDEX resident_household ON resident (household_id);
                CREATE INDEX resident_district ON resident (district_code, id);
                CREATE INDEX resident_community ON resident (community_code, id);
                CREATE INDEX resident_grid ON resident (grid_code, id);
                CREATE INDEX resident_name ON resident (name text_pattern_ops);
                CREATE INDEX resident_groups ON resident USING gin (groups);

                CREATE TABLE resident_move (
                    id                 bigserial PRIMARY KEY,
                    resident_id        uuid NOT NULL REFERENCES resident (id),
                    from_household_id  uuid,
                    to_household_id    uuid NOT NULL,
                    from_location      json,
                    to_location        json NOT NULL,
                    moved_at           timestamptz NOT NULL DEFAULT now(),
                    recorded_by        text NOT NULL,
                    reason             text
                );
                CREATE INDEX resident_move_resident ON resident_move (resident_id, id);

                CREATE TABLE organisation (
                    id                      uuid PRIMARY KEY,
                    name                    text NOT NULL,
                    kind                    text NOT NULL,
                    legal_person            boolean NOT NULL,
                    registration_authority  text,
                    registration_number     text,
                    serves_place            text REFERENCES place (code),
                    district_code           text,
                    street_code             text,
                    community_code          text,
                    eligible_bidder         boolean NOT NULL,
                    created_at              timestamptz NOT NULL DEFAULT now(),
                    updated_at              timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX organisation_district ON organisation (district_code, id);
                CREATE INDEX organisation_community ON organisation (community_code, id);

                CREATE TABLE person_role (
                    id              uuid PRIMARY KEY,
                    resident_id     uuid NOT NULL REFERENCES resident (id),
                    role            text NOT NULL,
                    place_code      text REFERENCES place (code),
                    district_code   text,
                    street_code     text,
                    community_code  text,
                    grid_code       text,
                    details         jsonb NOT NULL DEFAULT '{}',
                    started_on      date NOT NULL,
                    ended_on        date,
                    end_reason      text,
                    created_at      timestamptz NOT NULL DEFAULT now(),
                    updated_at      timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX person_role_resident ON person_role (resident_id);
                CREATE INDEX person_role_district ON person_role (district_code, role, id);
                CREATE INDEX person_role_community ON person_role (community_code, role, id);

                -- Who read sensitive data, who acted for whom: appended by the service, never changed.
                CREATE TABLE audit_log (
                    id             bigserial PRIMARY KEY,
                    at             timestamptz NOT NULL DEFAULT clock_timestamp(),
                    actor_subject  text NOT NULL,
                    actor_role     text NOT NULL,
                    actor_name     text,
                    action         text NOT NULL,
                    resident_id    uuid,
                    reason         text,
                    detail         text
                );
                CREATE INDEX audit_log_resident ON audit_log (resident_id, id);
                CREATE INDEX audit_log_actor ON audit_log (actor_subject, id);

                CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
                END;
                $$;
                CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
                    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
                CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
                    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
                """),
    ]
}
