#!/bin/sh
# Entrypoint of dockop/redis:local, a minimal stand-in for the official redis image's: data in
# /data (the working directory), the server as the redis user, arguments starting with `-` passed
# to redis-server. Any other command runs unchanged.
set -eu
if [ "$#" -gt 0 ] && [ "${1#-}" != "$1" ]; then set -- redis-server "$@"; fi
if [ "$#" -eq 0 ]; then set -- redis-server; fi
if [ "$1" = redis-server ]; then
  mkdir -p /data
  chown redis:redis /data
  shift
  exec su -s /bin/sh -c 'exec "$0" "$@"' -- redis redis-server --dir /data "$@"
fi
exec "$@"
