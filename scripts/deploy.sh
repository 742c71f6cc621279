#!/usr/bin/env bash
# deploy.sh — operate the ai-semble pod. A thin layer over ai-semble-supervisor,
# podman and journalctl; `start` is the one command that takes a fresh machine to
# a running pod.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/hostenv.sh
. "$(dirname "$0")/lib/hostenv.sh"

PUBLISH=${AI_SEMBLE_PUBLISH:-127.0.0.1:8080}
URL="http://$PUBLISH"
READY_TIMEOUT=${AI_SEMBLE_READY_TIMEOUT:-120}

usage() {
        cat <<USAGE
usage: deploy.sh COMMAND [options]

  start [--dev]          install what is missing, build, start the pod, wait until ready
                         (--dev: also publish llm, vision, nlp and data on 127.0.0.1,
                         which have no authentication, and log at debug level)
  stop                   stop the pod
  restart [service]      restart one service (orchestrator|llm|vision|nlp|data) or all
  status [--json]        each unit's state and each service's readiness
  update [--all]         rebuild from this checkout and replace, one at a time and with no
                         downtime, each service whose image changed (--all: every one);
                         a service whose new image fails its canary is rolled back
  logs [--follow] [service]
                         the pod's journal (one service's with a name)
  health                 the orchestrator's readiness report; non-zero unless ready
  token --role R --sub S [--ttl 1h]
                         mint a bearer token (admin|operator|viewer) with the pod's
                         JWT secret: every API route but /health* and /metrics needs
                         one, and so do the supervisor's POST routes (admin)
  key create --name N [--role operator|viewer] [--budget-day T] [--budget-month T]
             [--rpm N] [--tpm N]
                         create an API key (shown once; the orchestrator keeps only its
                         SHA-256): a bearer token for /v1 clients and scripts, with
                         optional token budgets per UTC day/month and limits per minute
  key list               every key (never the key itself): name, prefix, last use, budgets
  key revoke ID          revoke a key at once
  trace [--json] JOB_ID  the job's trace from the pod's journal: each hop (service, span,
                         start offset, duration, outcome) indented under its parent

Run as root, the pod runs rootless as the user '$AI_SEMBLE_USER' (created if missing).
USAGE
}

# Where the supervisor and its inputs live for the pod's user.
user_prefix() {
        case "$(hostenv_mode)" in
        direct) echo "$HOME" ;;
        *) hostenv_home ;;
        esac
}

supervisor() {
        local home
        home=$(user_prefix)
        hostenv_exec env AI_SEMBLE_QUADLET_DIR="$home/.local/share/ai-semble/quadlets" \
                AI_SEMBLE_SECCOMP_DIR="$home/.local/share/ai-semble/seccomp" \
                AI_SEMBLE_ENV_FILE="$home/.config/ai-semble/ai-semble.env" \
                AI_SEMBLE_PUBLISH="$PUBLISH" AI_SEMBLE_READY_URL="$URL/health/ready" \
                "$home/.local/bin/ai-semble-supervisor" "$@"
}

# The daemon runs the binary it started with: a new one needs a restart.
SUPERVISOR_REPLACED=0
start_supervisor_daemon() {
        if [ "$SUPERVISOR_REPLACED" = 1 ]; then
                hostenv_exec systemctl --user restart ai-semble-supervisor.service
        else
                hostenv_exec systemctl --user start ai-semble-supervisor.service
        fi
}

# Copies the supervisor, the unit sources and the environment file to the pod's user.
install_user_files() { # dev
        local home owner
        home=$(user_prefix)
        owner=()
        [ "$(hostenv_mode)" = direct ] || owner=(-o "$AI_SEMBLE_USER" -g "$(id -g "$AI_SEMBLE_USER")")
        cmp -s "$AI_SEMBLE_BUILD/supervisor/ai-semble-supervisor" "$home/.local/bin/ai-semble-supervisor" ||
                SUPERVISOR_REPLACED=1
        install -D -m 0755 "${owner[@]}" "$AI_SEMBLE_BUILD/supervisor/ai-semble-supervisor" \
                "$home/.local/bin/ai-semble-supervisor"
        install -d -m 0755 "${owner[@]}" "$home/.local/share/ai-semble" "$home/.local/share/ai-semble/quadlets" \
                "$home/.local/share/ai-semble/seccomp" "$home/.config" "$home/.config/ai-semble"
        install -m 0644 "${owner[@]}" "$AI_SEMBLE_ROOT"/quadlets/* "$home/.local/share/ai-semble/quadlets/"
        # The sources of `security apply` (which validates and installs them where the
        # quadlets' SeccompProfile= points, ~/.config/ai-semble/seccomp) and of the
        # supervisor's own SystemCallFilter= (supervisor.json, read by `install`).
        rm -f "$home/.local/share/ai-semble/seccomp/"*.json
        install -m 0644 "${owner[@]}" "$AI_SEMBLE_ROOT"/security/seccomp/*.json "$home/.local/share/ai-semble/seccomp/"
        {
                cat "$AI_SEMBLE_ROOT/configs/ai-semble.env"
                if [ "$1" = 1 ]; then
                        printf '\n# --dev: every service reachable on the published loopback ports, debug logs\n'
                        printf 'LOG_LEVEL=debug\n'
                        for s in llm vision nlp data; do
                                printf '%s_LISTEN=0.0.0.0:%s\n' "${s^^}" "$(service_port "$s")"
                        done
                fi
        } >"$home/.config/ai-semble/ai-semble.env.new"
        mv "$home/.config/ai-semble/ai-semble.env.new" "$home/.config/ai-semble/ai-semble.env"
        [ "$(hostenv_mode)" = direct ] || chown -R "$AI_SEMBLE_USER:" "$home/.config/ai-semble"
}

# The orchestrator's secrets: a random value per name, kept (0600) under
# ~/.config/ai-semble/secrets/ for minting tokens (the supervisor verifies admin tokens
# with the same file) and signing webhooks, and as the Podman secret ai-semble-<name> that
# the orchestrator's unit mounts at /run/secrets/ai-semble-<name>, where ai-semble.env's
# ORCH_JWT_SECRET_FILE / ORCH_WEBHOOK_SECRET_FILE point. Created once.
ensure_secrets() {
        local home dir name
        home=$(user_prefix)
        dir=$home/.config/ai-semble/secrets
        install -d -m 0700 "$dir"
        for name in jwt webhook; do
                [ -s "$dir/$name" ] || (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$dir/$name")
        done
        [ "$(hostenv_mode)" = direct ] || chown -R "$AI_SEMBLE_USER:" "$dir"
        for name in jwt webhook; do
                hostenv_exec podman secret inspect "ai-semble-$name" >/dev/null 2>&1 ||
                        hostenv_exec podman secret create "ai-semble-$name" "$dir/$name" >/dev/null
        done
}

cmd_token() {
        local bin=$AI_SEMBLE_BUILD/services/orchestrator/ai-semble-token
        [ -x "$bin" ] || die "build first: ./scripts/deploy.sh start"
        [ -s "$(user_prefix)/.config/ai-semble/secrets/jwt" ] || die "no JWT secret yet: ./scripts/deploy.sh start"
        "$bin" --secret-file "$(user_prefix)/.config/ai-semble/secrets/jwt" "$@"
}

# The orchestrator's API as an admin: a token minted for this one call (5 minutes, sub
# deploy.sh), handed to curl on a file descriptor rather than its command line.
admin_api() { # method path [json]
        local tok data=()
        tok=$(cmd_token --role admin --sub deploy.sh --ttl 5m) || die "could not mint an admin token"
        [ $# -lt 3 ] || data=(-H 'Content-Type: application/json' --data-binary @-)
        curl -sS -m 30 -X "$1" "${data[@]}" -H @<(printf 'Authorization: Bearer %s\n' "$tok") \
                -w '\n%{http_code}' "$URL$2" <<<"${3:-}" || die "the orchestrator does not answer on $URL"
}

# Prints the body; fails with it on stderr unless the status is want.
api_answer() { # want answer
        local code=${2##*$'\n'} body=${2%$'\n'*}
        if [ "$code" != "$1" ]; then
                printf '%s\n' "$body" >&2
                die "the orchestrator on $URL answered HTTP $code"
        fi
        printf '%s\n' "$body" | jq .
}

cmd_key() {
        local sub=${1:-} name="" role=operator body answer n
        local -A num=()
        [ $# -gt 0 ] && shift
        case "$sub" in
        create)
                while [ $# -gt 0 ]; do
                        case "$1" in
                        --name) name=${2:?--name needs a value} ;;
                        --role) role=${2:?--role needs a value} ;;
                        --budget-day) num[budget_tokens_day]=${2:?--budget-day needs a value} ;;
                        --budget-month) num[budget_tokens_month]=${2:?--budget-month needs a value} ;;
                        --rpm) num[rpm]=${2:?--rpm needs a value} ;;
                        --tpm) num[tpm]=${2:?--tpm needs a value} ;;
                        *) die "key create: unknown option $1 (see deploy.sh help)" ;;
                        esac
                        shift 2
                done
                [ -n "$name" ] || die "key create needs --name NAME (1-64 of A-Z a-z 0-9 . _ -)"
                body=$(jq -cn --arg name "$name" --arg role "$role" '{name: $name, role: $role}')
                for n in "${!num[@]}"; do
                        [[ ${num[$n]} =~ ^[1-9][0-9]{0,12}$ ]] || die "key create: $n must be a whole number >= 1"
                        body=$(jq -c --arg k "$n" --argjson v "${num[$n]}" '.[$k] = $v' <<<"$body")
                done
                answer=$(admin_api POST /keys "$body")
                api_answer 201 "$answer"
                warn "the key is shown only this once: store it now"
                ;;
        list)
                answer=$(admin_api GET /keys)
                api_answer 200 "$answer"
                ;;
        revoke)
                if [ $# -ne 1 ] || ! [[ $1 =~ ^[A-Za-z0-9-]{1,64}$ ]]; then
                        die "key revoke needs the key's id (deploy.sh key list)"
                fi
                answer=$(admin_api DELETE "/keys/$1")
                api_answer 200 "$answer"
                ;;
        *)
                usage >&2
                exit 2
                ;;
        esac
}

# A job's waterfall: its trace id from GET /jobs/{id}, then the span lines of that trace
# in the pod's journal since the job was created. conmon keeps a container's stderr line as
# MESSAGE only, so the fields are read back from the JSON line (scripts/lib/trace.jq).
cmd_trace() {
        local format=text answer job tid range spans units=() a
        if [ "${1:-}" = --json ]; then
                format=json
                shift
        fi
        if [ $# -ne 1 ] || ! [[ $1 =~ ^[A-Za-z0-9-]{1,64}$ ]]; then
                die "trace needs a job id (deploy.sh trace [--json] JOB_ID)"
        fi
        answer=$(admin_api GET "/jobs/$1")
        job=$(api_answer 200 "$answer")
        tid=$(jq -r '.trace_id // empty' <<<"$job")
        [ -n "$tid" ] || die "job $1 has no trace id (submitted with TRACE=off, or before tracing)"
        # The journal from the job's creation to its end (a minute either side), or to now.
        range=(--since "@$(($(date -d "$(jq -r .created_at <<<"$job")" +%s) - 60))")
        if jq -e '.status | IN("completed", "failed", "cancelled")' <<<"$job" >/dev/null; then
                range+=(--until "@$(($(date -d "$(jq -r .updated_at <<<"$job")" +%s) + 60))")
        fi
        for a in $AI_SEMBLE_SERVICES; do units+=(-u "ai-semble-$a.service"); done
        # --grep (PCRE2: Debian's journalctl has it) only narrows what jq parses; no match
        # at all is not an error here.
        spans=$(hostenv_exec journalctl --user "${units[@]}" "${range[@]}" --grep "$tid" \
                -o json --no-pager | jq -n -r --arg tid "$tid" --arg format "$format" \
                -f "$AI_SEMBLE_ROOT/scripts/lib/trace.jq") || true
        if [ -z "$spans" ] || [[ $spans == *": 0 spans,"* ]]; then
                die "no span lines of trace $tid in the journal: not sampled (TRACE_SAMPLE_RATE traces a second are; a request with traceparent flags 01 always is), or no longer in the journal"
        fi
        printf '%s\n' "$spans"
}

# Every ai-semble unit that is not active and running (the pod's included), with its
# state and last journal lines. As root the journal is read as root, which sees the
# user's lines whether or not the journal is split per user.
show_failure() {
        local uid unit units
        warn "the pod did not become ready; the units that are not running, with their last journal lines:"
        units=$(hostenv_exec systemctl --user list-units --all --plain --no-legend --no-pager 'ai-semble*' |
                awk '$3 != "active" || $4 != "running" { print $1 }')
        [ -n "$units" ] || units=$(hostenv_exec systemctl --user list-units --all --plain --no-legend --no-pager 'ai-semble*' | awk '{ print $1 }')
        uid=$(hostenv_exec id -u)
        for unit in $units; do
                printf -- '--- %s: %s\n' "$unit" "$(hostenv_exec systemctl --user show -p ActiveState -p SubState -p Result --value "$unit" | paste -sd' ')" >&2
                if [ "$(id -u)" -eq 0 ]; then
                        journalctl --no-pager -q -n 25 _UID="$uid" USER_UNIT="$unit" + _UID="$uid" _SYSTEMD_USER_UNIT="$unit" >&2 || true
                else
                        journalctl --user --no-pager -q -n 25 -u "$unit" >&2 || true
                fi
        done
}

wait_ready() {
        local start now body n
        start=$(date +%s)
        while :; do
                body=$(curl -s -m 2 "$URL/health/ready" 2>/dev/null || true)
                n=$(printf '%s' "$body" | jq -r '[.services[]? | select(.status == "ready")] | length' 2>/dev/null || echo 0)
                if printf '%s' "$body" | jq -e '.status == "ready"' >/dev/null 2>&1; then
                        printf '\r\033[K' >&2
                        return 0
                fi
                now=$(date +%s)
                printf '\r\033[K    waiting for the services: orchestrator %s, %s/4 others ready (%ss)' \
                        "$([ -n "$body" ] && echo up || echo down)" "${n:-0}" "$((now - start))" >&2
                if [ $((now - start)) -ge "$READY_TIMEOUT" ]; then
                        printf '\n' >&2
                        return 1
                fi
                sleep 0.2
        done
}

# What --dev exposes, said before the start and again at the end.
dev_warning() {
        local s
        warn "--dev publishes the backend services with NO AUTHENTICATION:"
        for s in llm vision nlp data; do
                printf '    %-6s http://127.0.0.1:%s\n' "$s" "$(service_port "$s")" >&2
        done
        warn "every local user, and web pages through the browser, can call them directly;" \
                "use --dev only where you are the only user ('deploy.sh update' turns it off)"
}

# How to reach the API once the pod is up: a token, or a loud note when auth is off.
print_access() {
        local env_file
        env_file=$(user_prefix)/.config/ai-semble/ai-semble.env
        if grep -Eq '^[[:space:]]*ORCH_AUTH=off' "$env_file" 2>/dev/null; then
                warn "ORCH_AUTH=off in $env_file: the API on $URL answers anyone without a token"
                return
        fi
        cat >&2 <<ACCESS
    Every API route needs a bearer token (/health* and /metrics do not). Get one:
      TOKEN=\$(./scripts/deploy.sh token --role operator --sub "\$USER" --ttl 8h)
      curl -H "Authorization: Bearer \$TOKEN" $URL/jobs
    Roles: viewer (reads its own jobs), operator (also submits), admin (every job, locks,
    the audit log, and the supervisor's POST routes on http://127.0.0.1:8090).
ACCESS
}

cmd_start() {
        local dev=0 a
        for a in "$@"; do
                case "$a" in
                --dev) dev=1 ;;
                *) die "start: unknown option '$a'" ;;
                esac
        done
        [ "$dev" = 0 ] || dev_warning
        # Packages first: the pod's user and its manager come after dbus-user-session.
        "$AI_SEMBLE_ROOT/scripts/setup.sh"
        hostenv_up
        install_user_files "$dev"
        ensure_secrets
        # As root, also the system-wide profiles `podman kube play pods/ai-semble.yaml`
        # resolves (/var/lib/kubelet/seccomp/ai-semble); without root: install-security.sh.
        if [ "$(id -u)" -eq 0 ]; then "$AI_SEMBLE_ROOT/scripts/install-security.sh" >/dev/null; fi
        step "installing the units"
        if [ "$dev" = 1 ]; then supervisor install --dev; else supervisor install; fi
        step "installing the seccomp profiles"
        supervisor security apply
        step "starting the pod"
        if ! supervisor start || ! wait_ready; then
                show_failure
                exit 1
        fi
        step "starting the supervisor: http://127.0.0.1:8090"
        start_supervisor_daemon
        step "ai-semble is ready: $URL"
        print_access
        [ "$dev" = 0 ] || dev_warning
}

# Zero-downtime update: the images are rebuilt, then the supervisor daemon replaces the
# services whose image changed one at a time (the orchestrator holds their calls, the old
# instance drains, a canary job runs through the door, a failed one is rolled back to the
# image tagged :previous with a CRITICAL alert); the orchestrator goes last, its socket
# unit keeping connections waiting. Changed settings (ai-semble.env) replace every service.
# Changed units (quadlets/) cannot be swapped in place: install restarts the pod then.
cmd_update() {
        local all=() env a before after
        for a in "$@"; do
                case "$a" in
                --all) all=(--all) ;;
                *) die "update: unknown option '$a'" ;;
                esac
        done
        "$AI_SEMBLE_ROOT/scripts/setup.sh"
        hostenv_up
        env=$(user_prefix)/.config/ai-semble/ai-semble.env
        before=$(sha256sum "$env" 2>/dev/null || true)
        install_user_files 0
        after=$(sha256sum "$env")
        [ "$before" = "$after" ] || all=(--all)
        ensure_secrets
        supervisor install
        supervisor security apply >/dev/null
        # install stops everything when the units changed: start what is not running
        if ! supervisor status >/dev/null 2>&1; then
                supervisor start
                wait_ready || { show_failure; exit 1; }
        fi
        start_supervisor_daemon
        step "replacing the services whose image changed${all:+ (every service: --all or changed settings)}"
        supervisor update "${all[@]}" || { show_failure; exit 1; }
        wait_ready || { show_failure; exit 1; }
        step "ai-semble is updated and ready: $URL"
}

cmd_logs() {
        local follow=() units=() a
        for a in "$@"; do
                case "$a" in
                -f | --follow) follow=(--follow) ;;
                -*) die "logs: unknown option '$a'" ;;
                *)
                        service_port "$a" >/dev/null || die "logs: unknown service '$a'"
                        units+=(-u "ai-semble-$a.service")
                        ;;
                esac
        done
        if [ ${#units[@]} -eq 0 ]; then
                for a in $AI_SEMBLE_SERVICES; do units+=(-u "ai-semble-$a.service"); done
        fi
        hostenv_exec journalctl --user "${units[@]}" --no-pager -n 200 "${follow[@]}"
}

cmd_health() {
        local body code
        body=$(curl -s -m 5 -w '\n%{http_code}' "$URL/health/ready") || die "the orchestrator does not answer on $URL"
        code=${body##*$'\n'}
        printf '%s\n' "${body%$'\n'*}" | jq .
        [ "$code" = 200 ]
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
start) cmd_start "$@" ;;
stop)
        hostenv_up
        supervisor stop
        ;;
restart)
        hostenv_up
        supervisor restart "$@"
        wait_ready || { show_failure; exit 1; }
        step "ai-semble is ready: $URL"
        ;;
status)
        hostenv_up
        supervisor status "$@"
        ;;
update)
        cmd_update "$@"
        ;;
logs)
        hostenv_up
        cmd_logs "$@"
        ;;
health) cmd_health ;;
token)
        hostenv_up
        cmd_token "$@"
        ;;
key)
        hostenv_up
        cmd_key "$@"
        ;;
trace)
        hostenv_up
        cmd_trace "$@"
        ;;
-h | --help | help) usage ;;
*)
        usage >&2
        exit 2
        ;;
esac
