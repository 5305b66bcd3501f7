#!/bin/sh
# A dump of the aftercare database: custom format (-Fc: compressed, restorable table by table),
# written under a temporary name and renamed when complete, so a dump that exists is whole.
# Dumps older than AFTERCARE_BACKUP_KEEP_DAYS are deleted.
#
#   AFTERCARE_DATABASE_URL=postgresql://aftercare@db:5432/aftercare ops/backup/backup.sh /srv/backups/aftercare
#
# Settings (environment):
#   AFTERCARE_DATABASE_URL     the service's database URL (a "+asyncpg" suffix is dropped); the
#                              password is better kept in ~/.pgpass than in the URL
#   AFTERCARE_BACKUP_KEEP_DAYS days of dumps kept (default 14)
#   PG_DUMP                    the pg_dump to use (default: pg_dump on the PATH); it must be of
#                              the server's major version or newer
# Prints the dump's path. Dumps hold clients' data: keep them encrypted, off the database host.
set -eu
umask 077

dir=${1:?usage: backup.sh BACKUP_DIR}
url=${AFTERCARE_DATABASE_URL:?set AFTERCARE_DATABASE_URL}
url=$(printf '%s' "$url" | sed 's#^postgresql+asyncpg://#postgresql://#')
keep=${AFTERCARE_BACKUP_KEEP_DAYS:-14}
pg_dump=${PG_DUMP:-pg_dump}

mkdir -p "$dir"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
partial="$dir/.aftercare-$stamp.partial"
trap 'rm -f "$partial"' EXIT
"$pg_dump" --format=custom --no-owner --dbname="$url" --file="$partial"
mv "$partial" "$dir/aftercare-$stamp.dump"
find "$dir" -maxdepth 1 -name 'aftercare-*.dump' -mtime "+$keep" -delete
echo "$dir/aftercare-$stamp.dump"
