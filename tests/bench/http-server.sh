#!/usr/bin/env bash
# The HTTP server's own cost, host-run: wrk against GET /health/live (a trivial route) of
# a service binary, 1 connection (latency p50/p99) and 32 connections (req/s). Run it for
# two builds, or with EXTRA_ENV="HTTP_ACCESS_LOG=on", to compare them on one machine.
# The service's stderr (its log) goes to a file on /tmp, as a container's goes to conmon.
# Usage: tests/bench/http-server.sh [seconds per run]   (default 10; needs wrk)
# Environment: AI_SEMBLE_BUILD (build dir), BIN (default: its orchestrator), PORT (18190),
# EXTRA_ENV ("NAME=VALUE ..." for the service), LABEL (printed with the figures).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"

secs=${1:-10}
port=${PORT:-18190}
bin=${BIN:-$AI_SEMBLE_BUILD/services/orchestrator/ai-semble-orchestrator}
url="http://127.0.0.1:$port/health/live"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
# shellcheck source=lib-service.sh
. "$here/lib-service.sh"
# shellcheck disable=SC2086 # EXTRA_ENV is a list of assignments
bench_start "$bin" "$port" ${EXTRA_ENV:-}

wrk -t1 -c1 -d2s "$url" >/dev/null # warm-up
one=$(wrk -t1 -c1 -d"${secs}s" --latency "$url")
many=$(wrk -t2 -c32 -d"${secs}s" "$url")
p50=$(awk '$1 == "50%" { print $2 }' <<<"$one")
p99=$(awk '$1 == "99%" { print $2 }' <<<"$one")
rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$many")
errors=$(grep -E 'Non-2xx|Socket errors' <<<"$one$many" | tr '\n' ' ' || true)
lines=$(wc -l <"$bench_tmp/log")
printf '%s: 1 connection p50 %s p99 %s | 32 connections %s req/s | %s log lines %s| load %s\n' \
        "${LABEL:-$(basename "$bin")}" "$p50" "$p99" "$rps" "$lines" "${errors:+($errors) }" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
