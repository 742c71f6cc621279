#!/usr/bin/env bash
# compile.sh — builds ai_semble.pp from ai_semble.{te,fc,if} with the reference policy's
# devel Makefile (Debian: selinux-policy-dev) in a scratch directory.
#   compile.sh [OUT_DIR]   exit 0 compiled, 1 failed, 77 no devel Makefile (skip)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mk=/usr/share/selinux/devel/Makefile
[ -f "$mk" ] || {
        echo "compile.sh: $mk is missing (apt-get install selinux-policy-dev checkpolicy)" >&2
        exit 77
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here"/ai_semble.te "$here"/ai_semble.fc "$here"/ai_semble.if "$work/"
make -s -C "$work" -f "$mk" ai_semble.pp >"$work/log" 2>&1 || {
        cat "$work/log" >&2
        exit 1
}
if [ $# -gt 0 ]; then install -D -m 0644 "$work/ai_semble.pp" "$1/ai_semble.pp"; fi
echo "ai_semble.pp: $(stat -c %s "$work/ai_semble.pp") bytes"
