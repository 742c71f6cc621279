#!/usr/bin/env bash
# analyze against pandas, side by side: generates the 1,000,000-row CSV of the data
# benchmarks (49.2 MB, tests/bench/data-csv.py), starts the release-built data binary on
# the host, then alternates N times: `analyze` of the CSV sent raw as text/csv to POST
# /process (curl's total time: upload, parse, statistics, answer) and pandas' read_csv +
# describe(include="all") on the same file (Python's start-up included). Prints each
# run, the medians, their ratio (pandas / analyze: the target is >= 2) and the load.
# pandas is Debian's python3-pandas in /usr/bin/python3 (PANDAS_PYTHON to change); without
# it only analyze is measured.
# Usage: tests/bench/data-analyze.sh [runs] [rows] [port]   (default 5, 1000000, ephemeral)
#   AI_SEMBLE_BUILD=<release build dir> (default ./build)
#   DATA_BENCH_SERVICE_CPUS=0 pins the service to CPU 0 (taskset), as the pod's one-CPU
#   limit does; curl and pandas stay free.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${AI_SEMBLE_BUILD:-$here/../../build}
bin="$build/services/data/ai-semble-data"
runs=${1:-5}
rows=${2:-1000000}
port=${3:-0}
pandas_python=${PANDAS_PYTHON:-/usr/bin/python3}
[ -x "$bin" ] || {
        echo "build first: $bin is missing (set AI_SEMBLE_BUILD to a release build)" >&2
        exit 1
}
pandas=1
"$pandas_python" -c 'import pandas' 2>/dev/null || {
        echo "pandas is missing (apt-get install python3-pandas): measuring analyze alone" >&2
        pandas=0
}
work=$(mktemp -d /tmp/bench-data-analyze.XXXXXX)
pid=
cleanup() {
        if [ -n "$pid" ]; then
                kill "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        fi
        rm -rf "$work"
}
trap cleanup EXIT
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

python3 "$here/data-csv.py" "$work/bench.csv" "$rows"
size=$(stat -c %s "$work/bench.csv")
pin=()
[ -n "${DATA_BENCH_SERVICE_CPUS:-}" ] && pin=(taskset -c "$DATA_BENCH_SERVICE_CPUS")
env DATA_LISTEN="127.0.0.1:$port" DATA_DIR="$work/datasets" DATA_PLOT_DIR="$work/plots" DATA_MAX_UPLOAD=256M \
        DATA_SQL_MEMORY_LIMIT=1G HTTP_REQUEST_TIMEOUT=60s "${pin[@]}" "$bin" >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/log")
        [ -n "$port" ] && break
        sleep 0.05
done
[ -n "$port" ] || {
        echo "the service did not start: $(cat "$work/log")" >&2
        exit 1
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
an=() pd=()
for i in $(seq "$runs"); do
        t=$(curl -sf -o "$work/out.json" -w '%{time_total}' -H 'Content-Type: text/csv' \
                --data-binary @"$work/bench.csv" "http://127.0.0.1:$port/process?operation=analyze")
        jq -e '.result.rows == '"$rows"' and .result.columns.value.mean' "$work/out.json" >/dev/null || {
                echo "analyze returned an unexpected result: $(head -c 300 "$work/out.json")" >&2
                exit 1
        }
        an+=("$t")
        p=-
        if [ "$pandas" = 1 ]; then
                p=$( { /usr/bin/time -f '%e' "$pandas_python" -c 'import sys, pandas as pd
pd.read_csv(sys.argv[1]).describe(include="all")' "$work/bench.csv" >/dev/null; } 2>&1 | tail -1)
                pd+=("$p")
        fi
        printf 'run %d: analyze %s s, pandas %s s\n' "$i" "$t" "$p"
done
m() { printf '%s\n' "$@" | median; }
printf '\ninput: %d rows, %.1f MB; %d runs; service CPUs: %s; load average %s before, %s after\n' "$rows" \
        "$(awk -v b="$size" 'BEGIN { print b / 1e6 }')" "$runs" "${DATA_BENCH_SERVICE_CPUS:-all}" "$load_before" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'median analyze (raw text/csv to POST /process): %s s\n' "$(m "${an[@]}")"
if [ "$pandas" = 1 ]; then
        printf 'median pandas read_csv + describe(include="all"): %s s\n' "$(m "${pd[@]}")"
        awk -v a="$(m "${an[@]}")" -v p="$(m "${pd[@]}")" 'BEGIN { printf "ratio pandas / analyze: %.2f\n", p / a }'
fi
