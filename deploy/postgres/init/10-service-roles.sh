#!/bin/bash
# Runs once, when the PostgreSQL data volume is empty (docker-entrypoint-initdb.d).
#
# Creates one login role per service and a schema owned by that role in the city database. Each
# service applies its own migrations into its schema at start (`CREATE SCHEMA IF NOT EXISTS`, then
# its tables), so nothing else is created here, except the `btree_gist` extension that
# volunteer-matching's migrations ask for: created by the administrator, the service's own
# `CREATE EXTENSION IF NOT EXISTS` finds it and needs no further privilege.
#
# Passwords come from the container's environment (set from deploy/.env), never from this file.
# Changing them later does not re-run this script: use ALTER ROLE … PASSWORD (deploy/README.md).
set -euo pipefail

for variable in REGISTRY_DB_PASSWORD MEDIATION_DB_PASSWORD VOLUNTEER_MATCHING_DB_PASSWORD BIDDING_DB_PASSWORD; do
    if [ -z "${!variable:-}" ]; then
        echo "10-service-roles.sh: $variable is not set" >&2
        exit 1
    fi
done

# psql variables are substituted as quoted literals (:'name') and identifiers (:"name"), so a
# password cannot break out of its string.
psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v db="$POSTGRES_DB" \
    -v registry_password="$REGISTRY_DB_PASSWORD" \
    -v mediation_password="$MEDIATION_DB_PASSWORD" \
    -v volunteer_matching_password="$VOLUNTEER_MATCHING_DB_PASSWORD" \
    -v bidding_password="$BIDDING_DB_PASSWORD" <<'SQL'
-- Nobody but the roles below may connect or create anything in the city database.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE ROLE registry LOGIN PASSWORD :'registry_password';
CREATE ROLE mediation LOGIN PASSWORD :'mediation_password';
CREATE ROLE volunteer_matching LOGIN PASSWORD :'volunteer_matching_password';
CREATE ROLE bidding LOGIN PASSWORD :'bidding_password';

-- CONNECT to log in, TEMPORARY for temporary tables. CREATE on the database is needed because
-- every start runs CREATE SCHEMA IF NOT EXISTS, and PostgreSQL checks that privilege before it
-- looks whether the schema exists. It lets a role create further schemas, not enter others'.
GRANT CONNECT, TEMPORARY, CREATE ON DATABASE :"db" TO registry, mediation, volunteer_matching, bidding;

-- One schema per service, owned by its role; no other role is granted anything in it.
CREATE SCHEMA registry AUTHORIZATION registry;
CREATE SCHEMA mediation AUTHORIZATION mediation;
CREATE SCHEMA volunteer_matching AUTHORIZATION volunteer_matching;
CREATE SCHEMA bidding AUTHORIZATION bidding;

-- volunteer-matching's exclusion constraint needs btree_gist in public (once per database).
CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public;
SQL

echo "10-service-roles.sh: roles and schemas for registry, mediation, volunteer_matching and bidding are in place"
