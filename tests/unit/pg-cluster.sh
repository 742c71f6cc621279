#!/usr/bin/env bash
# pg-cluster.sh COMMAND [ARGS...] — runs COMMAND against a throwaway PostgreSQL cluster:
# initdb in a temporary directory, the server on 127.0.0.1 and a unix socket in that
# directory only, on the first free port of PG_CLUSTER_PORTS (55432-55439), with
# ORCH_TEST_DB_URL=postgresql://postgres@127.0.0.1:PORT/postgres in COMMAND's environment;
# the cluster is stopped and removed when COMMAND ends, and its exit code is ours.
# initdb and postgres refuse to run as root: as root they run as the postgres system user,
# who owns the directory. The binaries come from pg_config --bindir, else the newest
# /usr/lib/postgresql/*/bin (Debian's postgresql package); missing ones fail the test.
# The cluster runs with fsync and full_page_writes off (tests want speed, not durability);
# PG_CLUSTER_FSYNC=on keeps PostgreSQL's durable defaults (fsync, full_page_writes and
# synchronous_commit on), for benchmarks that must count the flushes.
set -euo pipefail

case ${PG_CLUSTER_FSYNC:-off} in
off) durability=("fsync = off" "full_page_writes = off") ;;
on) durability=("fsync = on" "full_page_writes = on" "synchronous_commit = on") ;;
*)
        echo "pg-cluster.sh: PG_CLUSTER_FSYNC is on or off, not '$PG_CLUSTER_FSYNC'" >&2
        exit 2
        ;;
esac

[ $# -gt 0 ] || {
        echo "usage: $0 COMMAND [ARGS...]" >&2
        exit 2
}

bindir=
if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then
        bindir=$(pg_config --bindir)
else
        for d in /usr/lib/postgresql/*/bin; do
                [ -x "$d/initdb" ] && bindir=$d
        done
fi
if [ -z "$bindir" ]; then
        echo "pg-cluster.sh: no PostgreSQL server binaries (initdb): install the postgresql package" >&2
        exit 1
fi

as_owner=()
if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || {
                echo "pg-cluster.sh: running as root, and there is no postgres user to run the server as" >&2
                exit 1
        }
        as_owner=(runuser -u postgres --)
fi

dir=$(mktemp -d /tmp/pg-cluster.XXXXXX)
chmod 0700 "$dir"
[ ${#as_owner[@]} -eq 0 ] || chown postgres: "$dir"
started=
# shellcheck disable=SC2317 # called through the trap
cleanup() {
        if [ -n "$started" ]; then
                "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
        fi
        rm -rf "$dir"
}
trap cleanup EXIT

"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
}

# The settings go into the cluster's own configuration, so that a test that restarts the
# server (pg_ctl -D "$PG_CLUSTER_DATA" start) gets the same address, port and socket.
# A port another process holds makes the start fail: try the next one.
for port in $(seq "${PG_CLUSTER_PORT_FIRST:-55432}" "${PG_CLUSTER_PORT_LAST:-55439}"); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                continue
        fi
        printf "%s\n" "listen_addresses = '127.0.0.1'" "port = $port" "unix_socket_directories = '$dir'" \
                "${durability[@]}" >"$dir/data/postgresql.auto.conf"
        [ ${#as_owner[@]} -eq 0 ] || chown postgres: "$dir/data/postgresql.auto.conf"
        if "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null; then
                started=1
                break
        fi
done
if [ -z "$started" ]; then
        echo "pg-cluster.sh: the server did not start on any port of ${PG_CLUSTER_PORT_FIRST:-55432}-${PG_CLUSTER_PORT_LAST:-55439}" >&2
        cat "$dir/server.log" >&2 || true
        exit 1
fi

export ORCH_TEST_DB_URL="postgresql://postgres@127.0.0.1:$port/postgres"
# The server's own data: a test that restarts it (connection loss) uses these.
export PG_CLUSTER_DATA="$dir/data" PG_CLUSTER_BINDIR="$bindir"
status=0
"$@" || status=$?
exit "$status"
