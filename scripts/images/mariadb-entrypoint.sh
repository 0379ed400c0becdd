#!/bin/sh
# Entrypoint of dockop/mariadb:local, a minimal stand-in for the official mariadb image's: the
# same env conventions (MARIADB_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD,
# MARIADB_ALLOW_EMPTY_ROOT_PASSWORD, MARIADB_DATABASE or MYSQL_DATABASE, MARIADB_USER and
# MARIADB_PASSWORD or the MYSQL_ forms). The first run creates the system tables with
# `mariadbd --bootstrap` (what mariadb-install-db does); later runs start the server as is.
set -eu
DATADIR=/var/lib/mysql
if [ "$#" -gt 0 ] && [ "$1" != mariadbd ] && [ "${1#-}" = "$1" ]; then exec "$@"; fi
[ "${1:-}" = mariadbd ] && shift

mkdir -p "$DATADIR" /run/mysqld
chown mysql:mysql "$DATADIR" /run/mysqld

sql_string() { printf "'%s'" "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")"; }
sql_name() { printf '`%s`' "$(printf '%s' "$1" | sed 's/`/``/g')"; }

if [ ! -d "$DATADIR/mysql" ]; then
  root_pw=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}
  allow_empty=${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-${MYSQL_ALLOW_EMPTY_PASSWORD:-}}
  db=${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}
  user=${MARIADB_USER:-${MYSQL_USER:-}}
  user_pw=${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}
  if [ -z "$root_pw" ] && [ -z "$allow_empty" ]; then
    echo "mariadb-entrypoint: the database is uninitialized and MARIADB_ROOT_PASSWORD is not set" >&2
    echo "mariadb-entrypoint: set it (or MYSQL_ROOT_PASSWORD), or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD=1" >&2
    exit 1
  fi
  {
    echo "create database if not exists mysql;"
    echo "use mysql;"
    echo "SET @auth_root_socket=NULL;"
    cat /usr/share/mysql/mysql_system_tables.sql /usr/share/mysql/mysql_performance_tables.sql \
      /usr/share/mysql/mysql_system_tables_data.sql /usr/share/mysql/maria_add_gis_sp_bootstrap.sql \
      /usr/share/mysql/mysql_sys_schema.sql
    echo "FLUSH PRIVILEGES;"
    # Like the official image: root from localhost and from anywhere, with the same password.
    echo "DELETE FROM mysql.global_priv WHERE User='root' AND Host NOT IN ('localhost');"
    echo "DELETE FROM mysql.proxies_priv WHERE User='root' AND Host NOT IN ('localhost');"
    echo "FLUSH PRIVILEGES;"
    if [ -n "$root_pw" ]; then
      echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$root_pw");"
      echo "CREATE USER 'root'@'%' IDENTIFIED BY $(sql_string "$root_pw");"
    else
      echo "CREATE USER 'root'@'%';"
    fi
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "$db" ]; then echo "CREATE DATABASE IF NOT EXISTS $(sql_name "$db");"; fi
    if [ -n "$user" ] && [ -n "$user_pw" ]; then
      echo "CREATE USER $(sql_string "$user")@'%' IDENTIFIED BY $(sql_string "$user_pw");"
      if [ -n "$db" ]; then echo "GRANT ALL ON $(sql_name "$db").* TO $(sql_string "$user")@'%';"; fi
    fi
  } | mariadbd --user=mysql --bootstrap --datadir="$DATADIR" --log-warnings=0 \
    --enforce-storage-engine="" --max_allowed_packet=8M --net_buffer_length=16K >/dev/null
  echo "mariadb-entrypoint: initialised $DATADIR${db:+ (database $db)}" >&2
fi

exec mariadbd --user=mysql --datadir="$DATADIR" --socket=/run/mysqld/mysqld.sock \
  --skip-name-resolve --bind-address=0.0.0.0 "$@"
