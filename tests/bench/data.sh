#!/usr/bin/env bash
# Data processor benchmark: `analyze` over a generated 1,000,000-row CSV (~50 MB), sent
# raw (text/csv) to POST /process and, separately, uploaded once as a dataset then
# analyzed by name; wall time and the service's peak RSS (VmHWM of a fresh process per
# case), side by side with pandas' read_csv + describe() on the same file.
# Runs the binary on the host (ephemeral port), never the pod.
# Usage: tests/bench/data.sh [runs] [rows]   (default 3 runs, 1000000 rows; prints medians)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${AI_SEMBLE_BUILD:-$here/../../build}
bin="$build/services/data/ai-semble-data"
runs=${1:-3}
rows=${2:-1000000}
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

python3 - "$work/bench.csv" "$rows" <<'PY'
import random, sys
rnd = random.Random(1)
cats = [f"category-{i:02d}" for i in range(20)]
with open(sys.argv[1], "w") as f:
    f.write("id,ts,value,qty,category,user\n")
    for i in range(int(sys.argv[2])):
        f.write(f"{i},{1700000000 + i * 7},{rnd.gauss(100, 25):.4f},{rnd.randint(0, 999)},"
                f"{rnd.choice(cats)},u{rnd.randint(0, 99999)}\n")
PY
size=$(stat -c %s "$work/bench.csv")

start_service() {
        : >"$work/log"
        DATA_LISTEN=127.0.0.1:0 DATA_DIR="$work/datasets" DATA_PLOT_DIR="$work/plots" DATA_MAX_UPLOAD=256M \
                DATA_SQL_MEMORY_LIMIT=1G HTTP_REQUEST_TIMEOUT=60s "$bin" >"$work/log" 2>&1 &
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

raw_t=() raw_m=() ds_t=() ds_m=() up_t=() pd_t=() pd_m=()
for _ in $(seq "$runs"); do
        start_service
        t=$(curl -sf -o "$work/out.json" -w '%{time_total}' -H 'Content-Type: text/csv' \
                --data-binary @"$work/bench.csv" "http://127.0.0.1:$port/process?operation=analyze")
        raw_t+=("$t") raw_m+=("$(hwm_mb)")
        stop_service

        rm -rf "$work/datasets"
        start_service
        t=$(curl -sf -o /dev/null -w '%{time_total}' -H 'Content-Type: text/csv' \
                --data-binary @"$work/bench.csv" "http://127.0.0.1:$port/datasets?name=bench")
        up_t+=("$t")
        stop_service
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
m() { printf '%s\n' "$@" | median; }
printf 'input: %d rows, %.1f MB; medians of %d runs\n\n' "$rows" "$(awk -v b="$size" 'BEGIN { print b / 1e6 }')" "$runs"
echo "| case | time (s) | peak RSS (MB) |"
echo "|---|---|---|"
printf '| analyze, raw text/csv body (parse + load + analyze) | %s | %s |\n' "$(m "${raw_t[@]}")" "$(m "${raw_m[@]}")"
printf '| upload as dataset (POST /datasets) | %s | - |\n' "$(m "${up_t[@]}")"
printf '| analyze {dataset} (stored SQLite file) | %s | %s |\n' "$(m "${ds_t[@]}")" "$(m "${ds_m[@]}")"
printf '| pandas read_csv + describe(include="all") | %s | %s |\n' "$(m "${pd_t[@]}")" "$(m "${pd_m[@]}")"
