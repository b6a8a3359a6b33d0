"""Baselines measured in the same run as the suite's own figures, so the suite is judged by ratios.

  copy   -- the physical limit of PostgreSQL: a plain COPY of the same rows the consumer writes
  naive  -- what an integrator would write instead: confluent-kafka + psycopg, one transaction per
            event (inbox insert + effect), offset committed synchronously after each
  kcat   -- the physical limit of the broker and librdkafka: kcat producing and consuming raw records

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


def copy_baseline(rows):
    schema = "bench_copy_" + uuid.uuid4().hex[:8]
    with psycopg.connect(dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.probe_applied (event_id uuid PRIMARY KEY, probe_key text NOT NULL, "
                     f"seq integer NOT NULL, apply_order bigserial NOT NULL)")
        data = [(uuid.uuid4(), f"aggregate-{i % 1000}", i // 1000 + 1) for i in range(rows)]
        start = time.perf_counter()
        with conn.transaction():
            with conn.cursor().copy(f"COPY {schema}.probe_applied (event_id, probe_key, seq) FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
        elapsed = time.perf_counter() - start
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
    emit("postgres COPY of the same rows", rows / elapsed, "rows/s", rows=rows)


def make_topic(name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap()})
    for future in admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]).values():
        future.result(15)


def naive_baseline(events):
    topic = "bench-naive-" + uuid.uuid4().hex[:8]
    make_topic(topic, 12)
    producer = Producer({"bootstrap.servers": bootstrap(), "enable.idempotence": True, "linger.ms": 5})
    for i in range(events):
        key = f"aggregate-{i % 1000}"
        body = json.dumps({"key": key, "seq": i // 1000 + 1}).encode()
        producer.produce(topic, key=key, value=body, headers=[("ce_id", str(uuid.uuid4()))])
        if i % 10000 == 0:
            producer.poll(0)
    producer.flush(30)

    schema = "bench_naive_" + uuid.uuid4().hex[:8]
    with psycopg.connect(dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(f"CREATE TABLE {schema}.inbox (event_id uuid PRIMARY KEY)")
        conn.execute(f"CREATE TABLE {schema}.probe_applied (event_id uuid PRIMARY KEY, probe_key text, seq int)")
        consumer = Consumer({"bootstrap.servers": bootstrap(), "group.id": topic, "enable.auto.commit": False,
                             "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                             "heartbeat.interval.ms": 500})
        consumer.subscribe([topic])
        joined = time.perf_counter()
        first = None
        applied = 0
        deadline = time.perf_counter() + 300
        while applied < events and time.perf_counter() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            if first is None:
                first = time.perf_counter()
            event_id = dict(message.headers())["ce_id"].decode()
            body = json.loads(message.value())
            with conn.transaction():
                fresh = conn.execute(f"INSERT INTO {schema}.inbox VALUES (%s) ON CONFLICT DO NOTHING RETURNING 1",
                                     (event_id,)).fetchone()
                if fresh:
                    conn.execute(f"INSERT INTO {schema}.probe_applied VALUES (%s, %s, %s)",
                                 (event_id, body["key"], body["seq"]))
            consumer.commit(message=message, asynchronous=False)
            applied += 1
        elapsed = time.perf_counter() - first
        consumer.close()
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


if __name__ == "__main__":
    which = sys.argv[1]
    count = int(sys.argv[2])
    {"copy": copy_baseline, "naive": naive_baseline, "kcat": kcat_baseline}[which](count)
