#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A million-row dataset through the orchestrator's door, host-run: the release data and
# orchestrator binaries on 127.0.0.1, tests/bench/data-csv.py's 1,000,000 rows (49.2 MB)
# uploaded with curl -T to POST /data/datasets (and again, for comparison, straight to the
# data service); prints the orchestrator's RSS and peak RSS before and after, and the
# upload times.
# Usage: tests/bench/orch-dataset.sh [BUILD_DIR] [ROWS]   (default $AI_SEMBLE_BUILD or build, 1000000)
# Ports: ORCH_DATASET_PORT (18750) for the orchestrator, +1 the data service.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${AI_SEMBLE_BUILD:-build}}
rows=${2:-1000000}
port=${ORCH_DATASET_PORT:-18750}
dport=$((port + 1))
work=$(mktemp -d /tmp/orch-dataset.XXXXXX)
pids=()
# shellcheck disable=SC2317 # called through the trap
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$work"
}
trap cleanup EXIT

python3 "$here/data-csv.py" "$work/rows.csv" "$rows"
mkdir "$work/datasets"
LOG_LEVEL=warning DATA_LISTEN=127.0.0.1:$dport DATA_DIR="$work/datasets" DATA_PLOT_DIR="$work/plots" \
        "$build/services/data/ai-semble-data" 2>"$work/data.log" &
pids+=($!)
LOG_LEVEL=warning ORCHESTRATOR_LISTEN=127.0.0.1:$port ORCH_DB_PATH="$work/orch.db" \
        DATA_PROCESSOR_URL="http://127.0.0.1:$dport" LLM_SERVICE_URL=http://127.0.0.1:1 \
        VISION_SERVICE_URL=http://127.0.0.1:1 NLP_SERVICE_URL=http://127.0.0.1:1 \
        "$build/services/orchestrator/ai-semble-orchestrator" 2>"$work/orch.log" &
orch=$!
pids+=("$orch")
for u in "http://127.0.0.1:$dport/health/live" "http://127.0.0.1:$port/health/live"; do
        for _ in $(seq 100); do
                curl -sf -o /dev/null "$u" && break
                sleep 0.05
        done
done
kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$orch/status"; }
upload() { # url name -> "seconds status"
        curl -s -o "$work/$2.json" -w '%{time_total} %{http_code}\n' -X POST -T "$work/rows.csv" \
                -H 'Content-Type: text/csv' "$1/datasets?name=$2"
}
echo "# $(date -u +%F) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); build $build"
echo "# $rows rows, $(stat -c %s "$work/rows.csv") bytes"
echo "orchestrator before: VmRSS $(kb VmRSS) kB, VmHWM $(kb VmHWM) kB"
read -r t_via s_via < <(upload "http://127.0.0.1:$port/data" via)
echo "orchestrator after:  VmRSS $(kb VmRSS) kB, VmHWM $(kb VmHWM) kB"
read -r t_direct s_direct < <(upload "http://127.0.0.1:$dport" direct)
echo "upload through the orchestrator: HTTP $s_via in ${t_via}s: $(head -c 120 "$work/via.json")"
echo "upload straight to the data service: HTTP $s_direct in ${t_direct}s"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
