#!/usr/bin/env bash
# Integration tests against the real pod: deploy.sh under a real systemd --user
# manager, rootless Podman and journald. Order matters: a clean start, inspect, each
# area's checks (tests/integration/service-<area>.sh, in AREAS order), the lifecycle
# (restart, update, stop), then the same pod from the Kubernetes YAML.
#
# Usage: tests/integration/run.sh [--clean]
# --clean (always under CI=true): first remove everything earlier runs left to the pod's
# user (units, containers, images, volumes, secrets, settings), so that nothing the suite
# sees was made by anyone but itself. The pristine hosts (tests/hosts) start clean anyway.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/hostenv.sh
. "$here/../../scripts/lib/hostenv.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

DEPLOY="$AI_SEMBLE_ROOT/scripts/deploy.sh"
URL=http://127.0.0.1:8080
export AI_SEMBLE_READY_TIMEOUT=${AI_SEMBLE_READY_TIMEOUT:-180}
pm() { hostenv_exec podman "$@"; }
# The pod's user's home (for files the suite hands to the pod).
it_home() {
        if [ "$(hostenv_mode)" = direct ]; then echo "$HOME"; else hostenv_home; fi
}

clean=0
[ "${CI:-}" = true ] && clean=1
for a in "$@"; do
        case "$a" in
        --clean) clean=1 ;;
        *) die "usage: tests/integration/run.sh [--clean]" ;;
        esac
done

# Everything an earlier run (or an older version) left to the pod's user.
it_clean() {
        local home
        id "$AI_SEMBLE_USER" >/dev/null 2>&1 || [ "$(hostenv_mode)" = direct ] || return 0
        hostenv_up
        home=$(it_home)
        hostenv_exec systemctl --user stop 'ai-semble*' 2>/dev/null
        hostenv_exec podman pod rm -f -a >/dev/null 2>&1
        hostenv_exec podman rm -f -a >/dev/null 2>&1
        hostenv_exec podman secret ls -q 2>/dev/null | while read -r s; do hostenv_exec podman secret rm "$s" >/dev/null; done
        hostenv_exec podman system reset --force >/dev/null 2>&1
        rm -rf "$home/.config/ai-semble" "$home/.local/share/ai-semble" "$home/.cache/ai-semble" \
                "$home"/.config/containers/systemd/ai-semble* "$home"/.config/systemd/user/*ai-semble* \
                "$home"/.config/systemd/user/*/*ai-semble* "$home/.local/bin/ai-semble-supervisor"
        hostenv_exec systemctl --user daemon-reload
        hostenv_exec systemctl --user reset-failed 2>/dev/null
        return 0
}
if [ "$clean" = 1 ]; then
        step "integration: removing what earlier runs left to the pod's user"
        it_clean
fi

# --- start -----------------------------------------------------------------------
t_start() {
        local out
        out=$("$DEPLOY" start 2>&1) || {
                printf '%s\n' "$out"
                return 1
        }
        printf '%s\n' "$out"
        expect_match "start output" "ai-semble is ready: $URL" "$out"
}
check "deploy.sh start brings the pod up and waits until ready" t_start
if [ "$FAILED" -gt 0 ]; then
        finish
        exit 1
fi

# Secure by default: the API wants a token; the suite's own (admin: it reads every job
# its checks make under other names) comes from the command a user is told to run.
t_token() {
        local code
        code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$URL/jobs")
        expect_eq "GET /jobs without a token" 401 "$code" || return 1
        IT_TOKEN=$("$DEPLOY" token --role admin --sub it --ttl 4h) || return 1
        export IT_TOKEN
        api_expect 200 GET '/jobs?limit=1'
}
check "the API as deployed answers 401 without a token and 200 with one from deploy.sh token" t_token

# start on a running pod: nothing is replaced, nothing fails, still ready.
t_start_again() {
        local before after out
        before=$(pm ps --format '{{.Names}} {{.ID}}' | sort) || return 1
        out=$("$DEPLOY" start 2>&1) || {
                printf '%s\n' "$out"
                return 1
        }
        after=$(pm ps --format '{{.Names}} {{.ID}}' | sort)
        expect_match "start output" "ai-semble is ready: $URL" "$out" &&
                expect_eq "containers after a second start" "$before" "$after"
}
check "deploy.sh start on a running pod leaves it running and ready" t_start_again

# The supervisor's sd-bus unit test is skipped by `meson test` (root has no user
# bus); here it runs as the pod's user against the real user manager.
t_supervisor_bus() {
        local bin dst rc
        bin="$AI_SEMBLE_BUILD/tests/unit/test-supervisor-bus"
        [ -x "$bin" ] || {
                echo "$bin is missing"
                return 1
        }
        dst=$(hostenv_home)/.cache/ai-semble/test-supervisor-bus
        [ "$(hostenv_mode)" = direct ] && dst=$HOME/.cache/ai-semble/test-supervisor-bus
        install -D -m 0755 "$bin" "$dst"
        hostenv_exec "$dst"
        rc=$?
        rm -f "$dst"
        [ "$rc" -eq 0 ] # 77 (skip) is a failure here: the bus must be there
}
check "the supervisor's sd-bus client passes its unit test against the real user manager" t_supervisor_bus

t_status() {
        local out json
        out=$("$DEPLOY" status) || return 1
        printf '%s\n' "$out"
        for s in $AI_SEMBLE_SERVICES; do expect_match "status table" "ai-semble-$s" "$out" || return 1; done
        json=$("$DEPLOY" status --json) || return 1
        printf '%s\n' "$json"
        expect_eq "ready" true "$(jq -r .ready <<<"$json")" &&
                expect_eq "active services" 5 "$(jq '[.services[] | select(.active == "active")] | length' <<<"$json")" &&
                expect_eq "ready services" 5 "$(jq '[.services[] | select(.ready == true)] | length' <<<"$json")" &&
                expect_eq "pod unit" active "$(jq -r .pod.active <<<"$json")"
}
check "deploy.sh status shows every unit active and every service ready" t_status

t_health() {
        local out
        out=$("$DEPLOY" health) || {
                printf '%s\n' "$out"
                return 1
        }
        printf '%s\n' "$out"
        expect_eq "services" '["data","llm","nlp","vision"]' "$(jq -c '.services | keys' <<<"$out")" &&
                expect_eq "all ready" 4 "$(jq '[.services[] | select(.status == "ready" and (.latency_ms | type) == "number")] | length' <<<"$out")"
}
check "deploy.sh health: the orchestrator reports the four services ready with latency" t_health

t_seed_health() {
        local h
        h=$(curl -sf "$URL/health") || return 1
        printf '%s\n' "$h"
        jq -e '.status == "healthy" and .service == "orchestrator" and (.timestamp | type) == "number" and (.version | length) > 0' <<<"$h" >/dev/null &&
                curl -sf "$URL/health/live" | jq -e '.status == "alive"' >/dev/null &&
                curl -sf "$URL/health/ready" | jq -e '.status == "ready"' >/dev/null
}
check "GET /health, /health/live, /health/ready keep the seed's shapes" t_seed_health

t_pod_ps() {
        local out
        out=$(pm pod ps --format '{{.Name}} {{.Status}} {{.NumberOfContainers}}') || return 1
        printf '%s\n' "$out"
        expect_match "podman pod ps" '^ai-semble Running 6$' "$out"
}
check "podman pod ps lists the running pod (infra + five containers)" t_pod_ps

t_containers_hardened() {
        local s c fmt line who
        fmt='{{.State.Status}} {{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{len .EffectiveCaps}} {{.HostConfig.SecurityOpt}}'
        for s in $AI_SEMBLE_SERVICES; do
                c=ai-semble-$s
                line=$(pm inspect --format "$fmt" "$c") || return 1
                printf '%s: %s\n' "$c" "$line"
                expect_match "$c state/user/read-only/caps" '^running 10001:10001 true 0 .*no-new-privileges' "$line" || return 1
                # user: as the image's /etc/passwd names uid 10001; huser: the host uid,
                # a subordinate id of the pod's user, so neither root nor the user itself.
                who=$(pm top "$c" user huser | awk 'NR == 2 { print $1, $2 }')
                printf '%s: process %s\n' "$c" "$who"
                expect_match "$c process user" '^ai-semble [0-9]+$' "$who" || return 1
                [ "${who#* }" -ge 100000 ] || {
                        echo "$c runs as host uid ${who#* }, not a subordinate id"
                        return 1
                }
        done
}
check "five containers run as uid 10001, read-only rootfs, no capabilities, no-new-privileges" t_containers_hardened

# The published address is the orchestrator's socket unit, passed into its container: the
# pod itself publishes nothing (no rootlessport, no pasta on the request path).
t_only_orchestrator_published() {
        local ports listen
        ports=$(pm port ai-semble-infra) || return 1
        expect_eq "ports the pod publishes" "" "$ports" || return 1
        listen=$(hostenv_exec systemctl --user show -p Listen --value ai-semble-orchestrator.socket)
        expect_eq "the orchestrator's socket" "127.0.0.1:8080 (Stream)" "$listen" || return 1
        journal_has_after "$(unit_run_began ai-semble-orchestrator.service)" ai-semble-orchestrator.service \
                'Adopted passed socket 3 \(ai-semble-orchestrator.socket\) listening on 127.0.0.1:8080' </dev/null || return 1
        for p in 8081 8082 8083 8084; do
                if curl -s -m 2 -o /dev/null "http://127.0.0.1:$p/health"; then
                        echo "port $p answers on the host"
                        return 1
                fi
        done
}
check "only the orchestrator is published, on 127.0.0.1, through its socket unit" t_only_orchestrator_published

# Inside the pod's own network namespace (never the bridge address): root enters it.
in_pod_net() {
        local pid
        pid=$(pm inspect --format '{{.State.Pid}}' ai-semble-infra) || return 1
        nsenter --target "$pid" --net -- "$@"
}

# Starts tests/llm/fake_backend.py (the protocol-faithful OpenAI/Ollama fake) inside the
# pod's network on port, its output in log, and waits until it answers; its PID is then in
# FAKE_BACKEND_PID, for the area to stop it.
# shellcheck disable=SC2034 # read by the areas (service-*.sh)
FAKE_BACKEND_PID=
fake_backend_start() { # port log
        local i
        in_pod_net python3 "$AI_SEMBLE_ROOT/tests/llm/fake_backend.py" --port "$1" >"$2" 2>&1 &
        # shellcheck disable=SC2034 # read by the areas (service-*.sh)
        FAKE_BACKEND_PID=$!
        for ((i = 0; i < 100; i++)); do
                in_pod_net curl -s -m 1 -o /dev/null "http://127.0.0.1:$1/" && return 0
                sleep 0.1
        done
        echo "the fake backend did not answer on port $1: $(cat "$2")"
        return 1
}

# The llm with one backend: the fake on port, speaking OpenAI's protocol, model
# echo-openai; its backends file is <file> on the models volume (the area removes it).
fake_backend_openai() { # port log file
        local models
        fake_backend_start "$1" "$2" || return 1
        models=$(pm volume inspect ai-semble-models --format '{{.Mountpoint}}') || return 1
        jq -n --arg url "http://127.0.0.1:$1/v1" '{backends: [{name: "fake-openai", kind: "openai",
                base_url: $url, models: [{name: "echo-openai", context_window: 8192}]}]}' \
                >"$models/$3" || return 1
        chmod 0644 "$models/$3"
        pod_env_push "LLM_BACKENDS_FILE=/models/$3" &&
                restart_units ai-semble-llm.service
}

t_metrics() {
        local s p m
        for s in $AI_SEMBLE_SERVICES; do
                p=$(service_port "$s")
                m=$(in_pod_net curl -sf "http://127.0.0.1:$p/metrics") || {
                        echo "$s: /metrics failed"
                        return 1
                }
                printf '%s\n' "$m" | promtool check metrics || {
                        echo "$s: promtool check metrics failed"
                        return 1
                }
                for f in http_requests_total http_request_duration_seconds_bucket process_resident_memory_bytes \
                        process_cpu_seconds_total process_open_fds process_start_time_seconds ai_semble_build_info; do
                        grep -q "^$f" <<<"$m" || {
                                echo "$s: $f missing"
                                return 1
                        }
                done
        done
}
check "every service's /metrics passes promtool check metrics" t_metrics

t_errors() {
        api_expect 404 GET /no/such/route || return 1
        expect_match "404 type" '^application/problem\+json' "$(api_header Content-Type)" || return 1
        jq -e '.status == 404 and (.title | length) > 0' <<<"$API_BODY" >/dev/null || return 1
        api_expect 405 DELETE /health && expect_match "Allow" 'GET' "$(api_header Allow)" || return 1
        api_expect 200 GET /health "" -H 'X-Request-ID: it-req-42' &&
                expect_eq "request id echoed" it-req-42 "$(api_header X-Request-ID)"
}
check "the real orchestrator answers 404/405 as problem+json and echoes X-Request-ID" t_errors

t_journal() {
        local s since
        for s in $AI_SEMBLE_SERVICES; do
                # The service's own structured lines of its current run (the pod may have
                # been up before this run), passed through by conmon.
                since=$(unit_run_began "ai-semble-$s.service") || return 1
                journal_has_after "$since" "ai-semble-$s.service" '^\{"ts":"[^"]+","level":"info","service":"'"$s"'","msg":"listening on [0-9.]+:[0-9]+"\}$' ||
                        return 1
        done
}
check "journalctl --user -u <unit> shows each service's structured log lines" t_journal

# Where the manager loaded the pod's units from: ~/.config/systemd/user for the units
# `podman generate systemd` wrote (Podman 4), Quadlet's generator directory (Podman >= 5).
unit_dir() {
        local frag
        frag=$(hostenv_exec systemctl --user show -p FragmentPath --value "$1") || return 1
        dirname "$frag"
}

t_unit_flavour() {
        local major home pod src frag
        major=$(pm version --format '{{.Client.Version}}' | cut -d. -f1)
        home=$(hostenv_home)
        [ "$(hostenv_mode)" = direct ] && home=$HOME
        if [ "$major" -ge 5 ]; then
                pod=ai-semble-pod.service
                src=$(hostenv_exec systemctl --user show -p SourcePath --value "$pod")
                frag=$(hostenv_exec systemctl --user show -p FragmentPath --value "$pod")
                echo "Podman $major: $pod from $src, generated as $frag"
                expect_eq "pod unit source" "$home/.config/containers/systemd/ai-semble.pod" "$src" &&
                        expect_match "pod unit made by Quadlet's generator" '/systemd/generator/ai-semble-pod.service$' "$frag" || return 1
                for s in $AI_SEMBLE_SERVICES; do
                        expect_eq "$s unit source" "$home/.config/containers/systemd/ai-semble-$s.container" \
                                "$(hostenv_exec systemctl --user show -p SourcePath --value "ai-semble-$s.service")" || return 1
                done
        else
                pod=$("$DEPLOY" status --json | jq -r .pod.unit)
                frag=$(hostenv_exec systemctl --user show -p FragmentPath --value "$pod")
                echo "Podman $major: $pod from $frag"
                expect_eq "pod unit written by the supervisor" "$home/.config/systemd/user/$pod" "$frag" &&
                        grep -q 'podman pod create' "$frag"
        fi
}
check "the units are Quadlet's on Podman >= 5 and podman-generate-systemd's before" t_unit_flavour

t_units_agree() {
        local unitdir
        unitdir=$(unit_dir ai-semble-orchestrator.service) || return 1
        /usr/bin/python3 "$here/units_agree.py" "$AI_SEMBLE_ROOT/quadlets" "$AI_SEMBLE_ROOT/pods/ai-semble.yaml" "$unitdir" \
                "$(hostenv_exec systemctl --user show -p FragmentPath --value ai-semble-orchestrator.socket)"
}
check "quadlets, the Kubernetes YAML and the generated units agree" t_units_agree

# Each area's own checks against the running pod (tests/integration/service-<area>.sh),
# in this order: the pod as deployed first (no LLM backend, auth as configured), then the
# areas that bring in a backend (backends), switch auth (auth), and kill and stop
# services (supervisor). They call `check` and use api, pm, in_pod_net, URL and DEPLOY.
# AI_SEMBLE_IT_ONLY="backends vision" runs only those areas (development).
AREAS="security llm nlp vision data door orchestrator guardrail llm-paths backends keys cache schedules trace auth supervisor chaos"
for name in $AREAS; do
        if [ -n "${AI_SEMBLE_IT_ONLY:-}" ] && [[ " $AI_SEMBLE_IT_ONLY " != *" $name "* ]]; then
                continue
        fi
        # shellcheck source=/dev/null
        . "$here/service-$name.sh"
done
for f in "$here"/service-*.sh; do
        name=${f##*/service-}
        [[ " $AREAS " == *" ${name%.sh} "* ]] || die "$f is not in AREAS"
done

# Podman's health check of each container passes: its command runs in the image (which has
# no shell) and answers. A failing one kills the container every few minutes (HealthOnFailure).
t_healthy() {
        local s st i
        for s in $AI_SEMBLE_SERVICES; do
                for ((i = 0; i < 90; i++)); do
                        st=$(pm inspect --format '{{.State.Health.Status}} {{.State.Health.FailingStreak}}' "ai-semble-$s")
                        [ "$st" = "healthy 0" ] && break
                        sleep 1
                done
                echo "ai-semble-$s: $st"
                expect_eq "ai-semble-$s health" "healthy 0" "$st" || {
                        pm inspect --format '{{json .State.Health.Log}}' "ai-semble-$s" | jq -c '.[-1]'
                        return 1
                }
        done
}
check "every container's own health check passes (Podman reports healthy, no failing streak)" t_healthy

IT_RESTART_CURSOR=$(journal_cursor)
t_restart_one() {
        local before after others_before others_after
        before=$(pm inspect --format '{{.Id}}' ai-semble-llm) || return 1
        others_before=$(pm inspect --format '{{.Id}}' ai-semble-nlp)
        "$DEPLOY" restart llm || return 1
        after=$(pm inspect --format '{{.Id}}' ai-semble-llm) || return 1
        others_after=$(pm inspect --format '{{.Id}}' ai-semble-nlp)
        [ "$before" != "$after" ] || {
                echo "llm container was not replaced"
                return 1
        }
        expect_eq "nlp untouched" "$others_before" "$others_after" &&
                curl -sf "$URL/health/ready" | jq -e '.services.llm.status == "ready"' >/dev/null
}
check "deploy.sh restart llm replaces only the llm container and it becomes ready" t_restart_one

t_sigterm_clean() {
        # The stop of a unit is a SIGTERM to the service: it must drain and exit 0.
        journal_has_after "$IT_RESTART_CURSOR" ai-semble-llm.service '"service":"llm","msg":"stopped"' </dev/null
}
check "a restarted service stopped cleanly on SIGTERM" t_sigterm_clean

t_restart_all() {
        local before after
        before=$(pm ps --format '{{.Names}} {{.ID}}' | grep -v infra | sort) || return 1
        "$DEPLOY" restart || return 1
        after=$(pm ps --format '{{.Names}} {{.ID}}' | grep -v infra | sort)
        printf 'before:\n%s\nafter:\n%s\n' "$before" "$after"
        expect_eq "containers kept" "" "$(comm -12 <(echo "$before") <(echo "$after"))" &&
                expect_eq "services" 5 "$(wc -l <<<"$after")" &&
                curl -sf "$URL/health/ready" | jq -e '.status == "ready"' >/dev/null
}
check "deploy.sh restart (no service) replaces all five containers and the pod is ready again" t_restart_all

t_logs() {
        local out follow before
        out=$("$DEPLOY" logs nlp) || return 1
        expect_match "nlp's own lines" '"service":"nlp","msg":"listening on' "$out" || return 1
        grep -q '"service":"llm"' <<<"$out" && { echo "logs nlp shows the llm's lines"; return 1; }
        before=$(grep -c '"service":"nlp","msg":"stopped"' <<<"$out")
        follow=$(mktemp)
        # its own process group, ended as a whole: journalctl with it (a background job
        # of a script ignores SIGINT)
        setsid "$DEPLOY" logs --follow nlp >"$follow" 2>&1 &
        local fpid=$!
        sleep 2
        hostenv_exec systemctl --user restart ai-semble-nlp.service && wait_ready 60
        sleep 2
        kill -TERM -- "-$fpid" 2>/dev/null
        wait "$fpid" 2>/dev/null
        out=$(cat "$follow")
        rm -f "$follow"
        echo "stopped lines: $before before, $(grep -c '"service":"nlp","msg":"stopped"' <<<"$out") while following"
        [ "$(grep -c '"service":"nlp","msg":"stopped"' <<<"$out")" -gt "$before" ]
}
check "deploy.sh logs [service] shows that service's journal; --follow streams new lines" t_logs

t_health_not_ready() {
        local out rc
        pm stop -t 5 ai-semble-data >/dev/null || return 1
        for _ in $(seq 50); do
                curl -s "$URL/health/ready" | jq -e '.services.data.status != "ready"' >/dev/null && break
                sleep 0.2
        done
        out=$("$DEPLOY" health 2>&1)
        rc=$?
        echo "$out"
        hostenv_exec systemctl --user restart ai-semble-data.service && wait_ready 60 || return 1
        [ "$rc" -ne 0 ] || { echo "deploy.sh health exited 0 with data down"; return 1; }
        jq -e '.status == "not_ready" and .services.data.status != "ready"' <<<"$out" >/dev/null &&
                "$DEPLOY" health >/dev/null
}
check "deploy.sh health exits non-zero and names the service while one is down, zero once ready" t_health_not_ready

t_update() {
        local before after out
        # Nothing changed: the images are the same, so every container stays.
        before=$(pm ps --format '{{.Names}} {{.ID}}' | grep -v infra | sort) || return 1
        out=$("$DEPLOY" update 2>&1) || { printf '%s\n' "$out"; return 1; }
        printf '%s\n' "$out" | tail -n 7
        after=$(pm ps --format '{{.Names}} {{.ID}}' | grep -v infra | sort)
        expect_match "update output" "ai-semble is updated and ready: $URL" "$out" &&
                expect_eq "containers after an update with nothing new" "$before" "$after" || return 1
        # --all: every service is replaced, one by one, and the pod answers.
        out=$("$DEPLOY" update --all 2>&1) || { printf '%s\n' "$out"; return 1; }
        printf '%s\n' "$out" | tail -n 7
        after=$(pm ps --format '{{.Names}} {{.ID}}' | grep -v infra | sort)
        expect_match "update --all output" "ai-semble is updated and ready: $URL" "$out" &&
                expect_eq "containers kept by update --all" "" "$(comm -12 <(echo "$before") <(echo "$after"))" &&
                api_expect 200 POST /ai/nlp/process '{"text":"after the update","task":"tokenize"}'
}
check "deploy.sh update keeps the containers whose image is unchanged; update --all rolls every one over and the pod answers" t_update

# A new image that cannot start: the supervisor's update must put the running image back.
# The broken nlp is the real one with a setting its config table refuses (NLP_MAX_TEXT=0),
# built from it locally and tagged as the unit's image, as a bad release would be.
t_update_rollback() {
        local good bad out rc since ctx
        since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        good=$(pm image inspect --format '{{.Id}}' localhost/ai-semble/nlp:latest) || return 1
        ctx=$(hostenv_exec mktemp -d) || return 1
        printf 'FROM localhost/ai-semble/nlp:latest\nENV NLP_MAX_TEXT=0\nLABEL dev.ai-semble.test=broken\n' |
                hostenv_exec tee "$ctx/Containerfile" >/dev/null &&
                pm build --quiet -t localhost/ai-semble/nlp:latest "$ctx" >/dev/null || return 1
        hostenv_exec rm -rf "$ctx"
        bad=$(pm image inspect --format '{{.Id}}' localhost/ai-semble/nlp:latest) || return 1
        [ "$bad" != "$good" ] || { echo "the broken image is the good one"; return 1; }
        out=$(hostenv_exec "$(it_home)/.local/bin/ai-semble-supervisor" update nlp 2>&1)
        rc=$?
        printf '%s\n' "$out" | tail -n 5
        pm rmi "$bad" >/dev/null 2>&1 || true
        [ "$rc" -ne 0 ] || { echo "the update of a broken image succeeded"; return 1; }
        expect_match "update output" "nlp: rolled back to ${good:0:12}" "$out" &&
                expect_eq "nlp's image after the rollback" "$good" \
                        "$(pm container inspect --format '{{.Image}}' ai-semble-nlp)" &&
                expect_eq "the tag after the rollback" "$good" \
                        "$(pm image inspect --format '{{.Id}}' localhost/ai-semble/nlp:latest)" || return 1
        curl -sf "${SUP:-http://127.0.0.1:8090}/api/alerts?level=CRITICAL&since=$since" |
                jq -e '[.alerts[] | select(.key == "rollback:nlp")] | length == 1' >/dev/null ||
                { echo "no CRITICAL rollback:nlp alert"; return 1; }
        api_expect 200 POST /ai/nlp/process '{"text":"after the rollback","task":"tokenize"}'
}
check "an update to an nlp image that cannot start is rolled back: the old image runs and answers, CRITICAL alert" t_update_rollback

t_stop() {
        "$DEPLOY" stop || return 1
        local running
        running=$(pm ps --format '{{.Names}}') || return 1
        expect_eq "running containers" "" "$running" || return 1
        if curl -s -m 2 -o /dev/null "$URL/health"; then
                echo "the orchestrator still answers"
                return 1
        fi
}
check "deploy.sh stop leaves no container running" t_stop

t_kube_play() {
        local yaml ok=1
        yaml=$(hostenv_home)/.cache/ai-semble/ai-semble.yaml
        install -D -m 0644 "$AI_SEMBLE_ROOT/pods/ai-semble.yaml" "$yaml"
        # Rootless containers get resource limits only on cgroup v2 with the memory and
        # cpu controllers delegated to the user: elsewhere (this CI machine's hybrid
        # layout, the nspawn test hosts) play the YAML without them, and say why.
        local uid ctl
        uid=$(hostenv_exec id -u)
        ctl=$(cat "/sys/fs/cgroup/user.slice/user-$uid.slice/user@$uid.service/cgroup.controllers" 2>/dev/null)
        if [ "$(pm info --format '{{.Host.CgroupsVersion}}')" = v1 ] || ! grep -qw memory <<<"$ctl" || ! grep -qw cpu <<<"$ctl"; then
                echo "no memory/cpu controllers for user@$uid.service ('$ctl'): playing the YAML without resources"
                /usr/bin/python3 - "$yaml" <<'PY'
import sys, yaml
path = sys.argv[1]
pod = yaml.safe_load(open(path))
for c in pod["spec"]["containers"]:
    c.pop("resources", None)
yaml.safe_dump(pod, open(path, "w"), sort_keys=False)
PY
        fi
        # Kubernetes pods get Podman's bridge network, whose set-up writes sysctls; where
        # /proc/sys is read-only (the nspawn test hosts) they get the rootless default the
        # pod's units use instead.
        local net=()
        if ! [ -w /proc/sys/net/ipv4/ip_forward ]; then
                net=(--network "$(pm info --format '{{.Host.RootlessNetworkCmd}}' 2>/dev/null || echo slirp4netns)")
                echo "/proc/sys is read-only here: playing with ${net[*]}"
        fi
        # The orchestrator's keys as the Kubernetes Secret the YAML mounts, from the
        # pod's own secrets (what `kubectl create secret generic` would make).
        local secrets
        secrets=$(it_home)/.config/ai-semble/secrets
        printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: ai-semble-auth\ndata:\n  jwt: %s\n  webhook: %s\n' \
                "$(base64 -w0 <"$secrets/jwt")" "$(base64 -w0 <"$secrets/webhook")" | pm kube play --replace - >/dev/null || return 1
        pm kube play --replace "${net[@]}" "$yaml" || return 1
        for _ in $(seq 100); do
                if curl -sf -m 2 "$URL/health/ready" | jq -e '.auth == "required"' >/dev/null; then
                        ok=0
                        break
                fi
                sleep 0.2
        done
        curl -s "$URL/health/ready"
        echo
        [ "$ok" = 0 ] || pm logs --tail 5 ai-semble-orchestrator 2>&1
        [ "$ok" = 0 ] && { kube_seccomp || ok=1; }
        pm kube down "$yaml" >/dev/null
        pm secret rm ai-semble-auth >/dev/null
        return $ok
}

# Under kube play each container must run under its own profile from the YAML's
# annotations. Podman 4.3's inspect does not show a kube-play container's profile
# (SecurityOpt lists only no-new-privileges), so the proof is the OCI config Podman
# handed to the runtime: same default action and exactly the profile's names, plus the
# kernel's view of the main process (Seccomp: 2 = filter mode).
kube_seccomp() {
        local s opts oci pid mode profile
        for s in $AI_SEMBLE_SERVICES; do
                profile=/var/lib/kubelet/seccomp/ai-semble-$s.json
                [ -r "$profile" ] || {
                        echo "$profile is missing: run scripts/install-security.sh as root"
                        return 1
                }
                opts=$(pm inspect --format '{{.HostConfig.SecurityOpt}}' "ai-semble-$s") || return 1
                oci=$(pm inspect --format '{{.OCIConfigPath}}' "ai-semble-$s") || return 1
                expect_eq "$s OCI seccomp default action" "$(jq -r .defaultAction "$profile")" \
                        "$(jq -r '.linux.seccomp.defaultAction' "$oci")" || return 1
                expect_eq "$s OCI seccomp allowed names = $profile" \
                        "$(jq -c '[.syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]] | unique' "$profile")" \
                        "$(jq -c '[.linux.seccomp.syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]] | unique' "$oci")" || return 1
                pid=$(pm inspect --format '{{.State.Pid}}' "ai-semble-$s") || return 1
                mode=$(awk '/^Seccomp:/ { print $2 }' "/proc/$pid/status")
                expect_eq "$s seccomp mode (2 = filter)" 2 "$mode" || return 1
                printf 'kube play %-13s Seccomp: %s, %s names = %s; inspect SecurityOpt %s\n' "$s" "$mode" \
                        "$(jq '.linux.seccomp.syscalls | map(.names | length) | add' "$oci")" "$profile" "$opts"
        done
}
check "the same pod runs from pods/ai-semble.yaml with podman kube play (its keys from a Secret), each container under its seccomp profile" t_kube_play

t_dev() {
        local s p env
        "$DEPLOY" start --dev || return 1
        for s in llm vision nlp data; do
                p=$(service_port "$s")
                curl -sf "http://127.0.0.1:$p/health" | jq -e --arg s "$s" '.service == $s' >/dev/null || {
                        echo "$s is not reachable on 127.0.0.1:$p with --dev"
                        return 1
                }
        done
        env=$(pm inspect --format '{{range .Config.Env}}{{println .}}{{end}}' ai-semble-llm)
        grep -qx 'LOG_LEVEL=debug' <<<"$env" || {
                echo "LOG_LEVEL=debug not set in --dev"
                return 1
        }
        "$DEPLOY" stop
}
check "deploy.sh start --dev publishes every service on 127.0.0.1 with debug logs" t_dev

finish
