import Storage

/// The volunteer-matching service's tables in schema `volunteer_matching`.
enum VolunteerSchema {
    static let migrations: [Migration] = [
        Migration(
            version: "3001_volunteer_registry_read_model",
            sql: """
                -- What matching knows of the registry, kept from registry.events (never read from the
                -- registry's tables): places with their ancestry, households (their address is a
                -- contact detail), residents with their ordinary groups, and volunteers.
                CREATE TABLE known_place (
                    code            text PRIMARY KEY,
                    level           text NOT NULL,
                    name            text NOT NULL,
                    district_code   text NOT NULL,
                    street_code     text,
                    community_code  text,
                    grid_code       text,
                    updated_at      timestamptz NOT NULL DEFAULT now()
                );

                CREATE TABLE known_household (
                    id              uuid PRIMARY KEY,
                    address         text NOT NULL,
                    district_code   text NOT NULL,
                    street_code     text,
                    community_code  text,
                    grid_code       text,
                    building_code   text,
                    updated_at      timestamptz NOT NULL DEFAULT now()
                );

                CREATE TABLE known_resident (
                    id              uuid PRIMARY KEY,
                    household_id    uuid,
                    name            text NOT NULL,
                    groups          text[] NOT NULL DEFAULT '{}',
                    district_code   text,
                    street_code     text,
                    community_code  text,
                    grid_code       text,
                    updated_at      timestamptz NOT NULL DEFAULT now()
                );

                -- A volunteer role from the registry, plus what this service keeps about the person's
                -- service: pause, and the running figures the matching score reads.
                CREATE TABLE volunteer (
                    role_id            uuid PRIMARY KEY,
                    resident_id        uuid NOT NULL,
                    name               text NOT NULL,
                    skills             text[] NOT NULL DEFAULT '{}',
                    availability       text[] NOT NULL DEFAULT '{}',
                    district_code      text,
                    street_code        text,
                    community_code     text,
                    grid_code          text,
                    active             boolean NOT NULL,
                    paused             boolean NOT NULL DEFAULT false,
                    paused_reason      text,
                    -- hours given in month_key (YYYY-MM), pending or approved
                    month_key          text NOT NULL DEFAULT '',
                    hours_this_month   double precision NOT NULL DEFAULT 0,
                    completed          integer NOT NULL DEFAULT 0,
                    no_shows           integer NOT NULL DEFAULT 0,
                    rating_sum         integer NOT NULL DEFAULT 0,
                    rating_count       integer NOT NULL DEFAULT 0,
                    households         uuid[] NOT NULL DEFAULT '{}',
                    -- the matching index reloads rows changed since its last look
                    changed_at         timestamptz NOT NULL DEFAULT clock_timestamp()
                );
                CREATE INDEX volunteer_changed ON volunteer (changed_at);
                CREATE INDEX volunteer_community ON volunteer (community_code);
                """),
        Migration(
            version: "3002_volunteer_needs_offers_assignments",
            sql: """
                -- In public, once per database: a default operator class is found whatever the search path.
                CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public;

                CREATE TABLE service_need (
                    id               uuid PRIMARY KEY,
                    kind             text NOT NULL,
                    skills           text[] NOT NULL DEFAULT '{}',
                    household_id     uuid,
                    resident_id      uuid,
                    grid_code        text NOT NULL,
                    community_code   text NOT NULL,
                    street_code      text NOT NULL,
                    district_code    text NOT NULL,
                    windows          jsonb NOT NULL,
                    first_start      timestamptz NOT NULL,
                    last_end         timestamptz NOT NULL,
                    volunteers       integer NOT NULL CHECK (volunteers BETWEEN 1 AND 50),
                    confirmed        integer NOT NULL DEFAULT 0,
                    urgency          text NOT NULL CHECK (urgency IN ('routine', 'soon', 'urgent')),
                    status           text NOT NULL CHECK (status IN ('open', 'filled', 'cancelled')),
                    contact_name     text,
                    contact_phone    text,
                    contact_address  text,
                    notes            text,
                    reported_by      text NOT NULL,
                    cancel_reason    text,
                    -- the district event a need came from, so a redelivered report makes no second need
                    source_event_id  uuid UNIQUE,
                    -- when the dispatcher looks for candidates again after finding too few
                    dispatch_after   timestamptz NOT NULL DEFAULT '-infinity',
                    opened_at        timestamptz NOT NULL,
                    updated_at       timestamptz NOT NULL DEFAULT now(),
                    CHECK (confirmed <= volunteers)
                );
                CREATE INDEX service_need_open ON service_need (opened_at) WHERE status = 'open';
                CREATE INDEX service_need_community ON service_need (community_code, id);
                CREATE INDEX service_need_district ON service_need (district_code, id);

                CREATE TABLE offer (
                    id            uuid PRIMARY KEY,
                    need_id       uuid NOT NULL REFERENCES service_need (id),
                    volunteer_id  uuid NOT NULL REFERENCES volunteer (role_id),
                    status        text NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')),
                    rank          integer NOT NULL,
                    score         jsonb NOT NULL,
                    offered_at    timestamptz NOT NULL,
                    expires_at    timestamptz NOT NULL,
                    answered_at   timestamptz,
                    reason        text,
                    -- a volunteer is asked once per need
                    UNIQUE (need_id, volunteer_id)
                );
                CREATE INDEX offer_pending ON offer (expires_at) WHERE status = 'pending';
                CREATE INDEX offer_volunteer ON offer (volunteer_id, offered_at);

                CREATE TABLE assignment (
                    id             uuid PRIMARY KEY,
                    need_id        uuid NOT NULL REFERENCES service_need (id),
                    volunteer_id   uuid NOT NULL REFERENCES volunteer (role_id),
                    offer_id       uuid REFERENCES offer (id),
                    status         text NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
                    confirmed_at   timestamptz NOT NULL,
                    cancelled_by   text,
                    cancel_reason  text,
                    cancelled_at   timestamptz
                );
                CREATE INDEX assignment_need ON assignment (need_id);
                CREATE INDEX assignment_volunteer ON assignment (volunteer_id, confirmed_at);

                -- The time a confirmed assignment holds. The database itself refuses a second booking
                -- of one volunteer for overlapping time, whatever the application does.
                CREATE TABLE assignment_window (
                    assignment_id  uuid NOT NULL REFERENCES assignment (id),
                    volunteer_id   uuid NOT NULL,
                    starts_at      timestamptz NOT NULL,
                    ends_at        timestamptz NOT NULL,
                    held           boolean NOT NULL DEFAULT true,
                    reminded_at    timestamptz,
                    PRIMARY KEY (assignment_id, starts_at),
                    EXCLUDE USING gist (volunteer_id WITH =, tstzrange(starts_at, ends_at) WITH &&) WHERE (held)
                );
                CREATE INDEX assignment_window_reminder ON assignment_window (starts_at) WHERE held AND reminded_at IS NULL;
                CREATE INDEX assignment_window_volunteer ON assignment_window (volunteer_id, starts_at) WHERE held;
                """),
        Migration(
            version: "3003_volunteer_service_records_pairings",
            sql: """
                -- One service given: check-in, check-out, hours and their verification, ratings both ways.
                CREATE TABLE service_record (
                    id                 uuid PRIMARY KEY,
                    assignment_id      uuid NOT NULL REFERENCES assignment (id),
                    need_id            uuid NOT NULL,
                    volunteer_id       uuid NOT NULL,
                    household_id       uuid,
                    window_start       timestamptz NOT NULL,
                    checked_in_at      timestamptz NOT NULL,
                    checked_out_at     timestamptz,
                    hours              double precision,
                    verification       text NOT NULL CHECK (verification IN ('open', 'pending', 'approved', 'rejected')),
                    verified_by        text,
                    verified_at        timestamptz,
                    verification_note  text,
                    recipient_rating   integer CHECK (recipient_rating BETWEEN 1 AND 5),
                    recipient_comment  text,
                    volunteer_rating   integer CHECK (volunteer_rating BETWEEN 1 AND 5),
                    volunteer_comment  text,
                    UNIQUE (assignment_id, window_start)
                );
                CREATE INDEX service_record_volunteer ON service_record (volunteer_id, window_start);

                CREATE TABLE absence (
                    assignment_id  uuid NOT NULL REFERENCES assignment (id),
                    window_start   timestamptz NOT NULL,
                    volunteer_id   uuid NOT NULL,
                    excused        boolean NOT NULL,
                    reason         text,
                    recorded_by    text NOT NULL,
                    recorded_at    timestamptz NOT NULL,
                    PRIMARY KEY (assignment_id, window_start)
                );

                -- One-to-one pairing (一帮一) on a service contact card (服务联系卡, 004).
                CREATE TABLE pairing (
                    id            uuid PRIMARY KEY,
                    volunteer_id  uuid NOT NULL REFERENCES volunteer (role_id),
                    household_id  uuid NOT NULL REFERENCES known_household (id),
                    kind          text NOT NULL,
                    schedule      text[] NOT NULL,
                    starts_on     date NOT NULL,
                    ends_on       date,
                    active        boolean NOT NULL DEFAULT true,
                    created_by    text NOT NULL,
                    created_at    timestamptz NOT NULL,
                    end_reason    text
                );
                CREATE UNIQUE INDEX pairing_one_active ON pairing (volunteer_id, household_id) WHERE active;
                """),
        Migration(
            version: "3004_volunteer_needs_due_for_dispatch",
            sql: """
                -- The dispatcher reads only the open needs due for a look (OfferDispatcher), not all of them.
                CREATE INDEX service_need_due ON service_need (dispatch_after) WHERE status = 'open';
                """),
    ]
}
