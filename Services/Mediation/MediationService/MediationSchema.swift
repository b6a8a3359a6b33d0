import Storage

/// The mediation service's tables in schema `mediation`.
enum MediationSchema {
    static let migrations: [Migration] = [
        Migration(
            version: "2001_mediation_registry_read_model",
            sql: """
                -- What mediation knows of the registry, kept from registry.events (never read from the
                -- registry's tables): places with their ancestry, every drawing of every grid (a case
                -- keeps the grid version it was filed under), and the mediators.
                CREATE TABLE known_place (
                    code            text PRIMARY KEY,
                    level           text NOT NULL,
                    name            text NOT NULL,
                    district_code   text NOT NULL,
                    street_code     text,
                    community_code  text,
                    version         integer NOT NULL,
                    updated_at      timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX known_place_community ON known_place (community_code, level);

                CREATE TABLE known_grid_version (
                    code            text NOT NULL,
                    version         integer NOT NULL,
                    community_code  text NOT NULL,
                    street_code     text NOT NULL,
                    district_code   text NOT NULL,
                    PRIMARY KEY (code, version)
                );

                CREATE TABLE mediator (
                    role_id         uuid PRIMARY KEY,
                    resident_id     uuid NOT NULL,
                    name            text NOT NULL,
                    level           text NOT NULL CHECK (level IN ('community', 'street', 'district')),
                    place_code      text NOT NULL,
                    district_code   text,
                    street_code     text,
                    community_code  text,
                    full_time       boolean NOT NULL DEFAULT false,
                    active          boolean NOT NULL,
                    updated_at      timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX mediator_place ON mediator (level, place_code) WHERE active;
                """),
    ]
}
