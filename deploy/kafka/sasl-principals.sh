#!/bin/bash
# SCRAM-SHA-512 credentials and ACLs for the SASL variant (deploy/docker-compose.sasl.yml). Runs in
# the `kafka-init` job after create-topics.sh, over the broker's loopback listener, where the
# broker's own principal (User:ANONYMOUS, reachable only from inside the broker's network
# namespace) is the super user.
#
# Principals:
#   User:registry, User:mediation, User:volunteer-matching, User:bidding, User:operator (cityctl)
#       produce to their own `<domain>.events`, consume the topics their code subscribes to (consumer
#       groups `<service>-…`), and produce dead letters beside each topic they consume;
#   User:district-<code>, one per district
#       WRITE (and DESCRIBE) on `district.inbound`, nothing else.
#
# Environment:
#   REGISTRY_KAFKA_PASSWORD, MEDIATION_KAFKA_PASSWORD, VOLUNTEER_MATCHING_KAFKA_PASSWORD,
#   BIDDING_KAFKA_PASSWORD      the services' SCRAM passwords (required)
#   DISTRICT_KAFKA_CREDENTIALS  `D01:password,D02:password`: district codes and their passwords
#                               (passwords without `,` or `:`); may be empty
#   DISTRICT_DEAD_LETTER_READ   `true` also lets each district read district.inbound.dead-letter
#                               (it then sees every district's refused records; see
#                               docs/district-integration.md). Default `false`.
#   BOOTSTRAP, TOOLS_DIR        as in create-topics.sh
#
# Running it again updates passwords and adds missing ACLs; it never removes any. To revoke a
# district, see docs/district-integration.md.
set -euo pipefail

BOOTSTRAP="${BOOTSTRAP:-127.0.0.1:19092}"
BIN="${TOOLS_DIR:-/opt/kafka/bin}"
MECHANISM=SCRAM-SHA-512

log() { echo "sasl-principals: $*"; }

scram_user() { # name password
    "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --alter --entity-type users --entity-name "$1" \
        --add-config "${MECHANISM}=[iterations=8192,password=$2]" >/dev/null
    log "SCRAM credential set for User:$1"
}

acl() { # kafka-acls.sh arguments after --add
    "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --add --force "$@" >/dev/null
}

produce() { # principal topic
    acl --allow-principal "User:$1" --operation Write --operation Describe --topic "$2"
}

consume() { # principal topic group-prefix: read the topic, commit as groups "<prefix>…", dead-letter beside it
    acl --allow-principal "User:$1" --operation Read --operation Describe --topic "$2"
    acl --allow-principal "User:$1" --operation Read --operation Describe --group "$3" --resource-pattern-type prefixed
    produce "$1" "$2.dead-letter"
}

for variable in REGISTRY_KAFKA_PASSWORD MEDIATION_KAFKA_PASSWORD VOLUNTEER_MATCHING_KAFKA_PASSWORD BIDDING_KAFKA_PASSWORD OPERATOR_KAFKA_PASSWORD; do
    if [ -z "${!variable:-}" ]; then
        log "$variable is not set" >&2
        exit 1
    fi
done

# The services. Consumer groups are "<service>-<suffix>" (Shared/ServiceRuntime/ServiceHost.swift).
scram_user registry "$REGISTRY_KAFKA_PASSWORD"
produce registry registry.events
consume registry district.inbound registry-

scram_user mediation "$MEDIATION_KAFKA_PASSWORD"
produce mediation mediation.events
consume mediation registry.events mediation-
consume mediation district.inbound mediation-

scram_user volunteer-matching "$VOLUNTEER_MATCHING_KAFKA_PASSWORD"
produce volunteer-matching volunteer.events
consume volunteer-matching registry.events volunteer-matching-
consume volunteer-matching district.inbound volunteer-matching-

scram_user bidding "$BIDDING_KAFKA_PASSWORD"
produce bidding bidding.events
# Bidding checks bidders against the registry's organisations and draws panels from its experts.
consume bidding registry.events bidding-
log "service ACLs in place"

# The operators' cityctl: reads every dead-letter topic (assigned partitions, no group) and writes
# replays back to the original topics; publishes district files and the simulator's stream.
scram_user operator "$OPERATOR_KAFKA_PASSWORD"
for topic in registry.events mediation.events volunteer.events bidding.events district.inbound; do
    produce operator "$topic"
    acl --allow-principal User:operator --operation Read --operation Describe --topic "$topic.dead-letter"
done
log "User:operator may read dead letters and replay them"

# The districts: each may write to district.inbound and nowhere else.
IFS=',' read -r -a districts <<<"${DISTRICT_KAFKA_CREDENTIALS:-}"
for entry in "${districts[@]}"; do
    [ -n "$entry" ] || continue
    code="${entry%%:*}"
    password="${entry#*:}"
    if [ -z "$code" ] || [ "$code" = "$entry" ] || [ -z "$password" ]; then
        log "DISTRICT_KAFKA_CREDENTIALS entry '${code}' is not code:password" >&2
        exit 1
    fi
    principal="district-${code}"
    scram_user "$principal" "$password"
    produce "$principal" district.inbound
    if [ "${DISTRICT_DEAD_LETTER_READ:-false}" = "true" ]; then
        acl --allow-principal "User:$principal" --operation Read --operation Describe --topic district.inbound.dead-letter
        acl --allow-principal "User:$principal" --operation Read --group "${principal}-" --resource-pattern-type prefixed
    fi
    log "User:$principal may write to district.inbound"
done

log "done"
