#!/usr/bin/env bash
# Builds the libFuzzer targets for the orchestrator's JWT verifier and webhook verifier
# and the HTTP request parser with clang (address + undefined sanitizers) and runs each for a bounded time.
# Usage: tests/fuzz/run.sh [seconds-per-target]   (default 60); exits non-zero on a crash.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-60}
command -v clang >/dev/null || { echo "clang not installed: skipping" >&2; exit 77; }
work=${FUZZ_WORKDIR:-/tmp/ai-semble-fuzz}
mkdir -p "$work"
orch=$root/services/orchestrator
# shellcheck disable=SC2207
jsonc=($(pkg-config --cflags --libs json-c))
sanitize=-fsanitize=fuzzer,address,undefined
cflags=(-g -O1 "$sanitize" -D_GNU_SOURCE -I"$orch" -I"$root/services/common")
clang "${cflags[@]}" -o "$work/fuzz-auth-jwt" "$here/fuzz-auth-jwt.c" "$orch/auth-jwt.c" "${jsonc[@]}" -lcrypto
clang "${cflags[@]}" -o "$work/fuzz-webhook" "$here/fuzz-webhook.c" "$orch/webhook.c" -lcrypto -lpthread
clang "${cflags[@]}" -o "$work/fuzz-http-parse" "$here/fuzz-http-parse.c" "$root/services/common/http-parse.c"
for t in fuzz-auth-jwt fuzz-webhook fuzz-http-parse; do
        mkdir -p "$work/corpus-$t"
        extra=()
        [ -f "$here/${t#fuzz-}.dict" ] && extra=(-dict="$here/${t#fuzz-}.dict")
        echo "== $t for ${secs}s"
        (cd "$work" && "./$t" -max_total_time="$secs" -max_len=16384 "${extra[@]}" "corpus-$t")
done
