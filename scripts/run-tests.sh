#!/usr/bin/env bash
# run-tests.sh — install what the tests need, build, and run them.
#
#   all          lint, unit tests (ASan+UBSan build), integration tests against the real pod
#   unit         unit tests of services/common and the supervisor (ASan+UBSan build)
#   integration [--clean]
#                the real pod under a real systemd --user manager (see tests/integration);
#                --clean (always under CI=true) first removes what earlier runs left
#   hosts [debian12] [debian13]
#                pristine Debian 12 (Podman 4.3) and 13 (Podman 5.4, Quadlet) systemd hosts
#                booted with nspawn: deploy.sh start and the integration suite inside each,
#                as root and, on Debian 13, as an ordinary user (tests/hosts/run.sh)
#   lint         clang-format, cppcheck, shellcheck, JSON and YAML validity
#   quick        lint + unit tests without sanitizers
#   --coverage   build the unit tests with coverage and print a summary (gcovr; always in all)
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

what=${1:-all}
[ $# -gt 0 ] && shift
coverage=0
hosts=()
it_args=()
for a in "$@"; do
        case "$a" in
        --coverage) coverage=1 ;;
        --clean) [ "$what" = integration ] || die "'--clean' goes with 'integration'"; it_args+=(--clean) ;;
        debian12 | debian13) [ "$what" = hosts ] || die "'$a' goes with 'hosts'"; hosts+=("$a") ;;
        *) die "unknown option '$a'" ;;
        esac
done

ensure_packages() {
        local sets
        case "$what" in
        all) sets="test lint fuzz client hosts coverage" ;;
        unit) sets="test fuzz client" ;;
        integration) sets="test" ;;
        lint) sets="lint" ;;
        quick) sets="test lint client" ;;
        hosts) sets="hosts" ;;
        esac
        [ "$coverage" = 1 ] && sets="$sets coverage"
        # told to the tests: a check whose tools one of these sets installs must not skip
        export AI_SEMBLE_INSTALLED_SETS=$sets
        AI_SEMBLE_PACKAGE_SETS=$sets "$AI_SEMBLE_ROOT/scripts/setup.sh" --no-images
}

# Skips meson saw (tests that exited 77) that tests/unit/declared-skips does not name
# with a reason: each one is a failure.
undeclared_skips() { # builddir
        local skipped
        skipped=$(jq -r 'select(.result == "SKIP") | .name' "$1/meson-logs/testlog.json")
        for t in $skipped; do
                grep -q "^${t}[[:space:]]" "$AI_SEMBLE_ROOT/tests/unit/declared-skips" || echo "$t"
        done
}

run_unit() { # sanitize
        local dir opts=() bad
        if [ "$1" = 1 ]; then
                dir="$AI_SEMBLE_BUILD/test-asan"
                opts=("-Db_sanitize=address,undefined" -Db_lundef=false --buildtype=debug)
        else
                dir="$AI_SEMBLE_BUILD/test-plain"
                opts=(--buildtype=debugoptimized)
        fi
        # gcc measures coverage under the sanitizers too: one build, one run
        [ "$coverage" = 1 ] && opts+=(-Db_coverage=true)
        # configured every run: which tools exist is decided now, not by an earlier run
        if [ -f "$dir/build.ninja" ]; then
                meson setup --reconfigure "$dir" "$AI_SEMBLE_ROOT" "${opts[@]}" >/dev/null
        else
                meson setup "$dir" "$AI_SEMBLE_ROOT" "${opts[@]}" >/dev/null
        fi
        step "unit tests ($(basename "$dir")$([ "$coverage" = 1 ] && echo ', with coverage'))"
        ninja -C "$dir" >/dev/null || ninja -C "$dir"
        [ "$coverage" = 1 ] && find "$dir" -name '*.gcda' -delete
        AI_SEMBLE_CONFIG_BUILD=$dir "$AI_SEMBLE_ROOT/scripts/gen-config-docs.sh" --check
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
                meson test -C "$dir" --suite unit --print-errorlogs --num-processes 2
        bad=$(undeclared_skips "$dir")
        [ -z "$bad" ] || die "unit tests skipped without a reason in tests/unit/declared-skips: $bad"
        # The official openai npm client against the llm service: node, npm and the
        # registry are in the package lists and the machine's network, so a skip fails.
        step "llm: the official openai client"
        "$AI_SEMBLE_ROOT/tests/llm-client/run.sh" "$dir" || die "the openai client test failed or was skipped"
        # libFuzzer on the JWT and webhook verifiers, the HTTP parser and the data service's
        # SQL, a bounded time each; a crash fails.
        step "fuzz: libFuzzer targets (${AI_SEMBLE_FUZZ_SECONDS:-20} s each)"
        if ! "$AI_SEMBLE_ROOT/tests/fuzz/run.sh" "${AI_SEMBLE_FUZZ_SECONDS:-20}" >"$dir/fuzz.log" 2>&1; then
                tail -40 "$dir/fuzz.log"
                die "a fuzzer found a crash or could not run (log: $dir/fuzz.log)"
        fi
        grep -E '^(==|Done)' "$dir/fuzz.log" || true
        if [ "$coverage" = 1 ]; then
                step "coverage of services/ and supervisor/ by the unit tests"
                gcovr -r "$AI_SEMBLE_ROOT" --filter "$AI_SEMBLE_ROOT/services/" --filter "$AI_SEMBLE_ROOT/supervisor/" \
                        --exclude-unreachable-branches --print-summary -o "$dir/coverage.txt" "$dir" | tail -n 3
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
        # The sd-bus unit test runs in the pod's user manager: the deploy build gains the
        # tests (its packages are installed by now).
        if ! meson configure "$AI_SEMBLE_BUILD" -Dtests=true >/dev/null ||
                ! ninja -C "$AI_SEMBLE_BUILD" tests/unit/test-supervisor-bus >/dev/null; then
                die "cannot build the sd-bus test in $AI_SEMBLE_BUILD"
        fi
        "$AI_SEMBLE_ROOT/tests/integration/run.sh" "${it_args[@]}"
}

run_hosts() {
        [ "$(id -u)" -eq 0 ] || die "the pristine hosts need root (debootstrap, systemd-nspawn)"
        # The machine's own pod (the integration stage) must not hold the ports the hosts
        # publish on the shared network.
        "$AI_SEMBLE_ROOT/scripts/deploy.sh" stop >/dev/null 2>&1 || true
        "$AI_SEMBLE_ROOT/tests/hosts/run.sh" "${hosts[@]}"
}

ensure_packages
case "$what" in
all)
        coverage=1
        run_lint
        run_unit 1
        run_integration
        run_hosts
        ;;
hosts) run_hosts ;;
unit) run_unit 1 ;;
integration) run_integration ;;
lint) run_lint ;;
quick)
        run_lint
        run_unit 0
        ;;
*) die "usage: run-tests.sh all|unit|integration|hosts [debian12] [debian13]|lint|quick [--coverage]" ;;
esac
