#!/usr/bin/env bash
# Foundation benchmarks: image sizes, each service's idle RSS, and the time from
# `deploy.sh start` (images already built, pod stopped) to all five services ready.
# Usage: tests/bench/foundation.sh [runs]   (default 5 start runs; prints medians)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/hostenv.sh
. "$here/../../scripts/lib/hostenv.sh"

runs=${1:-5}
DEPLOY="$AI_SEMBLE_ROOT/scripts/deploy.sh"
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

"$DEPLOY" start >/dev/null 2>&1 # builds whatever is missing first

echo "## Image sizes"
echo "| image | size (MB) | files |"
echo "|---|---|---|"
for s in $AI_SEMBLE_SERVICES; do
        bytes=$(hostenv_exec podman image inspect --format '{{.Size}}' "localhost/ai-semble/$s:latest")
        files=$(find "$(hostenv_home)/.cache/ai-semble/images/$s/rootfs" -type f | wc -l)
        printf '| %s | %.1f | %s |\n' "$s" "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" "$files"
done

echo
echo "## Idle RSS (after start, no traffic but health probes)"
sleep 5
echo "| service | RSS (MB) |"
echo "|---|---|"
for s in $AI_SEMBLE_SERVICES; do
        pid=$(hostenv_exec podman inspect --format '{{.State.Pid}}' "ai-semble-$s")
        kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
        printf '| %s | %.1f |\n' "$s" "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')"
done

echo
echo "## deploy.sh start → all ready (images built, pod stopped), $runs runs"
times=()
for _ in $(seq "$runs"); do
        "$DEPLOY" stop >/dev/null 2>&1
        t0=$(date +%s.%N)
        "$DEPLOY" start >/dev/null 2>&1
        t1=$(date +%s.%N)
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
done
printf '%s\n' "${times[@]}" | awk '{ printf "run %d: %.2f s\n", NR, $1 }'
printf 'median: %.2f s\n' "$(printf '%s\n' "${times[@]}" | median)"
