#!/usr/bin/env bash
# Data processor benchmark: `analyze` over a generated 1,000,000-row CSV (~50 MB), sent
# raw (text/csv) to POST /process and, separately, uploaded once as a dataset (streamed)
# then analyzed by name; wall time and the service's peak RSS (VmHWM of a fresh process per
# case), side by side with pandas' read_csv + describe() on the same file. Then one
# streamed upload of a big CSV (5,000,000 rows, ~250 MB) to show that the upload's memory
# does not grow with its size. AI_SEMBLE_BASELINE_BIN=path/to/an/older/ai-semble-data
# adds the same uploads by that binary (given room: DATA_MAX_UPLOAD=1G) for comparison.
# Runs the binary on the host (ephemeral port), never the pod.
# Usage: tests/bench/data.sh [runs] [rows] [big-rows]
#   (default 3 runs, 1000000 rows, 5000000 big rows, 0 = skip; prints medians)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${AI_SEMBLE_BUILD:-$here/../../build}
bin="$build/services/data/ai-semble-data"
runs=${1:-3}
rows=${2:-1000000}
big_rows=${3:-5000000}
baseline=${AI_SEMBLE_BASELINE_BIN:-}
# Debian's python3-pandas lives in the system interpreter, not in a pyenv/venv one.
pandas_python=${PANDAS_PYTHON:-/usr/bin/python3}
[ -x "$bin" ] || {
        echo "build first: $bin is missing (set AI_SEMBLE_BUILD)" >&2
        exit 1
}
# The reference is only needed here, so the benchmark installs it, not setup.sh.
if ! "$pandas_python" -c 'import pandas' 2>/dev/null; then
        if [ "$(id -u)" -eq 0 ]; then
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pandas >/dev/null
        else
                echo "pandas is missing: apt-get install python3-pandas" >&2
                exit 1
        fi
fi
work=$(mktemp -d /tmp/bench-data.XXXXXX)
pid=
cleanup() {
        [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

gen_csv() { python3 "$here/data-csv.py" "$1" "$2"; }
gen_csv "$work/bench.csv" "$rows"
size=$(stat -c %s "$work/bench.csv")

# start_service [binary [VAR=value...]]
start_service() {
        local b=${1:-$bin}
        [ $# -gt 0 ] && shift
        : >"$work/log"
        env DATA_LISTEN=127.0.0.1:0 DATA_DIR="$work/datasets" DATA_PLOT_DIR="$work/plots" DATA_MAX_UPLOAD=256M \
                DATA_SQL_MEMORY_LIMIT=1G HTTP_REQUEST_TIMEOUT=60s "$@" "$b" >"$work/log" 2>&1 &
        pid=$!
        for _ in $(seq 100); do
                port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/log")
                [ -n "$port" ] && return 0
                sleep 0.05
        done
        echo "service did not start" >&2
        exit 1
}
stop_service() {
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        pid=
}
hwm_mb() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status"; }
# upload CSV [binary [VAR=value...]]: one upload into a fresh process and empty DATA_DIR;
# sets up_s (seconds) and up_mb (peak RSS); exits unless 201.
upload() {
        local csv=$1 t
        shift
        rm -rf "$work/datasets"
        start_service "$@"
        t=$(curl -sf -o "$work/up.json" -w '%{time_total}' -H 'Content-Type: text/csv' \
                --data-binary @"$csv" "http://127.0.0.1:$port/datasets?name=bench") || {
                echo "upload of $csv failed" >&2
                exit 1
        }
        up_s=$t up_mb=$(hwm_mb)
        stop_service
}

raw_t=() raw_m=() ds_t=() ds_m=() up_t=() up_m=() bl_t=() bl_m=() pd_t=() pd_m=()
for _ in $(seq "$runs"); do
        start_service
        t=$(curl -sf -o "$work/out.json" -w '%{time_total}' -H 'Content-Type: text/csv' \
                --data-binary @"$work/bench.csv" "http://127.0.0.1:$port/process?operation=analyze")
        raw_t+=("$t") raw_m+=("$(hwm_mb)")
        stop_service

        if [ -n "$baseline" ]; then
                upload "$work/bench.csv" "$baseline"
                bl_t+=("$up_s") bl_m+=("$up_mb")
        fi
        upload "$work/bench.csv"
        up_t+=("$up_s") up_m+=("$up_mb")
        start_service # a fresh process: the peak is the analysis's alone
        t=$(curl -sf -o /dev/null -w '%{time_total}' -H 'Content-Type: application/json' \
                -d '{"operation":"analyze","data":{"dataset":"bench"}}' "http://127.0.0.1:$port/process")
        ds_t+=("$t") ds_m+=("$(hwm_mb)")
        stop_service

        out=$( { /usr/bin/time -f '%e %M' "$pandas_python" -c 'import sys, pandas as pd
pd.read_csv(sys.argv[1]).describe(include="all")' "$work/bench.csv" >/dev/null; } 2>&1 | tail -1)
        pd_t+=("${out% *}") pd_m+=("$(( ${out#* } / 1024 ))")
done

jq -e '.result.columns.value.mean and .rows_processed == '"$rows" "$work/out.json" >/dev/null || {
        echo "analyze returned an unexpected result" >&2
        exit 1
}
ds_mb=$(jq '.bytes / 1e5 | floor / 10' "$work/up.json")

if [ "$big_rows" -gt 0 ]; then
        rm -f "$work/bench.csv"
        gen_csv "$work/big.csv" "$big_rows"
        big_size=$(stat -c %s "$work/big.csv")
        upload "$work/big.csv"
        big_t=$up_s big_m=$up_mb
        jq -e '.rows == '"$big_rows" "$work/up.json" >/dev/null || {
                echo "the big upload stored an unexpected row count" >&2
                exit 1
        }
        if [ -n "$baseline" ]; then
                upload "$work/big.csv" "$baseline" DATA_MAX_UPLOAD=1G DATA_MAX_ROWS=100000000 \
                        DATA_SQL_MEMORY_LIMIT=4G
                bbig_t=$up_s bbig_m=$up_mb
        fi
fi
m() { printf '%s\n' "$@" | median; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
printf 'input: %d rows, %s MB (dataset file %s MB); medians of %d runs; load: %s\n\n' "$rows" "$(mb "$size")" \
        "$ds_mb" "$runs" "$(uptime | sed 's/.*load average: //')"
echo "| case | time (s) | peak RSS (MB) |"
echo "|---|---|---|"
printf '| analyze, raw text/csv body (parse + load + analyze) | %s | %s |\n' "$(m "${raw_t[@]}")" "$(m "${raw_m[@]}")"
[ -n "$baseline" ] && printf '| upload as dataset, baseline binary (%s) | %s | %s |\n' "$(basename "$baseline")" \
        "$(m "${bl_t[@]}")" "$(m "${bl_m[@]}")"
printf '| upload as dataset (POST /datasets, streamed) | %s | %s |\n' "$(m "${up_t[@]}")" "$(m "${up_m[@]}")"
printf '| analyze {dataset} (stored SQLite file) | %s | %s |\n' "$(m "${ds_t[@]}")" "$(m "${ds_m[@]}")"
printf '| pandas read_csv + describe(include="all") | %s | %s |\n' "$(m "${pd_t[@]}")" "$(m "${pd_m[@]}")"
if [ "$big_rows" -gt 0 ]; then
        printf '\nbig upload: %d rows, %s MB; one run\n\n' "$big_rows" "$(mb "$big_size")"
        echo "| case | time (s) | peak RSS (MB) |"
        echo "|---|---|---|"
        [ -n "$baseline" ] && printf '| upload as dataset, baseline binary (%s) | %s | %s |\n' "$(basename "$baseline")" \
                "$bbig_t" "$bbig_m"
        printf '| upload as dataset (POST /datasets, streamed) | %s | %s |\n' "$big_t" "$big_m"
fi
