#!/bin/sh
# One database per service, each with two roles (runs once, when the Postgres data directory is created, as the
# superuser: /docker-entrypoint-initdb.d in the postgres image):
#   <service>_owner  owns the database and its schema; `hearth-<service> migrate` connects as it
#                    (HEARTH_MIGRATIONS_DATABASE_URL);
#   <service>        the runtime role of `hearth-<service> serve` (HEARTH_DATABASE_URL): reads and writes the
#                    owner's tables, cannot create, alter or drop anything, cannot reach another service's database.
#   <service>_audit  no login, no password: owns schema `audit` (the append-only, hash-chained audit trail), so
#                    neither role above can alter, disable or drop it; the runtime role appends through
#                    audit.append(). Created by the kit's bootstrap, hearth-audit-bootstrap.psql beside this script
#                    (libs/kit/src/hearth/kit/sql/bootstrap/audit.sql).
# Passwords come from HEARTH_<SERVICE>_DB_PASSWORD and HEARTH_<SERVICE>_DB_OWNER_PASSWORD (development defaults).
set -eu

psql_super() {
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" "$@"
}

# Nobody but the superuser may connect to the maintenance databases.
psql_super --dbname postgres <<'SQL'
REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC;
SQL

for service in ${HEARTH_SERVICES:-screening fulfillment session followup}; do
    upper=$(printf '%s' "$service" | tr '[:lower:]' '[:upper:]')
    runtime_password=$(printenv "HEARTH_${upper}_DB_PASSWORD" || printf '%s-dev' "$service")
    owner_password=$(printenv "HEARTH_${upper}_DB_OWNER_PASSWORD" || printf '%s-owner-dev' "$service")

    psql_super --dbname postgres \
        -v db="$service" -v owner="${service}_owner" -v runtime="$service" \
        -v owner_password="$owner_password" -v runtime_password="$runtime_password" <<'SQL'
CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password';
CREATE ROLE :"runtime" LOGIN PASSWORD :'runtime_password';
CREATE DATABASE :"db" OWNER :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"runtime";
SQL

    psql_super --dbname "$service" -v owner="${service}_owner" -v runtime="$service" <<'SQL'
-- PostgreSQL 15: schema public belongs to the database owner and PUBLIC cannot create in it.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO :"runtime";
SQL
    psql_super --dbname "$service" --file "${HEARTH_AUDIT_BOOTSTRAP:-/docker-entrypoint-initdb.d/hearth-audit-bootstrap.psql}"
    echo "hearth: database $service (owner ${service}_owner, runtime role $service, audit trail ${service}_audit)"
done
