#!/usr/bin/env bash
# run-tests.sh — install what the tests need, build, and run them.
#
#   all          lint, unit tests (ASan+UBSan build), integration tests against the real pod
#   unit         unit tests of services/common and the supervisor (ASan+UBSan build)
#   integration  the real pod under a real systemd --user manager (see tests/integration)
#   lint         clang-format, cppcheck, shellcheck, JSON and YAML validity
#   quick        lint + unit tests without sanitizers
#   --coverage   build the unit tests with coverage and print a summary (gcovr)
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

what=${1:-all}
[ $# -gt 0 ] && shift
coverage=0
for a in "$@"; do
        case "$a" in
        --coverage) coverage=1 ;;
        *) die "unknown option '$a'" ;;
        esac
done

ensure_packages() {
        local extra=""
        [ "$coverage" = 1 ] && extra="gcovr"
        AI_SEMBLE_TEST_PACKAGES=1 "$AI_SEMBLE_ROOT/scripts/setup.sh" --no-images
        if [ -n "$extra" ] && ! command -v gcovr >/dev/null; then
                [ "$(id -u)" -eq 0 ] || die "gcovr is missing: apt-get install gcovr"
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $extra
        fi
}

run_unit() { # sanitize
        local dir opts=()
        if [ "$coverage" = 1 ]; then
                dir="$AI_SEMBLE_BUILD/test-coverage"
                opts=(-Db_coverage=true --buildtype=debug)
        elif [ "$1" = 1 ]; then
                dir="$AI_SEMBLE_BUILD/test-asan"
                opts=("-Db_sanitize=address,undefined" -Db_lundef=false --buildtype=debug)
        else
                dir="$AI_SEMBLE_BUILD/test-plain"
                opts=(--buildtype=debugoptimized)
        fi
        [ -f "$dir/build.ninja" ] || meson setup "$dir" "$AI_SEMBLE_ROOT" "${opts[@]}" >/dev/null
        step "unit tests ($(basename "$dir"))"
        ninja -C "$dir" >/dev/null || ninja -C "$dir"
        AI_SEMBLE_CONFIG_BUILD=$dir "$AI_SEMBLE_ROOT/scripts/gen-config-docs.sh" --check
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
                meson test -C "$dir" --suite unit --print-errorlogs --num-processes 2
        # The official openai npm client against the llm service (77: no node/registry).
        step "llm: the official openai client"
        local rc=0
        "$AI_SEMBLE_ROOT/tests/llm-client/run.sh" "$dir" || rc=$?
        case $rc in
        0) ;;
        77) warn "openai client test skipped" ;;
        *) die "the openai client test failed" ;;
        esac
        # libFuzzer on the JWT and webhook verifiers and the HTTP parser, a bounded time each.
        step "fuzz: JWT and webhook verifiers, HTTP parser (${AI_SEMBLE_FUZZ_SECONDS:-20} s each)"
        rc=0
        "$AI_SEMBLE_ROOT/tests/fuzz/run.sh" "${AI_SEMBLE_FUZZ_SECONDS:-20}" >"$dir/fuzz.log" 2>&1 || rc=$?
        case $rc in
        0) grep -E '^(==|Done)' "$dir/fuzz.log" || true ;;
        77) warn "fuzzing skipped: clang is not installed" ;;
        *)
                tail -40 "$dir/fuzz.log"
                die "a fuzzer found a crash (log: $dir/fuzz.log)"
                ;;
        esac
        if [ "$coverage" = 1 ]; then
                gcovr -r "$AI_SEMBLE_ROOT" --filter "$AI_SEMBLE_ROOT/services/" --filter "$AI_SEMBLE_ROOT/supervisor/" "$dir"
        fi
}

run_lint() {
        local c_files sh_files
        step "lint: clang-format"
        c_files=$(git -C "$AI_SEMBLE_ROOT" ls-files --cached --others --exclude-standard '*.c' '*.h' | sed "s|^|$AI_SEMBLE_ROOT/|")
        # shellcheck disable=SC2086
        clang-format --dry-run --Werror $c_files
        step "lint: cppcheck"
        cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
                --std=c11 -I "$AI_SEMBLE_ROOT/services/common" \
                "$AI_SEMBLE_ROOT/services" "$AI_SEMBLE_ROOT/supervisor"
        step "lint: shellcheck"
        sh_files=$(git -C "$AI_SEMBLE_ROOT" ls-files --cached --others --exclude-standard '*.sh' .ci/run | sed "s|^|$AI_SEMBLE_ROOT/|")
        # shellcheck disable=SC2086
        shellcheck -x $sh_files
        step "lint: JSON and YAML"
        git -C "$AI_SEMBLE_ROOT" ls-files --cached --others --exclude-standard '*.json' | while read -r f; do
                jq empty "$AI_SEMBLE_ROOT/$f" || die "invalid JSON: $f"
        done
        git -C "$AI_SEMBLE_ROOT" ls-files --cached --others --exclude-standard '*.yaml' '*.yml' | while read -r f; do
                /usr/bin/python3 -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$AI_SEMBLE_ROOT/$f" ||
                        die "invalid YAML: $f"
        done
        step "lint: clean"
}

run_integration() {
        [ "$(id -u)" -eq 0 ] || [ -d /run/systemd/system ] ||
                die "integration tests need root here (to start a user manager) or a systemd host"
        "$AI_SEMBLE_ROOT/tests/integration/run.sh"
}

ensure_packages
case "$what" in
all)
        run_lint
        run_unit 1
        run_integration
        ;;
unit) run_unit 1 ;;
integration) run_integration ;;
lint) run_lint ;;
quick)
        run_lint
        run_unit 0
        ;;
*) die "usage: run-tests.sh all|unit|integration|lint|quick [--coverage]" ;;
esac
