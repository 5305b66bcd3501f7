#!/bin/sh
# The monthly restore drill: restore a dump into a scratch database and check that it is whole.
#
#   ops/backup/restore-drill.sh /srv/backups/aftercare/aftercare-STAMP.dump \
#       postgresql://postgres@127.0.0.1:5432/aftercare_drill
#
# The scratch database must exist and may hold an earlier drill (it is cleaned first); never
# point it at production. Settings (environment): PG_RESTORE and PSQL, the tools to use (default:
# on the PATH), pg_restore at least as new as the pg_dump that wrote the dump.
# Passes (exit 0) when pg_restore succeeds and the restored database has a schema revision and
# the service's tables; prints the revision, the row counts and the newest message's time, to
# compare with production and to write down with the date and how long the drill took.
set -eu

dump=${1:?usage: restore-drill.sh DUMP SCRATCH_DATABASE_URL}
url=${2:?usage: restore-drill.sh DUMP SCRATCH_DATABASE_URL}
url=$(printf '%s' "$url" | sed 's#^postgresql+asyncpg://#postgresql://#')
pg_restore=${PG_RESTORE:-pg_restore}
psql=${PSQL:-psql}

started=$(date +%s)
"$pg_restore" --clean --if-exists --no-owner --exit-on-error --dbname="$url" "$dump"
"$psql" --dbname="$url" --no-psqlrc --quiet --tuples-only --no-align --set=ON_ERROR_STOP=1 <<'SQL'
SELECT 'revision ' || version_num FROM alembic_version;
SELECT 'clients ' || count(*) FROM clients;
SELECT 'inbound_messages ' || count(*) FROM inbound_messages;
SELECT 'outbox_messages ' || count(*) FROM outbox_messages;
SELECT 'alerts ' || count(*) FROM alerts;
SELECT 'audit_log ' || count(*) FROM audit_log;
SELECT 'newest_message ' || coalesce(max(received_at)::text, 'none') FROM inbound_messages;
SQL
echo "restored in $(( $(date +%s) - started )) s"
