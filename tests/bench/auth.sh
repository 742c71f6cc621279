#!/usr/bin/env bash
# API security benchmark, on the host (no pod needed): the cost of one HS256 JWT
# verification, i.e. what the orchestrator's bearer gate adds to every request.
# Usage: tests/bench/auth.sh [build-dir]   (default /tmp/build-auth)
set -euo pipefail
build=${1:-/tmp/build-auth}
bench=$build/services/orchestrator/bench-auth-jwt
[ -x "$bench" ] || { echo "build first: ninja -C $build" >&2; exit 1; }
"$bench" 200000
