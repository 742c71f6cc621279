#!/usr/bin/env bash
# gen-config-docs.sh — regenerate README.md's configuration section from the config
# tables compiled into the binaries (--print-config-markdown), so the docs cannot
# drift from the code. --check exits 1 if README.md is out of date.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"

build=${AI_SEMBLE_CONFIG_BUILD:-$AI_SEMBLE_BUILD}
readme="$AI_SEMBLE_ROOT/README.md"
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.new"' EXIT

{
        for s in $AI_SEMBLE_SERVICES; do
                printf '\n### ai-semble-%s\n\n' "$s"
                "$build/services/$s/ai-semble-$s" --print-config-markdown
        done
        printf '\n### ai-semble-supervisor\n\n'
        "$build/supervisor/ai-semble-supervisor" --print-config-markdown
} >"$tmp"

awk -v gen="$tmp" '
        /<!-- config:begin -->/ { print; while ((getline l < gen) > 0) print l; skip = 1; next }
        /<!-- config:end -->/ { skip = 0 }
        !skip { print }
' "$readme" >"$tmp.new"

if [ "${1:-}" = --check ]; then
        diff -u "$readme" "$tmp.new" || die "README.md's configuration table is stale: run scripts/gen-config-docs.sh"
else
        cp "$tmp.new" "$readme"
fi
