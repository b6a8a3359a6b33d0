#!/bin/bash
# Creates the suite's topics, once, before the services start (the `kafka-init` job in
# deploy/docker-compose.yml). The names and partition counts are those of
# Shared/Contracts/Topics.swift: the five topics, and beside each its `<topic>.dead-letter` with one
# partition, as the services' own KAFKA_CREATE_TOPICS_ON_START would create them.
#
# Running it again is safe: a missing topic is created; an existing one keeps its partitions (adding
# partitions would move keys to other partitions and break per-aggregate order) and gets the
# retention below. A topic with another partition count than expected is reported, not changed.
#
# Environment (all optional):
#   BOOTSTRAP                  broker to talk to (default 127.0.0.1:19092, the broker's loopback
#                              listener: this job shares the broker's network namespace)
#   TOPIC_REPLICATION_FACTOR   1 on a single broker; 3 on a cluster
#   TOPIC_MIN_INSYNC_REPLICAS  1 on a single broker; 2 on a cluster (producers use acks=all)
#   EVENTS_RETENTION_MS        domain topics (*.events); default -1, kept for good
#   INBOUND_RETENTION_MS       district.inbound; default 604800000 (7 days)
#   DEAD_LETTER_RETENTION_MS   *.dead-letter; default 2592000000 (30 days)
set -euo pipefail

BOOTSTRAP="${BOOTSTRAP:-127.0.0.1:19092}"
REPLICATION="${TOPIC_REPLICATION_FACTOR:-1}"
MIN_ISR="${TOPIC_MIN_INSYNC_REPLICAS:-1}"
EVENTS_RETENTION="${EVENTS_RETENTION_MS:--1}"
INBOUND_RETENTION="${INBOUND_RETENTION_MS:-604800000}"
DEAD_LETTER_RETENTION="${DEAD_LETTER_RETENTION_MS:-2592000000}"
BIN="${TOOLS_DIR:-/opt/kafka/bin}"

# topic:partitions:retention, as in Shared/Contracts/Topics.swift.
TOPICS=(
    "registry.events:12:${EVENTS_RETENTION}"
    "mediation.events:6:${EVENTS_RETENTION}"
    "volunteer.events:6:${EVENTS_RETENTION}"
    "bidding.events:6:${EVENTS_RETENTION}"
    "district.inbound:12:${INBOUND_RETENTION}"
    "registry.events.dead-letter:1:${DEAD_LETTER_RETENTION}"
    "mediation.events.dead-letter:1:${DEAD_LETTER_RETENTION}"
    "volunteer.events.dead-letter:1:${DEAD_LETTER_RETENTION}"
    "bidding.events.dead-letter:1:${DEAD_LETTER_RETENTION}"
    "district.inbound.dead-letter:1:${DEAD_LETTER_RETENTION}"
)

log() { echo "create-topics: $*"; }

# The broker may still be electing itself; wait up to about two minutes.
for attempt in $(seq 1 60); do
    if existing=$("$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --list 2>/dev/null); then
        break
    fi
    if [ "$attempt" -eq 60 ]; then
        log "broker at $BOOTSTRAP did not answer" >&2
        exit 1
    fi
    sleep 2
done

description=$("$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe 2>/dev/null || true)
mismatches=0

for entry in "${TOPICS[@]}"; do
    IFS=: read -r topic partitions retention <<<"$entry"
    if grep -qxF "$topic" <<<"$existing"; then
        actual=$(awk -v t="$topic" '$1 == "Topic:" && $2 == t { for (i = 1; i <= NF; i++) if ($i == "PartitionCount:") print $(i + 1) }' <<<"$description")
        if [ -n "$actual" ] && [ "$actual" != "$partitions" ]; then
            log "WARNING: $topic has $actual partitions, the services expect $partitions (left as it is)" >&2
            mismatches=$((mismatches + 1))
        fi
        "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --alter --entity-type topics --entity-name "$topic" \
            --add-config "retention.ms=${retention},min.insync.replicas=${MIN_ISR}" >/dev/null
        log "$topic exists ($partitions partitions expected); retention.ms=$retention"
    else
        "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$topic" \
            --partitions "$partitions" --replication-factor "$REPLICATION" \
            --config "retention.ms=${retention}" --config "min.insync.replicas=${MIN_ISR}" \
            --config cleanup.policy=delete >/dev/null
        log "$topic created: $partitions partitions, replication $REPLICATION, retention.ms=$retention"
    fi
done

log "done ($mismatches partition mismatches)"
