# shellcheck shell=bash
# lib.sh — a tiny TAP-like harness for the integration tests: `check NAME CMD...`
# runs one assertion, `finish` prints the plain "N passed, N failed" closing line.

PASSED=0
FAILED=0
FAILED_NAMES=()
if [ -z "${LOG_DIR:-}" ]; then
        LOG_DIR=$(mktemp -d /tmp/ai-semble-it.XXXXXX)
        LOG_DIR_OWNED=1
fi

# The check's own variables carry a prefix: bash's dynamic scoping would otherwise let
# a test function that sets `name` rename the check it runs in.
check() { # name command...
        local _check_name=$1 _check_out _check_rc
        shift
        _check_out="$LOG_DIR/$(printf '%s' "$_check_name" | tr -c 'A-Za-z0-9_.-' '_').log"
        if "$@" >"$_check_out" 2>&1; then
                PASSED=$((PASSED + 1))
                printf 'ok %d - %s\n' $((PASSED + FAILED)) "$_check_name"
        else
                _check_rc=$?
                FAILED=$((FAILED + 1))
                FAILED_NAMES+=("$_check_name")
                printf 'not ok %d - %s (exit %d)\n' $((PASSED + FAILED)) "$_check_name" "$_check_rc"
                sed 's/^/#   /' "$_check_out" | tail -n 40
        fi
}

finish() {
        echo
        if [ "$FAILED" -eq 0 ]; then
                # Each check's output is only worth keeping when something failed.
                [ -z "${LOG_DIR_OWNED:-}" ] || rm -rf "$LOG_DIR"
        else
                printf 'failed: %s (output of each check in %s)\n' "${FAILED_NAMES[*]}" "$LOG_DIR"
        fi
        printf 'integration: %d passed, %d failed\n' "$PASSED" "$FAILED"
        [ "$FAILED" -eq 0 ]
}

# Assertion helpers (each returns non-zero with a message on failure).
expect_eq() { # what expected actual
        [ "$2" = "$3" ] || {
                printf '%s: expected "%s", got "%s"\n' "$1" "$2" "$3"
                return 1
        }
}
expect_match() { # what regex text
        printf '%s' "$3" | grep -Eq -- "$2" || {
                printf '%s: "%s" does not match /%s/\n' "$1" "$3" "$2"
                return 1
        }
}
