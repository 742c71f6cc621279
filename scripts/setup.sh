#!/usr/bin/env bash
# setup.sh — install what is missing, configure, build, and build the images.
# Idempotent: a second run only does what changed. Usage: setup.sh [--no-images]
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"

# Package lists live in scripts/packages/: build.txt, run.txt and <area>.txt (what one
# service adds) always; test.txt and <area>.test.txt only for the tests and benchmarks.
package_lists() {
        local f
        for f in "$AI_SEMBLE_ROOT"/scripts/packages/*.txt; do
                case "$(basename "$f")" in
                test.txt | *.test.txt) [ -n "${AI_SEMBLE_TEST_PACKAGES:-}" ] || continue ;;
                esac
                sed 's/#.*//' "$f"
        done | tr -s ' \t' '\n' | sed '/^$/d' | sort -u
}

images=1
for a in "$@"; do
        case "$a" in
        --no-images) images=0 ;;
        -h | --help)
                sed -n '2,3s/^# //p' "$0"
                exit 0
                ;;
        *) die "unknown option '$a'" ;;
        esac
done

missing_packages() {
        local want have
        want=$(package_lists)
        # shellcheck disable=SC2086
        have=$(dpkg-query -W -f='${Package} ${Status}\n' $want 2>/dev/null | awk '/install ok installed/ { print $1 }' | sort -u)
        comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$have")
}

missing=$(missing_packages | tr '\n' ' ')
if [ -n "${missing// /}" ]; then
        if [ "$(id -u)" -eq 0 ]; then
                step "installing packages: $missing"
                export DEBIAN_FRONTEND=noninteractive
                apt-get update -qq
                # shellcheck disable=SC2086
                apt-get install -y -qq --no-install-recommends $missing
        else
                die "missing packages; run as root: apt-get install --no-install-recommends $missing"
        fi
else
        step "packages: all present"
fi

if [ ! -f "$AI_SEMBLE_BUILD/build.ninja" ]; then
        step "configuring the build in $AI_SEMBLE_BUILD"
        meson setup "$AI_SEMBLE_BUILD" "$AI_SEMBLE_ROOT" --buildtype=release -Db_lto=false >/dev/null
fi
step "building"
ninja -C "$AI_SEMBLE_BUILD" >/dev/null || ninja -C "$AI_SEMBLE_BUILD"

if [ "$images" = 1 ]; then
        "$AI_SEMBLE_ROOT/scripts/build-images.sh"
fi
step "setup complete"
