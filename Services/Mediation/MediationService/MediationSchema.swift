import MediationCore
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
        Migration(
            version: "2002_mediation_cases",
            sql: """
                CREATE TABLE dispute_case (
                    id                uuid PRIMARY KEY,
                    category          text NOT NULL,
                    severity          text NOT NULL CHECK (severity IN ('minor', 'major')),
                    channel           text NOT NULL,
                    description       text NOT NULL,
                    special_needs     text[] NOT NULL DEFAULT '{}',
                    grid_code         text NOT NULL,
                    grid_version      integer NOT NULL,
                    community_code    text NOT NULL,
                    street_code       text NOT NULL,
                    district_code     text NOT NULL,
                    status            text NOT NULL,
                    level             text NOT NULL CHECK (level IN ('community', 'street', 'district')),
                    -- the community, street or district code of the level holding the case
                    held_by           text NOT NULL,
                    mediator_role_id  uuid,
                    agreement_holds   boolean,
                    agreement         text,
                    reported_at       timestamptz NOT NULL,
                    -- set while the case is open; the watcher escalates past it
                    deadline_at       timestamptz,
                    reported_by       text NOT NULL,
                    -- the district event a case came from, so a redelivered report makes no second case
                    source_event_id   uuid UNIQUE,
                    created_at        timestamptz NOT NULL DEFAULT now(),
                    updated_at        timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX dispute_case_overdue ON dispute_case (deadline_at) WHERE deadline_at IS NOT NULL;
                CREATE INDEX dispute_case_community ON dispute_case (community_code, id);
                CREATE INDEX dispute_case_street ON dispute_case (street_code, id);
                CREATE INDEX dispute_case_district ON dispute_case (district_code, id);
                CREATE INDEX dispute_case_mediator ON dispute_case (mediator_role_id) WHERE deadline_at IS NOT NULL;

                CREATE TABLE case_party (
                    case_id          uuid NOT NULL REFERENCES dispute_case (id),
                    position         integer NOT NULL,
                    resident_id      uuid,
                    organisation_id  uuid,
                    name             text NOT NULL,
                    contact          text,
                    PRIMARY KEY (case_id, position)
                );

                -- Every transition: who, when, why, from what to what.
                CREATE TABLE case_transition (
                    id           bigserial PRIMARY KEY,
                    case_id      uuid NOT NULL REFERENCES dispute_case (id),
                    action       text NOT NULL,
                    from_status  text,
                    to_status    text NOT NULL,
                    from_level   text,
                    to_level     text NOT NULL,
                    actor        text NOT NULL,
                    reason       text,
                    at           timestamptz NOT NULL
                );
                CREATE INDEX case_transition_case ON case_transition (case_id, id);

                -- Deadlines are policy, kept where operators change them.
                CREATE TABLE deadline_rule (
                    category         text NOT NULL,
                    severity         text NOT NULL,
                    level            text NOT NULL,
                    kind             text NOT NULL CHECK (kind IN ('same-day', 'within')),
                    hours            integer NOT NULL CHECK (hours > 0),
                    late_after_hour  integer NOT NULL CHECK (late_after_hour BETWEEN 0 AND 24),
                    PRIMARY KEY (category, severity, level)
                );
                INSERT INTO deadline_rule (category, severity, level, kind, hours, late_after_hour) VALUES
                \(defaultRules);

                -- A missed deadline, counted against the level that held the case.
                CREATE TABLE deadline_miss (
                    id           bigserial PRIMARY KEY,
                    case_id      uuid NOT NULL REFERENCES dispute_case (id),
                    level        text NOT NULL,
                    held_by      text NOT NULL,
                    deadline_at  timestamptz NOT NULL,
                    detected_at  timestamptz NOT NULL
                );
                CREATE INDEX deadline_miss_held_by ON deadline_miss (held_by, level);
                """),
        Migration(
            version: "2003_mediation_meetings",
            sql: """
                -- The "three meetings" (三会制度, 004): evaluation, coordination and hearing, on a case.
                CREATE TABLE case_meeting (
                    id            uuid PRIMARY KEY,
                    case_id       uuid NOT NULL REFERENCES dispute_case (id),
                    kind          text NOT NULL CHECK (kind IN ('evaluation', 'coordination', 'hearing')),
                    scheduled_at  timestamptz NOT NULL,
                    place         text NOT NULL,
                    participants  jsonb NOT NULL,
                    minutes       text,
                    held_at       timestamptz,
                    created_by    text NOT NULL,
                    created_at    timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX case_meeting_case ON case_meeting (case_id, scheduled_at);
                """),
        Migration(
            version: "2004_mediation_open_load_index",
            sql: """
                -- Routing counts each mediator's open cases; index exactly those.
                DROP INDEX dispute_case_mediator;
                CREATE INDEX dispute_case_open_by_mediator ON dispute_case (mediator_role_id)
                    WHERE status IN ('reported', 'accepted', 'assigned', 'in-mediation');
                """),
        Migration(
            version: "2005_mediation_mediator_load",
            sql: """
                -- Each mediator's open cases, kept by a trigger on every write to a case (the API's, the
                -- district's and the deadline watcher's alike). Routing reads one row per mediator here
                -- instead of counting their cases at every report, which cost more than the report itself
                -- once mediators held a few thousand cases.
                CREATE TABLE mediator_load (
                    role_id     uuid PRIMARY KEY,
                    open_cases  integer NOT NULL CHECK (open_cases >= 0)
                );
                INSERT INTO mediator_load (role_id, open_cases)
                SELECT mediator_role_id, count(*) FROM dispute_case
                WHERE mediator_role_id IS NOT NULL AND status IN ('reported', 'accepted', 'assigned', 'in-mediation')
                GROUP BY mediator_role_id;

                CREATE FUNCTION dispute_case_keeps_mediator_load() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE
                    was_open boolean := TG_OP = 'UPDATE' AND OLD.mediator_role_id IS NOT NULL
                                        AND OLD.status IN ('reported', 'accepted', 'assigned', 'in-mediation');
                    is_open  boolean := NEW.mediator_role_id IS NOT NULL
                                        AND NEW.status IN ('reported', 'accepted', 'assigned', 'in-mediation');
                BEGIN
                    IF was_open AND is_open AND OLD.mediator_role_id = NEW.mediator_role_id THEN
                        RETURN NULL;
                    END IF;
                    IF was_open THEN
                        UPDATE mediator_load SET open_cases = open_cases - 1 WHERE role_id = OLD.mediator_role_id;
                    END IF;
                    IF is_open THEN
                        INSERT INTO mediator_load (role_id, open_cases) VALUES (NEW.mediator_role_id, 1)
                        ON CONFLICT (role_id) DO UPDATE SET open_cases = mediator_load.open_cases + 1;
                    END IF;
                    RETURN NULL;
                END $$;
                -- Deferred to the commit: a mediator's row is then locked only while the commit is
                -- flushed, not for the whole transaction, so reports routed to the same mediator do not
                -- queue behind each other's statements.
                CREATE CONSTRAINT TRIGGER dispute_case_mediator_load AFTER INSERT OR UPDATE OF mediator_role_id, status ON dispute_case
                    DEFERRABLE INITIALLY DEFERRED
                    FOR EACH ROW EXECUTE FUNCTION dispute_case_keeps_mediator_load();
                """),
    ]

    /// The city's starting deadlines as SQL rows; operators change them in the table afterwards.
    static var defaultRules: String {
        var rows: [String] = []
        for category in DisputeCategory.allCases {
            for severity in Severity.allCases {
                for level in MediationLevel.allCases {
                    let rule = DefaultDeadlines.rule(category: category, severity: severity, level: level)
                    rows.append("('\(category.rawValue)', '\(severity.rawValue)', '\(level.rawValue)', '\(rule.kind.rawValue)', \(rule.hours), \(rule.lateAfterHour))")
                }
            }
        }
        return rows.joined(separator: ",\n")
    }
}
