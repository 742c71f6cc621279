#!/usr/bin/env bash
# Job store benchmark (issue 19), host-run (no pod): synchronous jobs per second at 32
# connections with the orchestrator's store on SQLite, on PostgreSQL, and with 2 and 3
# orchestrators sharing that PostgreSQL, each on its own port. Every request is a job
# (POST /ai/nlp/process to orch-fake-upstream, a fixed JSON answer: the figures are the
# orchestrator's and its store's) stored with its outcome before it is answered; no
# result cache, no auth. N orchestrators get one wrk each, started together, the 32
# connections divided among them; their req/s are summed.
# Rounds alternate SQLite, PG×1, PG×2, PG×3 three times; medians are printed, with the
# CPU each party used while measuring (from /proc/PID/stat and /proc/stat).
# PostgreSQL is tests/unit/pg-cluster.sh's throwaway cluster, once with fsync off (as the
# unit tests run it) and once with fsync, full_page_writes and synchronous_commit on
# (SCALE_OUT_BENCH_FSYNC="off on" chooses the passes). SQLite is a file in /tmp as the
# orchestrator opens it (WAL, synchronous=NORMAL).
# Usage: tests/bench/scale-out.sh [seconds per run]   (default 10; needs wrk, psql)
# Ports: SCALE_OUT_BENCH_PORT (18700) the fake upstream, +1..+3 the orchestrators;
# PostgreSQL on the first free one of PG_CLUSTER_PORT_FIRST (55436)..55439.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"

secs=${1:-10}
conns=32
rounds=3

if [ -z "${SCALE_OUT_BENCH_CLUSTER:-}" ]; then
        for tool in wrk psql; do
                command -v "$tool" >/dev/null || die "$tool is missing"
        done
        echo "load before: $(uptime)"
        for fsync in ${SCALE_OUT_BENCH_FSYNC:-off on}; do
                SCALE_OUT_BENCH_CLUSTER=1 PG_CLUSTER_FSYNC=$fsync PG_CLUSTER_PORT_FIRST=${PG_CLUSTER_PORT_FIRST:-55436} \
                        "$AI_SEMBLE_ROOT/tests/unit/pg-cluster.sh" "$0" "$secs"
        done
        echo
        echo "load after: $(uptime)"
        exit 0
fi

# From here on: inside pg-cluster.sh, ORCH_TEST_DB_URL is its server.
port=${SCALE_OUT_BENCH_PORT:-18700}
orch="$AI_SEMBLE_BUILD/services/orchestrator/ai-semble-orchestrator"
fake="$AI_SEMBLE_BUILD/tests/unit/orch-fake-upstream"
{ [ -x "$orch" ] && [ -x "$fake" ]; } || die "build first: $orch and $fake"
hz=$(getconf CLK_TCK)
postmaster=$(head -n 1 "$PG_CLUSTER_DATA/postmaster.pid")

tmp=$(mktemp -d /tmp/scale-out-bench.XXXXXX)
up_pid=
orch_pids=()
stop_orchestrators() {
        [ ${#orch_pids[@]} -gt 0 ] || return 0
        kill "${orch_pids[@]}" 2>/dev/null || true
        wait "${orch_pids[@]}" 2>/dev/null || true
        orch_pids=()
}
# shellcheck disable=SC2317 # called through the trap
cleanup() {
        stop_orchestrators
        [ -z "$up_pid" ] || kill "$up_pid" 2>/dev/null || true
        wait 2>/dev/null || true
        rm -rf "$tmp"
}
trap cleanup EXIT

wait_up() { # url
        for _ in $(seq 100); do
                curl -s -o /dev/null "$1" && return 0
                sleep 0.1
        done
        die "$1 did not come up"
}

"$fake" "127.0.0.1:$port" &
up_pid=$!
up="http://127.0.0.1:$port"
wait_up "$up/health/live"

cat >"$tmp/job.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"text":"benchmark text","task":"tokenize"}'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
        local e = summary.errors
        io.write(string.format("RESULT %.1f %d %d\n", summary.requests / (summary.duration / 1e6),
                e.status + e.connect + e.read + e.write + e.timeout, summary.requests))
end
LUA

# start_orchestrators N SQLITE_PATH|PG_URL: N orchestrators on ports port+1.., one store.
start_orchestrators() {
        local i db_env
        for i in $(seq "$1"); do
                case $2 in
                postgresql://*) db_env=(ORCH_DB_URL="$2" ORCH_INSTANCE="bench$i") ;;
                *) db_env=(ORCH_DB_PATH="$2") ;;
                esac
                env "${db_env[@]}" ORCHESTRATOR_LISTEN="127.0.0.1:$((port + i))" LOG_LEVEL=warning ORCH_AUTH=off \
                        ORCH_CACHE_MAX_BYTES=0 HTTP_THREADS=64 ORCH_WORKERS=32 \
                        LLM_SERVICE_URL="$up" VISION_SERVICE_URL="$up" NLP_SERVICE_URL="$up" DATA_PROCESSOR_URL="$up" "$orch" 2>>"$tmp/orch$i.log" &
                orch_pids+=($!)
        done
        for i in $(seq "$1"); do
                wait_up "http://127.0.0.1:$((port + i))/health/live" || {
                        tail -n 5 "$tmp/orch$i.log" >&2
                        exit 1
                }
        done
}

# load N SECONDS OUT: one wrk per orchestrator, together, the connections divided; each
# writes "rps errors requests" and its CPU seconds (/usr/bin/time) to OUT.I.
load() {
        local i c threads=$(($1 == 1 ? 2 : 1)) pids=()
        for i in $(seq "$1"); do
                c=$((conns / $1 + (i <= conns % $1 ? 1 : 0)))
                /usr/bin/time -f "CPU %U %S" -o "$3.$i.cpu" \
                        wrk -t"$threads" -c"$c" -d"$2s" -s "$tmp/job.lua" "http://127.0.0.1:$((port + i))/ai/nlp/process" |
                        awk '/^RESULT/ { print $2, $3, $4 }' >"$3.$i" &
                pids+=($!)
        done
        wait "${pids[@]}"
}

# snapshot: "who pid ticks" for the orchestrators, the upstream and PostgreSQL's
# processes, then "busy - ticks" for the whole machine (/proc/stat, every core).
snapshot() {
        local p o who
        for p in "${orch_pids[@]}" "$up_pid" "$postmaster" $(pgrep -P "$postmaster"); do
                who=postgres
                [ "$p" != "$up_pid" ] || who=upstream
                for o in "${orch_pids[@]}"; do [ "$p" != "$o" ] || who=orch; done
                [ -r "/proc/$p/stat" ] && sed 's/.*) //' "/proc/$p/stat" | awk -v w="$who" -v p="$p" '{ print w, p, $12 + $13 }'
        done
        awk '$1 == "cpu" { print "busy", "-", $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
        return 0
}

# measure STORE N ROUND: one run; appends "store n round rps errors requests unstored wall
# cpu_orch cpu_pg cpu_upstream cpu_wrk cpu_busy commits" (CPU in seconds) to $tmp/results;
# unstored = completed jobs in the store minus the requests answered (never below 0);
# commits = PostgreSQL's transactions committed in that database per job (0 on SQLite).
measure() {
        local db t0 t1 out="$tmp/run.$1.$2.$3" stored rps errors requests warm commits=0
        if [ "$1" = sqlite ]; then
                db="$tmp/$2.$3.db"
        else
                psql -q -d "$ORCH_TEST_DB_URL" -c "CREATE DATABASE bench_$2_$3"
                db="${ORCH_TEST_DB_URL%/*}/bench_$2_$3"
        fi
        start_orchestrators "$2" "$db"
        load "$2" 2 "$out.warm" # connections opened, statements prepared, pages cached
        snapshot >"$out.before"
        t0=$(date +%s.%N)
        load "$2" "$secs" "$out"
        t1=$(date +%s.%N)
        snapshot >"$out.after"
        stored=$(curl -s "http://127.0.0.1:$((port + 1))/metrics" | awk '/^orch_jobs\{status="completed"\}/ { print $2 }')
        stop_orchestrators
        read -r rps errors requests < <(cat "$out".[0-9] | awk '{ r += $1; e += $2; n += $3 } END { print r, e, n }')
        warm=$(cat "$out.warm".[0-9] | awk '{ n += $3 } END { print n }')
        if [ "$1" = pg ]; then
                sleep 1 # the backends' statistics reach pg_stat_database as they exit
                commits=$(psql -Atq -d "$ORCH_TEST_DB_URL" \
                        -c "SELECT xact_commit FROM pg_stat_database WHERE datname = 'bench_$2_$3'")
        fi
        {
                echo "$1 $2 $3 $rps $errors $requests $((stored - warm - requests))" | tr '\n' ' '
                awk -v c="$commits" -v n="$((warm + requests))" -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" -v hz="$hz" '
                        FNR == NR { before[$1 " " $2] = $3; next }
                        FILENAME ~ /after$/ { d[$1] += $3 - before[$1 " " $2]; next }
                        /^CPU/ { d["wrk"] += ($2 + $3) * hz }
                        END { printf "%.3f %.3f %.3f %.3f %.3f %.3f %.4f\n", w, d["orch"] / hz, d["postgres"] / hz,
                                d["upstream"] / hz, d["wrk"] / hz, d["busy"] / hz, c / (n + 0) }' \
                        "$out.before" "$out.after" "$out".[0-9].cpu
        } >>"$tmp/results"
}

fsync=$(psql -Atq -d "$ORCH_TEST_DB_URL" -c "SHOW fsync")
sync_commit=$(psql -Atq -d "$ORCH_TEST_DB_URL" -c "SHOW synchronous_commit")
echo
echo "## PostgreSQL fsync=$fsync, synchronous_commit=$sync_commit (${secs}s per run, $conns connections, $rounds rounds)"
echo
for r in $(seq "$rounds"); do
        measure sqlite 1 "$r"
        for n in 1 2 3; do measure pg "$n" "$r"; done
done

# The table: req/s of each round, their median, the ratio to SQLite and to one
# orchestrator on PostgreSQL; CPU in cores (CPU seconds / wall seconds), mean of the rounds.
awk -v cores="$(nproc)" -v rounds="$rounds" '
        function median(a, b, c) { return a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b)) }
        {
                k = $1 == "sqlite" ? "SQLite, 1 orchestrator" : "PostgreSQL, " $2 " orchestrator" ($2 > 1 ? "s" : "")
                if (!(k in seen)) { seen[k] = 1; order[++n] = k }
                rps[k, ++runs[k]] = $4; err[k] += $5; req[k] += $6; gap[k] += $7
                wall[k] += $8; orch[k] += $9; pg[k] += $10; up[k] += $11; wrk[k] += $12; busy[k] += $13; commits[k] += $14 / rounds
        }
        END {
                print "| store, orchestrators | req/s per round | median req/s | vs SQLite | vs PG×1 | errors | CPU cores: orchestrators / postgres / upstream / wrk / rest (of " cores ") | CPU µs per job: orchestrators / postgres | PG commits per job |"
                print "|---|---|---|---|---|---|---|---|---|"
                for (i = 1; i <= n; i++) {
                        k = order[i]
                        m[k] = median(rps[k, 1], rps[k, 2], rps[k, 3])
                }
                for (i = 1; i <= n; i++) {
                        k = order[i]
                        rest = busy[k] - orch[k] - pg[k] - up[k] - wrk[k]
                        printf "| %s | %.0f, %.0f, %.0f | **%.0f** | %.2f | %.2f | %d | %.2f / %.2f / %.2f / %.2f / %.2f | %.0f / %.0f | %s |\n",
                                k, rps[k, 1], rps[k, 2], rps[k, 3], m[k], m[k] / m[order[1]], m[k] / m[order[2]], err[k],
                                orch[k] / wall[k], pg[k] / wall[k], up[k] / wall[k], wrk[k] / wall[k], rest / wall[k],
                                1e6 * orch[k] / req[k], 1e6 * pg[k] / req[k],
                                k ~ /^SQLite/ ? "—" : sprintf("%.2f", commits[k])
                        if (gap[k] < 0 || err[k] > 0) bad = bad " " k
                }
                if (bad != "") print "\nERRORS, OR FEWER COMPLETED JOBS STORED THAN REQUESTS ANSWERED:" bad
                else print "\nEvery answered request is a completed job in the store (checked with orch_jobs after each run)."
        }' "$tmp/results"
