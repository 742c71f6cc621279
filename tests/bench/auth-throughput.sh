#!/usr/bin/env bash
# The throughput cost of bearer auth on the orchestrator (issue 4's target: <= 5 % on a
# cheap route). Two real orchestrators run side by side on loopback, one with auth off
# and one with an HS256 secret, each with a job stored; wrk (2 threads) hits
#   GET /jobs/{id}          with a viewer token (a cheap route: one SQLite row read)
#   POST /locks/bench       with an admin token (a lease renewal: one write + one audit row)
# in interleaved rounds (off, on, off, on, ...) and the median req/s of each side and the
# loss are printed. The audit row and its journal line are written with auth off too
# (actor = client address), so the POST figures compare auth alone, audit included on
# both sides.
# With AUTH_BENCH_BASELINE=<an orchestrator binary built before the audit trail> a third
# row compares the POST with auth off on that binary (no audit row) and on this one
# (audit row + journal line): the cost of the audit writes alone.
# Usage: tests/bench/auth-throughput.sh [rounds] [seconds]   (default 5 rounds of 5 s)
# Ports: AUTH_BENCH_PORT (18190) auth off, +1 fake upstream, +2 auth on, +3 baseline.
# AUTH_BENCH_CONNECTIONS (8) wrk connections.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"

rounds=${1:-5}
secs=${2:-5}
conns=${AUTH_BENCH_CONNECTIONS:-8}
port=${AUTH_BENCH_PORT:-18190}
up_port=$((port + 1))
auth_port=$((port + 2))
orch="$AI_SEMBLE_BUILD/services/orchestrator/ai-semble-orchestrator"
token="$AI_SEMBLE_BUILD/services/orchestrator/ai-semble-token"
fake="$AI_SEMBLE_BUILD/tests/unit/orch-fake-upstream"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
for b in "$orch" "$token" "$fake"; do [ -x "$b" ] || die "build first: $b"; done

tmp=$(mktemp -d /tmp/auth-bench.XXXXXX)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$tmp"
}
trap cleanup EXIT

head -c 48 /dev/urandom | base64 >"$tmp/secret"
viewer=$("$token" --secret-file "$tmp/secret" --role viewer --sub bench-viewer --ttl 1h)
admin=$("$token" --secret-file "$tmp/secret" --role admin --sub bench-admin --ttl 1h)

"$fake" "127.0.0.1:$up_port" &
pids+=($!)
up="http://127.0.0.1:$up_port"
start() { # port db [secret [binary]]
        ORCHESTRATOR_LISTEN="127.0.0.1:$1" ORCH_DB_PATH="$tmp/$2" LOG_LEVEL=notice \
                ORCH_JWT_SECRET_FILE=${3:-} ORCH_AUTH=$([ -n "${3:-}" ] && echo required || echo off) \
                LLM_SERVICE_URL=$up VISION_SERVICE_URL=$up \
                NLP_SERVICE_URL=$up DATA_PROCESSOR_URL=$up "${4:-$orch}" 2>>"$tmp/$2.log" &
        pids+=($!)
        for _ in $(seq 50); do
                curl -sf -o /dev/null "http://127.0.0.1:$1/health/live" && return 0
                sleep 0.1
        done
        die "the orchestrator on port $1 did not start: $(tail -3 "$tmp/$2.log")"
}
start "$port" off.db
start "$auth_port" on.db "$tmp/secret"
base_port=$((port + 3))
if [ -n "${AUTH_BENCH_BASELINE:-}" ]; then
        [ -x "$AUTH_BENCH_BASELINE" ] || die "AUTH_BENCH_BASELINE: $AUTH_BENCH_BASELINE is not executable"
        start "$base_port" base.db "" "$AUTH_BENCH_BASELINE"
fi

submit() { # port auth-header -> job id
        curl -sf -H "$2" -H 'Content-Type: application/json' -d '{"text":"x","task":"tokenize"}' \
                "http://127.0.0.1:$1/ai/nlp/process" | sed -n 's/.*"job_id":"\([^"]*\)".*/\1/p'
}
job_off=$(submit "$port" "X-Bench: 1")
job_on=$(submit "$auth_port" "Authorization: Bearer $admin")
{ [ -n "$job_off" ] && [ -n "$job_on" ]; } || die "could not create the jobs to read"

cat >"$tmp/report.lua" <<'LUA'
done = function(summary, latency, requests)
        io.write(string.format("RESULT %.1f %d %d\n", summary.requests / (summary.duration / 1e6),
                summary.errors.status + summary.errors.connect + summary.errors.read +
                summary.errors.write + summary.errors.timeout, summary.requests))
end
LUA
cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"owner":"bench","ttl":600}'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
        io.write(string.format("RESULT %.1f %d %d\n", summary.requests / (summary.duration / 1e6),
                summary.errors.status + summary.errors.connect + summary.errors.read +
                summary.errors.write + summary.errors.timeout, summary.requests))
end
LUA

run() { # script url header -> "rps errors"
        wrk -t2 -c"$conns" -d"${secs}s" -s "$1" -H "$3" "$2" | awk '/^RESULT/ { print $2, $3 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

bench() { # label script path-off path-on header-on [port-off port-on]
        local off=() on=() errs=0 rps err p_off=${6:-$port} p_on=${7:-$auth_port}
        run "$2" "http://127.0.0.1:$p_off$3" "X-Bench: 1" >/dev/null # warm up
        run "$2" "http://127.0.0.1:$p_on$4" "$5" >/dev/null
        for _ in $(seq "$rounds"); do
                read -r rps err < <(run "$2" "http://127.0.0.1:$p_off$3" "X-Bench: 1")
                off+=("$rps")
                errs=$((errs + err))
                read -r rps err < <(run "$2" "http://127.0.0.1:$p_on$4" "$5")
                on+=("$rps")
                errs=$((errs + err))
        done
        local m_off m_on
        m_off=$(printf '%s\n' "${off[@]}" | median)
        m_on=$(printf '%s\n' "${on[@]}" | median)
        awk -v l="$1" -v a="$m_off" -v b="$m_on" -v ro="${off[*]}" -v rn="${on[*]}" -v e="$errs" \
                'BEGIN { printf "| %s | %.0f | %.0f | %.1f%% | %s | %s | %d |\n", l, a, b, 100 * (a - b) / a, ro, rn, e }'
}

echo "## Bearer auth throughput (loopback, wrk -t2 -c$conns, $rounds interleaved rounds of ${secs}s)"
echo
echo "| route | auth off req/s (median) | auth on req/s (median) | loss | off rounds | on rounds | non-2xx/errors |"
echo "|---|---|---|---|---|---|---|"
bench "GET /jobs/{id} (viewer token)" "$tmp/report.lua" "/jobs/$job_off" "/jobs/$job_on" "Authorization: Bearer $viewer"
bench "POST /locks/bench (admin token, audited)" "$tmp/post.lua" "/locks/bench" "/locks/bench" \
        "Authorization: Bearer $admin"
if [ -n "${AUTH_BENCH_BASELINE:-}" ]; then
        echo
        echo "| route, auth off | baseline (no audit) req/s | this build (audit) req/s | loss | baseline rounds | audit rounds | non-2xx/errors |"
        echo "|---|---|---|---|---|---|---|"
        bench "POST /locks/bench" "$tmp/post.lua" "/locks/bench" "/locks/bench" "X-Bench: 1" "$base_port" "$port"
fi
echo
echo "Audit rows written: off $(curl -s "http://127.0.0.1:$port/audit?action=lock.acquire&limit=1" | sed -n 's/.*"id":\([0-9]*\).*/\1/p'), on $(curl -s -H "Authorization: Bearer $admin" "http://127.0.0.1:$auth_port/audit?action=lock.acquire&limit=1" | sed -n 's/.*"id":\([0-9]*\).*/\1/p') (the newest row id)."
