#!/usr/bin/env bash
# setup.sh — install what is missing, configure, build, and build the images.
# Idempotent: a second run only does what changed. Usage: setup.sh [--no-images]
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"

# Package lists live in scripts/packages/: build.txt, run.txt and <area>.txt (what one
# service adds) always; the rest only when a stage of run-tests.sh asks for their set in
# AI_SEMBLE_PACKAGE_SETS: test.txt and <area>.test.txt (unit and integration tests,
# benchmarks) for "test", and lint.txt, fuzz.txt, hosts.txt, coverage.txt, client.txt for
# their names.
# A word may name alternatives, "first|second" (kubernetes-client|kubectl: Debian's
# package or the one from Kubernetes' own repository, which conflict): any one installed
# satisfies it, otherwise the first is installed.
package_lists() {
        local f set
        for f in "$AI_SEMBLE_ROOT"/scripts/packages/*.txt; do
                case "$(basename "$f")" in
                test.txt | *.test.txt) set="test" ;;
                lint.txt | fuzz.txt | hosts.txt | coverage.txt | client.txt) set=$(basename "$f" .txt) ;;
                *) set="" ;;
                esac
                [ -z "$set" ] || [[ " ${AI_SEMBLE_PACKAGE_SETS:-} " == *" $set "* ]] || continue
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

# What is installed, and what the installed packages provide (a machine's Node.js from
# NodeSource provides npm, which Debian ships as a package of its own).
installed_names() {
        dpkg-query -W -f='${db:Status-Status} ${Package},${Provides}\n' 2>/dev/null |
                sed -n 's/^installed //p' | tr ',' '\n' | sed 's/^ *//; s/ .*//; /^$/d' | sort -u
}

missing_packages() {
        local -A have=()
        local name word alt
        while read -r name; do have[$name]=1; done < <(installed_names)
        for word in $(package_lists); do
                for alt in ${word//|/ }; do
                        [ -n "${have[$alt]:-}" ] && continue 2
                done
                echo "${word%%|*}"
        done
}

if [ -n "${AI_SEMBLE_SKIP_PACKAGE_CHECK:-}" ]; then
        missing=""
        step "packages: not checked (AI_SEMBLE_SKIP_PACKAGE_CHECK; see docs/operations.md#tested-hosts)"
elif ! command -v dpkg-query >/dev/null; then
        die "no dpkg here: install the equivalents of scripts/packages/{build,run,<service>}.txt and run again with AI_SEMBLE_SKIP_PACKAGE_CHECK=1"
else
        missing=$(missing_packages | tr '\n' ' ')
fi
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
elif [ -z "${AI_SEMBLE_SKIP_PACKAGE_CHECK:-}" ]; then
        step "packages: all present"
fi

if [ ! -f "$AI_SEMBLE_BUILD/build.ninja" ]; then
        step "configuring the build in $AI_SEMBLE_BUILD"
        # The services only: the unit tests and the tools they run are run-tests.sh's
        # (a machine that only deploys has none of the test packages).
        out=$(meson setup "$AI_SEMBLE_BUILD" "$AI_SEMBLE_ROOT" --buildtype=release -Db_lto=false -Dtests=false 2>&1) || {
                printf '%s\n' "$out" | tail -n 30 >&2
                die "meson setup failed (log: $AI_SEMBLE_BUILD/meson-logs/meson-log.txt)"
        }
fi
step "building"
ninja -C "$AI_SEMBLE_BUILD" >/dev/null || ninja -C "$AI_SEMBLE_BUILD"

if [ "$images" = 1 ]; then
        "$AI_SEMBLE_ROOT/scripts/build-images.sh"
fi
step "setup complete"
