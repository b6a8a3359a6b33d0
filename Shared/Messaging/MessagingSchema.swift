import Storage

/// The outbox and inbox tables every service keeps in its own schema. Applied before the service's
/// own migrations (`0000_…` sorts first).
public enum MessagingSchema {
    public static let migrations: [Migration] = [
        Migration(
            version: "0000_messaging_outbox_inbox",
            sql: """
                CREATE TABLE outbox (
                    position     bigserial PRIMARY KEY,
                    event_id     uuid NOT NULL UNIQUE,
                    topic        text NOT NULL,
                    message_key  text NOT NULL,
                    -- hash(message_key) mod lane count: relays lock lanes, so one key is published by one relay at a time
                    lane         integer NOT NULL,
                    event_type   text NOT NULL,
                    source       text NOT NULL,
                    subject      text,
                    occurred_at  timestamptz NOT NULL,
                    -- json, not jsonb: kept byte for byte as the service encoded it, and cheaper to relay
                    payload      json NOT NULL,
                    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
                    sent_at      timestamptz
                );
                CREATE INDEX outbox_unsent ON outbox (position) WHERE sent_at IS NULL;
                CREATE INDEX outbox_unsent_lane ON outbox (lane, position) WHERE sent_at IS NULL;
                CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;

                CREATE TABLE inbox (
                    event_id     uuid PRIMARY KEY,
                    topic        text NOT NULL,
                    kafka_partition integer NOT NULL,
                    kafka_offset bigint NOT NULL,
                    event_type   text NOT NULL,
                    outcome      text NOT NULL CHECK (outcome IN ('applied', 'dead-lettered')),
                    processed_at timestamptz NOT NULL DEFAULT clock_timestamp()
                );
                """),
        Migration(
            version: "0001_messaging_outbox_rows_leave_when_sent",
            sql: """
                -- The relay now deletes what the broker acknowledged instead of marking it; sent_at stays
                -- NULL. Every row left is unsent, so the primary key orders the backlog by itself and
                -- the partial index on unsent positions would only be a second copy of it.
                DELETE FROM outbox WHERE sent_at IS NOT NULL;
                DROP INDEX outbox_sent;
                DROP INDEX outbox_unsent;
                """),
        Migration(
            version: "0002_messaging_outbox_event_ids_unindexed",
            sql: """
                -- Event ids are random (version 4) and written once; nothing looks a row up by one. The
                -- unique index cost every event a random insert into a B-tree and its vacuuming after.
                ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
                """),
        Migration(
            version: "0003_messaging_parked_records",
            sql: """
                -- Records an operator set aside by hand (cityctl dead-letters park): who, when, why.
                CREATE TABLE parked_records (
                    topic            text NOT NULL,
                    kafka_partition  integer NOT NULL,
                    kafka_offset     bigint NOT NULL,
                    consumer_group   text,
                    reason           text NOT NULL CHECK (length(btrim(reason)) > 0),
                    parked_by        text NOT NULL,
                    parked_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
                    dead_lettered_at timestamptz,
                    PRIMARY KEY (topic, kafka_partition, kafka_offset)
                );
                """),
    ]
}
