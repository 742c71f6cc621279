# shellcheck shell=bash
# lib.sh — a tiny TAP-like harness for the integration tests: `check NAME CMD...`
# runs one assertion, `skip NAME REASON` declares one this host cannot run, `finish`
# prints the plain "N passed, N failed" closing line.

PASSED=0
FAILED=0
SKIPPED=0
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
                printf 'ok %d - %s\n' $((PASSED + FAILED + SKIPPED)) "$_check_name"
        else
                _check_rc=$?
                FAILED=$((FAILED + 1))
                FAILED_NAMES+=("$_check_name")
                printf 'not ok %d - %s (exit %d)\n' $((PASSED + FAILED + SKIPPED)) "$_check_name" "$_check_rc"
                sed 's/^/#   /' "$_check_out" | tail -n 40
        fi
}

# A check this host lacks a tool for, said as such (TAP's SKIP), never silently; the
# caller decides that the tool may be missing (need_set below).
skip() { # name reason
        SKIPPED=$((SKIPPED + 1))
        printf 'ok %d - %s # SKIP %s\n' $((PASSED + FAILED + SKIPPED)) "$1" "$2"
}

# Whether run-tests.sh installed a package set (scripts/packages/SET.txt) for this run:
# a check whose tools come from that set must run, not skip.
package_set_installed() { # set
        [[ " ${AI_SEMBLE_INSTALLED_SETS:-} " == *" $1 "* ]]
}

finish() {
        echo
        if [ "$FAILED" -eq 0 ]; then
                # Each check's output is only worth keeping when something failed.
                [ -z "${LOG_DIR_OWNED:-}" ] || rm -rf "$LOG_DIR"
        else
                printf 'failed: %s (output of each check in %s)\n' "${FAILED_NAMES[*]}" "$LOG_DIR"
        fi
        printf 'integration: %d passed, %d failed%s\n' "$PASSED" "$FAILED" \
                "$([ "$SKIPPED" -eq 0 ] || echo ", $SKIPPED skipped (# SKIP above says why)")"
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

# ---- the pod's API --------------------------------------------------------------------
# api METHOD PATH [BODY] [curl args...]: one request to the published port ($URL) with
# the suite's token ($IT_TOKEN, when auth is on). Sets API_STATUS, API_BODY and API_HEAD
# (the response's header block).
api() {
        local method=$1 path=$2 body=${3:-} out hdr
        shift 2
        [ $# -gt 0 ] && shift
        local args=(-s -m 60 -X "$method" -D - -w '\n%{http_code}')
        [ -n "${IT_TOKEN:-}" ] && args+=(-H "Authorization: Bearer $IT_TOKEN")
        [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
        out=$(curl "${args[@]}" "$@" "$URL$path") || {
                API_STATUS=000 API_BODY="" API_HEAD=""
                return 1
        }
        API_STATUS=${out##*$'\n'}
        out=${out%$'\n'*}
        hdr=${out%%$'\r\n\r\n'*}
        # 100 Continue comes first when curl asked for it: the real head is the last one
        while [[ $hdr == "HTTP/1.1 100"* ]]; do
                out=${out#*$'\r\n\r\n'}
                hdr=${out%%$'\r\n\r\n'*}
        done
        API_HEAD=$hdr
        API_BODY=${out#*$'\r\n\r\n'}
        [ "$API_BODY" = "$out" ] && API_BODY=""
        return 0
}
# The value of a header of the last api() answer ('' when absent).
api_header() { # name
        printf '%s\n' "$API_HEAD" | tr -d '\r' | awk -v n="$1" 'BEGIN { n = tolower(n) }
                { k = tolower($0); sub(/:.*/, "", k) } k == n { sub(/^[^:]*:[ \t]*/, ""); print; exit }'
}
# api plus: the status must be want; prints the body on failure.
api_expect() { # want method path [body] [curl args...]
        local want=$1
        shift
        api "$@" || { echo "$1 $2: no answer"; return 1; }
        [ "$API_STATUS" = "$want" ] || {
                printf '%s %s: expected %s, got %s: %s\n' "$1" "$2" "$want" "$API_STATUS" "$API_BODY"
                return 1
        }
}
# A stored job's field (jq filter).
job_field() { # id filter
        api GET "/jobs/$1" >/dev/null && jq -r "$2" <<<"$API_BODY"
}
# Waits for a job to reach a status.
job_wait() { # id status [seconds]
        local i s=""
        for ((i = 0; i < ${3:-30} * 5; i++)); do
                s=$(job_field "$1" .status) || s=""
                [ "$s" = "$2" ] && return 0
                sleep 0.2
        done
        echo "job $1 is '$s', expected '$2'"
        return 1
}

# ---- the pod's configuration ----------------------------------------------------------
# Checks change ai-semble.env and restart what reads it; every change is undone by
# pod_env_pop, newest first.
POD_ENV_DEPTH=0
pod_env_file() {
        if [ "$(hostenv_mode)" = direct ]; then
                echo "$HOME/.config/ai-semble/ai-semble.env"
        else
                echo "$(hostenv_home)/.config/ai-semble/ai-semble.env"
        fi
}
pod_env_push() { # KEY=VALUE...
        local f
        f=$(pod_env_file)
        POD_ENV_DEPTH=$((POD_ENV_DEPTH + 1))
        cp -p "$f" "$f.it-$POD_ENV_DEPTH" || return 1
        printf '%s\n' "$@" >>"$f"
}
pod_env_pop() {
        local f
        f=$(pod_env_file)
        [ "$POD_ENV_DEPTH" -gt 0 ] || { echo "pod_env_pop without a push"; return 1; }
        mv "$f.it-$POD_ENV_DEPTH" "$f" || return 1
        POD_ENV_DEPTH=$((POD_ENV_DEPTH - 1))
}
# Restarts units (ai-semble-<svc>.service) and waits until the orchestrator reports every
# service ready again.
restart_units() { # unit...
        # The suite restarts units more often than StartLimitBurst (5 in 10 s) allows a
        # crash loop; these are deliberate restarts, so the count starts over.
        hostenv_exec systemctl --user reset-failed "$@" 2>/dev/null
        hostenv_exec systemctl --user restart "$@" || return 1
        wait_ready 60
}
wait_ready() { # [seconds]
        local i
        for ((i = 0; i < ${1:-60} * 5; i++)); do
                curl -sf -m 1 "$URL/health/ready" 2>/dev/null | jq -e '.status == "ready"' >/dev/null 2>&1 && return 0
                sleep 0.2
        done
        echo "the pod was not ready within ${1:-60} s:"
        curl -s -m 2 "$URL/health/ready"
        return 1
}

# ---- the journal ------------------------------------------------------------------------
# A cursor at the journal's end now: what a check caused comes after it.
journal_cursor() {
        hostenv_exec journalctl --user -n 1 -o json --no-pager 2>/dev/null | jq -r '.__CURSOR // empty'
}
# When a unit's current run began ("since:<time>", for journal_has_after): its lines of
# this run, whoever started it.
unit_run_began() { # unit
        local ts
        ts=$(hostenv_exec systemctl --user show -p InactiveExitTimestamp --value "$1") && [ -n "$ts" ] &&
                echo "since:$(date -d "$ts" '+%Y-%m-%d %H:%M:%S')"
}
# Waits up to 10 s for a line matching regex in a unit's journal after cursor (or since
# the time of "since:<time>").
journal_has_after() { # cursor|since:<time> unit regex
        local out args=()
        case $1 in
        since:*) args=(--since "${1#since:}") ;;
        ?*) args=(--after-cursor "$1") ;;
        esac
        for _ in $(seq 50); do
                out=$(hostenv_exec journalctl --user "${args[@]}" -u "$2" -o cat --no-pager) || return 1
                grep -Eq -- "$3" <<<"$out" && return 0
                sleep 0.2
        done
        printf '%s\n' "$out" | grep -v '^$' | tail -n 10
        echo "no line matching /$3/ in the journal of $2 after the check began"
        return 1
}
