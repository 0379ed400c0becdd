#!/bin/sh
# Entrypoint of dockop/postgres:local, a minimal stand-in for the official postgres image's: the
# same env conventions (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, POSTGRES_HOST_AUTH_METHOD,
# PGDATA), local socket connections trusted, host connections by password. The first run
# initialises the cluster; later runs start it as is. Any other command runs unchanged.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA
if [ "$#" -gt 0 ] && [ "$1" != postgres ] && [ "${1#-}" = "$1" ]; then exec "$@"; fi
[ "${1:-}" = postgres ] && shift

# busybox su as root asks no password; `exec "$0" "$@"` keeps argv exact (no word splitting),
# and `--` keeps su from reading the command's own options (busybox permutes argv).
as_postgres() { su -s /bin/sh -c 'exec "$0" "$@"' -- postgres "$@"; }

mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
chmod 2775 /var/run/postgresql

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  user=${POSTGRES_USER:-postgres}
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo "postgres-entrypoint: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
    echo "postgres-entrypoint: set it, or POSTGRES_HOST_AUTH_METHOD=trust" >&2
    exit 1
  fi
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    # The password goes through a file readable by postgres only, never through argv.
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    chmod 600 "$pwfile"
    as_postgres initdb -D "$PGDATA" --username="$user" --pwfile="$pwfile" --auth-local=trust \
      --auth-host="$auth" --encoding=UTF8 --locale=C >/dev/null
    rm -f "$pwfile"
  else
    as_postgres initdb -D "$PGDATA" --username="$user" --auth-local=trust --auth-host=trust \
      --encoding=UTF8 --locale=C >/dev/null
  fi
  printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
  db=${POSTGRES_DB:-$user}
  if [ "$db" != postgres ]; then
    # Single-user mode: no server, no socket, nothing to wait for.
    printf 'CREATE DATABASE "%s";\n' "$(printf '%s' "$db" | sed 's/"/""/g')" |
      as_postgres postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
  echo "postgres-entrypoint: initialised $PGDATA (user $user, database $db)" >&2
fi

exec su -s /bin/sh -c 'exec "$0" "$@"' -- postgres postgres -D "$PGDATA" -c listen_addresses='*' "$@"
