#!/usr/bin/env bash
# Guardrail benchmark, on the host (no pod needed): what the input rules add to a request
# with a 1 KiB and a 64 KiB prompt, and what output redaction costs on the same sizes.
# Usage: tests/bench/guardrail.sh [build-dir] [runs]   (default /tmp/build-guard, 2001)
set -euo pipefail
build=${1:-/tmp/build-guard}
bench=$build/services/orchestrator/bench-guardrail
[ -x "$bench" ] || { echo "build first: ninja -C $build" >&2; exit 1; }
"$bench" "${2:-2001}"
