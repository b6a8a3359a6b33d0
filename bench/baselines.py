"""Baselines measured in the same run as the suite's own figures, so the suite is judged by ratios.

  copy   -- the physical limit of PostgreSQL: a plain COPY of the same rows the consumer writes
  naive  -- what an integrator would write instead: confluent-kafka + psycopg, one transaction per
            event (inbox insert + effect), offset committed synchronously after each
  kcat   -- the physical limit of the broker and librdkafka: kcat producing and consuming raw records
  naive-ingress -- what an integrator would write instead of the registry's district import: a
            confluent-kafka consumer + psycopg loop, one upsert transaction per resident into a table
            shaped like the registry's `resident` (same columns, same indexes, same household foreign
            key), offset committed synchronously after each record
  copy-resident -- PostgreSQL COPY of the same resident rows into the same table (one transaction)

    python bench/baselines.py {copy|naive|kcat|naive-ingress|copy-resident} N

Prints one JSON object per measure on stdout. Connection settings come from the POSTGRES_* and
KAFKA_BOOTSTRAP_SERVERS variables (scripts/stack.sh env).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

import psycopg
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic


def dsn():
    e = os.environ
    return (f"host={e['POSTGRES_HOST']} port={e['POSTGRES_PORT']} user={e['POSTGRES_USER']} "
            f"password={e['POSTGRES_PASSWORD']} dbname={e['POSTGRES_DB']}")


def bootstrap():
    return os.environ["KAFKA_BOOTSTRAP_SERVERS"]


def emit(name, value, unit, **extra):
    print(json.dumps({"measure": name, "value": round(value, 2), "unit": unit, **extra}), flush=True)


def timed_copy(conn, statement, rows):
    """Seconds for one COPY of `rows` in one transaction."""
    start = time.perf_counter()
    with conn.transaction():
        with conn.cursor().copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    return time.perf_counter() - start


def copy_baseline(rows):
    schema = "bench_copy_" + uuid.uuid4().hex[:8]
    with psycopg.connect(dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.probe_applied (event_id uuid PRIMARY KEY, probe_key text NOT NULL, "
                     f"seq integer NOT NULL, apply_order bigserial NOT NULL)")
        data = [(uuid.uuid4(), f"aggregate-{i % 1000}", i // 1000 + 1) for i in range(rows)]
        elapsed = timed_copy(conn, f"COPY {schema}.probe_applied (event_id, probe_key, seq) FROM STDIN", data)
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
    emit("postgres COPY of the same rows", rows / elapsed, "rows/s", rows=rows)


def make_topic(name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap()})
    for future in admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]).values():
        future.result(15)


def produce_all(topic, messages):
    """Publishes (key, value, headers) triples, idempotently, and waits until all are acknowledged."""
    producer = Producer({"bootstrap.servers": bootstrap(), "enable.idempotence": True, "linger.ms": 5})
    for i, (key, value, headers) in enumerate(messages):
        producer.produce(topic, key=key, value=value, headers=headers)
        if i % 10000 == 0:
            producer.poll(0)
    producer.flush(30)


def consume_one_by_one(conn, topic, count, timeout_s, apply):
    """What a naive integration does: for each record, `apply(message)` in a transaction of its own,
    then a synchronous offset commit. Returns (subscribed, first record in hand, done, applied)."""
    consumer = Consumer({"bootstrap.servers": bootstrap(), "group.id": topic, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                         "heartbeat.interval.ms": 500})
    try:
        consumer.subscribe([topic])
        subscribed = time.perf_counter()
        first = None
        applied = 0
        deadline = subscribed + timeout_s
        while applied < count and time.perf_counter() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            if first is None:
                first = time.perf_counter()
            with conn.transaction():
                apply(message)
            consumer.commit(message=message, asynchronous=False)
            applied += 1
        return subscribed, first, time.perf_counter(), applied
    finally:
        consumer.close()


def naive_baseline(events):
    topic = "bench-naive-" + uuid.uuid4().hex[:8]
    make_topic(topic, 12)
    produce_all(topic, ((f"aggregate-{i % 1000}", json.dumps({"key": f"aggregate-{i % 1000}", "seq": i // 1000 + 1}).encode(),
                         [("ce_id", str(uuid.uuid4()))]) for i in range(events)))

    schema = "bench_naive_" + uuid.uuid4().hex[:8]
    with psycopg.connect(dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.inbox (event_id uuid PRIMARY KEY)")
        conn.execute(f"CREATE TABLE {schema}.probe_applied (event_id uuid PRIMARY KEY, probe_key text, seq int)")

        def apply(message):
            event_id = dict(message.headers())["ce_id"].decode()
            body = json.loads(message.value())
            fresh = conn.execute(f"INSERT INTO {schema}.inbox VALUES (%s) ON CONFLICT DO NOTHING RETURNING 1",
                                 (event_id,)).fetchone()
            if fresh:
                conn.execute(f"INSERT INTO {schema}.probe_applied VALUES (%s, %s, %s)",
                             (event_id, body["key"], body["seq"]))

        joined, first, done, applied = consume_one_by_one(conn, topic, events, 300, apply)
        elapsed = done - first
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
    emit("naive consumer (one transaction and commit per event)", (applied - 1) / elapsed, "events/s",
         events=applied, join_s=round(first - joined, 2))


def kcat_baseline(records):
    topic = "bench-kcat-" + uuid.uuid4().hex[:8]
    make_topic(topic, 12)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        for i in range(records):
            handle.write(f'aggregate-{i % 1000}\t{{"key":"aggregate-{i % 1000}","seq":{i // 1000 + 1}}}\n')
        path = handle.name
    start = time.perf_counter()
    subprocess.run(["kcat", "-P", "-b", bootstrap(), "-t", topic, "-K", "\t", "-l", path,
                    "-X", "enable.idempotence=true"], check=True)
    produce = time.perf_counter() - start
    start = time.perf_counter()
    out = subprocess.run(["kcat", "-C", "-b", bootstrap(), "-t", topic, "-o", "beginning", "-e", "-q",
                          "-c", str(records)], check=True, capture_output=True)
    consume = time.perf_counter() - start
    os.unlink(path)
    consumed = out.stdout.count(b"\n")
    emit("kcat produce (raw librdkafka)", records / produce, "records/s", records=records)
    emit("kcat consume (raw librdkafka)", consumed / consume, "records/s", records=consumed)


# The registry's `resident` table (Services/Registry/RegistryService/RegistrySchema.swift, migration
# 1001) with all of its indexes; `household` is reduced to its key, which is all the foreign key needs.
RESIDENT_DDL = """
CREATE TABLE {schema}.household (id uuid PRIMARY KEY);
CREATE TABLE {schema}.resident (
    id                  uuid PRIMARY KEY,
    household_id        uuid NOT NULL REFERENCES {schema}.household (id),
    name                text NOT NULL,
    national_id_digest  bytea NOT NULL UNIQUE,
    national_id_masked  text NOT NULL,
    birth_date          date NOT NULL,
    phone               text,
    residency           text NOT NULL CHECK (residency IN ('registered', 'floating')),
    floating            jsonb,
    groups              text[] NOT NULL DEFAULT '{{}}',
    sensitive_groups    text[] NOT NULL DEFAULT '{{}}',
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
CREATE INDEX resident_household ON {schema}.resident (household_id);
CREATE INDEX resident_district ON {schema}.resident (district_code, id);
CREATE INDEX resident_community ON {schema}.resident (community_code, id);
CREATE INDEX resident_grid ON {schema}.resident (grid_code, id);
CREATE INDEX resident_name ON {schema}.resident (name text_pattern_ops);
CREATE INDEX resident_groups ON {schema}.resident USING gin (groups);
"""

RESIDENT_COLUMNS = ("id, household_id, name, national_id_digest, national_id_masked, birth_date, residency, floating, "
                    "groups, building_code, grid_code, grid_version, community_code, street_code, district_code")

RESIDENT_UPSERT = (
    "INSERT INTO {schema}.resident (" + RESIDENT_COLUMNS + ") "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (id) DO UPDATE SET household_id = excluded.household_id, name = excluded.name, "
    "national_id_digest = excluded.national_id_digest, national_id_masked = excluded.national_id_masked, "
    "birth_date = excluded.birth_date, residency = excluded.residency, floating = excluded.floating, "
    "groups = excluded.groups, building_code = excluded.building_code, grid_code = excluded.grid_code, "
    "grid_version = excluded.grid_version, community_code = excluded.community_code, "
    "street_code = excluded.street_code, district_code = excluded.district_code, updated_at = now()")

GROUPS = ["elderly", "disabled", "low-income", "unemployed", "migrant-worker", "single-parent-child", "minor"]


def resident_records(count):
    """N resident records as a district system would send them (one district, 20 grids, 200 buildings,
    two residents per household, a fifth of them floating, some in groups), and their households."""
    households = [str(uuid.uuid4()) for _ in range(max(1, count // 2))]
    records = []
    for i in range(count):
        building = (i // 2) % 200
        floating = i % 5 == 0
        born = f"{1940 + i % 65}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        records.append({
            "id": str(uuid.uuid4()),
            "householdId": households[(i // 2) % len(households)],
            "name": "居民" + str(i),
            # what the registry keeps of the ID number: a keyed digest (hex here) and the masked form
            "nationalId": uuid.uuid4().hex + uuid.uuid4().hex,
            "nationalIdMasked": f"440305{born[:4]}******{i % 10}",
            "birthDate": born,
            "residency": "floating" if floating else "registered",
            "floating": {"origin": "湖南省衡阳市", "arrivedOn": "2024-03-01", "purpose": "work"} if floating else None,
            "groups": [GROUPS[i % len(GROUPS)]] if i % 3 == 0 else [],
            "location": {"district": "B01", "street": "B01-S", "community": "B01-C", "grid": f"B01-G{building % 20}",
                         "gridVersion": 1, "building": f"B01-B{building}"},
        })
    return households, records


def resident_row(record):
    location = record["location"]
    return (record["id"], record["householdId"], record["name"], bytes.fromhex(record["nationalId"]),
            record["nationalIdMasked"], record["birthDate"], record["residency"],
            json.dumps(record["floating"], ensure_ascii=False) if record["floating"] else None, record["groups"],
            location["building"], location["grid"], location["gridVersion"], location["community"],
            location["street"], location["district"])


def resident_schema(conn, prefix, households):
    schema = prefix + uuid.uuid4().hex[:8]
    conn.execute(f"CREATE SCHEMA {schema}")
    conn.execute(RESIDENT_DDL.format(schema=schema))
    with conn.transaction():
        with conn.cursor().copy(f"COPY {schema}.household (id) FROM STDIN") as copy:
            for household in households:
                copy.write_row((household,))
    return schema


def naive_ingress_baseline(residents):
    households, records = resident_records(residents)
    topic = "bench-naive-ingress-" + uuid.uuid4().hex[:8]
    make_topic(topic, 12)  # as district.inbound
    produce_all(topic, (("B01", json.dumps(record, ensure_ascii=False).encode(), [("ce_type", "district.resident.registered.v1")])
                        for record in records))

    with psycopg.connect(dsn(), autocommit=True) as conn:
        schema = resident_schema(conn, "bench_naive_ingress_", households)
        upsert = RESIDENT_UPSERT.format(schema=schema)
        try:
            subscribed, first, done, applied = consume_one_by_one(
                conn, topic, residents, 600, lambda message: conn.execute(upsert, resident_row(json.loads(message.value()))))
            if first is None or applied < residents:
                raise SystemExit(f"naive ingress: {applied} of {residents} residents consumed before the deadline")
            stored = conn.execute(f"SELECT count(*) FROM {schema}.resident").fetchone()[0]
        finally:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    # The clock starts when the first record is in hand, so its own transaction is the first interval.
    elapsed = done - first
    emit("naive ingress: one transaction per resident", (applied - 1) / elapsed, "residents/s",
         residents=applied, stored=stored, seconds=round(elapsed, 2), join_s=round(first - subscribed, 2))
    emit("naive ingress: consumer-group join and first record (not in the rate)", first - subscribed, "s")


def copy_resident_baseline(residents):
    households, records = resident_records(residents)
    rows = [resident_row(record) for record in records]
    with psycopg.connect(dsn(), autocommit=True) as conn:
        schema = resident_schema(conn, "bench_copy_resident_", households)
        try:
            elapsed = timed_copy(conn, f"COPY {schema}.resident ({RESIDENT_COLUMNS}) FROM STDIN", rows)
        finally:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    emit("postgres COPY of the same resident rows", residents / elapsed, "rows/s", rows=residents)


if __name__ == "__main__":
    which = sys.argv[1]
    count = int(sys.argv[2])
    {"copy": copy_baseline, "naive": naive_baseline, "kcat": kcat_baseline,
     "naive-ingress": naive_ingress_baseline, "copy-resident": copy_resident_baseline}[which](count)
