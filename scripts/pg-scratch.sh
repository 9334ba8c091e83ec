#!/usr/bin/env bash
# A throwaway PostgreSQL cluster (Debian's `postgresql` package), for the tests and for trying
# the many-workers mode on one machine. Data in DIR, listening on 127.0.0.1:PORT only, trust
# authentication, fsync off: never for real data.
#   scripts/pg-scratch.sh start DIR PORT   prints the URL to pass as --db
#   scripts/pg-scratch.sh restart DIR      (the tests' "database restarts" case)
#   scripts/pg-scratch.sh stop DIR
set -euo pipefail
cmd=${1:?start|restart|stop}; dir=${2:?data folder}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/pg_ctl" ] || { echo "PostgreSQL server not installed (apt-get install postgresql)" >&2; exit 1; }
# initdb and the server refuse to run as root: run them as the postgres user then.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    port=${3:?port}
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$dir" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  restart) as_pg "$bin/pg_ctl" -D "$dir" -m fast -w -t 30 restart >/dev/null ;;
  stop) as_pg "$bin/pg_ctl" -D "$dir" -m fast -w -t 30 stop >/dev/null ;;
  *) echo "usage: $0 start|restart|stop DIR [PORT]" >&2; exit 2 ;;
esac
