# shellcheck shell=bash
# service-supervisor.sh — the supervisor daemon against the running pod (sourced by
# run.sh): its unit, crash detection and healing, alerts in the API and the journal,
# monitoring stop/start, the Prometheus endpoint, the signed webhook and Slack sinks,
# and systemd's watchdog restarting a hung supervisor.

SUP=http://127.0.0.1:8090

# The supervisor's POST routes take an admin token signed with the pod's JWT secret.
sup_post() { # url
        curl -sf -X POST -H "Authorization: Bearer $IT_TOKEN" "$1"
}
SUP_UNIT=ai-semble-supervisor.service

sup_prop() { hostenv_exec systemctl --user show -p "$1" --value "$SUP_UNIT"; }

sup_wait_api() { # seconds
        local i
        for ((i = 0; i < $1 * 5; i++)); do
                curl -sf -m 1 "$SUP/api/status" >/dev/null 2>&1 && return 0
                sleep 0.2
        done
        echo "the supervisor API did not answer within $1 s"
        return 1
}

sup_wait_ready() { # seconds: until the supervisor has seen all five services ready
        local i
        for ((i = 0; i < $1 * 5; i++)); do
                curl -sf -m 1 "$SUP/api/status" | jq -e '[.services[] | select(.health == "ready")] | length == 5' >/dev/null 2>&1 && return 0
                sleep 0.2
        done
        echo "the supervisor did not see all services ready within $1 s"
        return 1
}

t_sup_unit() {
        expect_eq "ActiveState" active "$(sup_prop ActiveState)" &&
                expect_eq "Type" notify "$(sup_prop Type)" &&
                expect_eq "WatchdogUSec" 10s "$(sup_prop WatchdogUSec)" &&
                expect_eq "StatusText" "Watching the ai-semble pod" "$(sup_prop StatusText)" &&
                sup_wait_api 10 && sup_wait_ready 20 &&
                curl -sf "$SUP/api/status" | jq -e '.monitoring == true' >/dev/null
}
check "supervisor: unit active (Type=notify, watchdog), all five services ready in /api/status" t_sup_unit

# A service's restart counts as the supervisor sees them (systemd's NRestarts and the
# supervisor's own), before a check acts: the check asserts the change it caused.
sup_restarts() { # service [field]
        curl -sf "$SUP/api/status" | jq -r --arg s "$1" --arg f "${2:-restarts}" '.services[] | select(.name == $s) | .[$f]'
}

t_sup_kill() {
        local pid since t0 t_down="" t_ready="" now st i before cursor
        before=$(sup_restarts nlp)
        cursor=$(journal_cursor)
        since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        sleep 1
        pid=$(pm inspect --format '{{.State.Pid}}' ai-semble-nlp) || return 1
        [ "${pid:-0}" -gt 1 ] || { echo "no pid for ai-semble-nlp"; return 1; }
        t0=$(date +%s%N)
        kill -9 "$pid"
        for ((i = 0; i < 300; i++)); do
                st=$(curl -sf -m 1 "$SUP/api/status" | jq -r '.services[] | select(.name == "nlp") | .health')
                now=$(date +%s%N)
                [ -z "$t_down" ] && curl -sf -m 1 "$SUP/api/alerts?since=$since" | jq -e '.alerts[] | select(.service == "nlp" and (.key == "down:nlp"))' >/dev/null && t_down=$now
                if [ -n "$t_down" ] && [ "$st" = ready ] && [ "$i" -gt 0 ]; then
                        t_ready=$now
                        break
                fi
                sleep 0.1
        done
        [ -n "$t_down" ] || { echo "no down alert for nlp"; curl -s "$SUP/api/alerts" | jq .; return 1; }
        [ -n "$t_ready" ] || { echo "nlp not ready again within 30 s"; return 1; }
        echo "detected after $(((t_down - t0) / 1000000)) ms, ready after $(((t_ready - t0) / 1000000)) ms"
        [ $(((t_down - t0) / 1000000)) -le 10000 ] || { echo "detection slower than two check intervals"; return 1; }
        local journal after
        journal=$(hostenv_exec journalctl --user -u "$SUP_UNIT" --no-pager -o verbose --after-cursor "$cursor")
        after=$(sup_restarts nlp)
        echo "restarts seen by the supervisor: $before before, $after after"
        [ "$after" -gt "$before" ] &&
                curl -sf "$URL/health/ready" | jq -e '.services.nlp.status == "ready"' >/dev/null &&
                grep -q 'ALERT_KEY=down:nlp' <<<"$journal"
}
SUP_KILL_SINCE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SUP_EVENTS_BEFORE=$(curl -sf "$SUP/api/status" | jq '.podman_events.events // 0')
sleep 1
check "supervisor: killing nlp's process is detected within two check intervals, alerted (API + journal), and nlp is ready again" t_sup_kill

t_sup_podman_events() {
        local i
        # the died event reaches the supervisor through the stream, or through the
        # catch-up query it makes when the unit fails; either way within a few seconds
        # t_sup_kill's kill, after its own since (alerts with one key merge for a while)
        for ((i = 0; i < 50; i++)); do
                curl -sf -m 1 "$SUP/api/alerts?level=ERROR&since=$SUP_KILL_SINCE" |
                        jq -e '[.alerts[] | select(.key == "died:nlp" and (.message | contains("exit 137")))] | length == 1' >/dev/null &&
                        break
                sleep 0.2
        done
        if ! curl -sf "$SUP/api/status" | jq -e --argjson before "$SUP_EVENTS_BEFORE" \
                '.podman_events.connected == true and .podman_events.events > $before' >/dev/null ||
                ! curl -sf "$SUP/api/alerts?level=ERROR&since=$SUP_KILL_SINCE" | jq -e '[.alerts[] | select(.key == "died:nlp" and (.message | contains("exit 137")))] | length == 1' >/dev/null; then
                # what matters most last: only the output's tail reaches a CI log
                echo "Podman's API socket and service:"
                hostenv_exec systemctl --user status podman.socket podman.service --no-pager 2>&1 | tail -20
                echo "the supervisor's journal about Podman:"
                hostenv_exec journalctl --user -u "$SUP_UNIT" --no-pager | grep -i 'podman' | tail -8
                echo "nlp's ERROR alerts since the kill:"
                curl -s "$SUP/api/alerts?level=ERROR&since=$SUP_KILL_SINCE" |
                        jq -c '.alerts[] | select(.service == "nlp") | {key, message}'
                echo "status:"
                curl -s "$SUP/api/status" | jq -c '{podman_events, nlp: (.services[] | select(.name == "nlp"))}'
                return 1
        fi
        # Per-container stats, as this host allows them: Podman's own refusal on rootless
        # cgroup v1; figures where the user's cgroup has the memory controller; the
        # supervisor's reason where it does not (the nspawn test hosts).
        local uid cgv ctl st
        uid=$(hostenv_exec id -u)
        cgv=$(pm info --format '{{.Host.CgroupsVersion}}')
        ctl=$(cat "/sys/fs/cgroup/user.slice/user-$uid.slice/user@$uid.service/cgroup.controllers" 2>/dev/null)
        st=$(curl -sf "$SUP/api/status") || return 1
        echo "cgroup $cgv, controllers of user@$uid.service: '$ctl'"
        jq -c '{container_stats, llm: (.services[] | select(.name == "llm") | .memory_bytes)}' <<<"$st"
        if [ "$cgv" = v1 ]; then
                jq -e '.container_stats.available == false and (.container_stats.reason | length > 0)' <<<"$st" >/dev/null
        elif grep -qw memory <<<"$ctl"; then
                jq -e '.container_stats.available and (.services[] | select(.name == "llm") | .memory_bytes > 0)' <<<"$st" >/dev/null
        else
                jq -e '.container_stats.available == false and
                        (.container_stats.reason | contains("memory controller is not delegated"))' <<<"$st" >/dev/null
        fi
}
check "supervisor: Podman's API (podman.sock): the event stream reported nlp dying with exit 137 (an alert since the kill); container stats as the host's cgroups allow" t_sup_podman_events

t_sup_pod_stop() {
        local since i
        since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        sleep 1
        pm pod stop ai-semble >/dev/null || return 1
        for ((i = 0; i < 300; i++)); do
                if curl -sf -m 1 "$SUP/api/alerts?level=CRITICAL&since=$since" | jq -e '.alerts | length >= 1' >/dev/null &&
                        curl -sf -m 1 "$URL/health/ready" | jq -e '.status == "ready"' >/dev/null; then
                        echo "recovered after $((i / 5)) s"
                        return 0
                fi
                sleep 0.2
        done
        echo "no CRITICAL alert and recovery within 60 s"
        curl -s "$SUP/api/alerts?since=$since" | jq -c '.alerts[]'
        return 1
}
check "supervisor: 'podman pod stop' from outside raises CRITICAL and the supervisor restarts the pod until ready" t_sup_pod_stop

t_sup_monitoring() {
        local since
        since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        sleep 1
        expect_eq "POST without a token" 401 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$SUP/api/monitoring/stop")" &&
                expect_eq "POST from another site, with the token" 403 "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
                        -H "Authorization: Bearer $IT_TOKEN" -H 'Origin: http://evil.example' "$SUP/api/monitoring/stop")" &&
                curl -sf "$SUP/api/status" | jq -e '.monitoring == true' >/dev/null &&
                sup_post "$SUP/api/monitoring/stop" | jq -e '.monitoring == false' >/dev/null &&
                curl -sf "$SUP/api/status" | jq -e '.monitoring == false' >/dev/null &&
                curl -sf "$SUP/metrics" | grep -qx 'supervisor_monitoring_enabled 0' &&
                sup_post "$SUP/api/monitoring/start" | jq -e '.monitoring == true' >/dev/null &&
                curl -sf "$SUP/api/alerts?level=INFO&since=$since" | jq -e '[.alerts[] | select(.key == "monitoring-stopped" or .key == "monitoring-started")] | length >= 1' >/dev/null &&
                expect_eq "bad level" 422 "$(curl -s -o /dev/null -w '%{http_code}' "$SUP/api/alerts?level=LOUD")" &&
                expect_eq "bad since" 422 "$(curl -s -o /dev/null -w '%{http_code}' "$SUP/api/alerts?since=yesterday")"
}
check "supervisor: monitoring stop/start through the API (admin token, same site); /api/alerts validates level and since" t_sup_monitoring

t_sup_metrics() {
        local m
        sup_wait_ready 20 || return 1
        m=$(curl -sf "$SUP/metrics") || return 1
        promtool check metrics <<<"$m" || return 1
        for n in orchestrator_agent_up orchestrator_agent_idle_time_seconds orchestrator_agent_restarts_total; do
                grep -q "^$n{agent_name=\"llm\"} " <<<"$m" || { echo "missing $n"; return 1; }
        done
        grep -q '^orchestrator_cluster_alerts_total{level="critical"} ' <<<"$m" &&
                curl -sf "$SUP/api/metrics" | jq -e '.services.llm.up == 1 and (.alerts_total | has("CRITICAL"))' >/dev/null &&
                grep -q '<title>ai-semble supervisor</title>' <<<"$(curl -sf "$SUP/")"
}
check "supervisor: /metrics passes promtool check metrics with the seed's names; /api/metrics; status page" t_sup_metrics

t_sup_page() {
        local dom png="$LOG_DIR/supervisor-status-page.png"
        sup_wait_ready 20 || return 1
        # the page's own JavaScript fills the cards from /api/status
        dom=$(timeout 60 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 \
                --dump-dom "$SUP/" 2>/dev/null) || return 1
        expect_eq "ready cards (pod + five services)" 6 "$(grep -o 'class="card ready"' <<<"$dom" | wc -l)" || return 1
        timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,900 \
                --virtual-time-budget=5000 --screenshot="$png" "$SUP/" >/dev/null 2>&1 || return 1
        [ "$(stat -c %s "$png")" -gt 10000 ] || { echo "screenshot too small"; return 1; }
        echo "screenshot: $png"
}
check "supervisor: the status page renders every service ready in headless Chromium (screenshot kept)" t_sup_page

t_sup_sinks() {
        local home dir port=18765 smtp_port=18025 rpid spid ok=1 i
        home=$(hostenv_home)
        [ "$(hostenv_mode)" = direct ] && home=$HOME
        dir=$(mktemp -d /tmp/sup-sink.XXXXXX)
        printf 'it-secret-%s\n' "$RANDOM$RANDOM" >"$dir/secret"
        install -m 0600 -o "$AI_SEMBLE_USER" -g "$(id -g "$AI_SEMBLE_USER")" "$dir/secret" "$home/.config/ai-semble/webhook.secret"
        printf 'http://127.0.0.1:%s/slack\n' "$port" >"$dir/slack"
        install -m 0600 -o "$AI_SEMBLE_USER" -g "$(id -g "$AI_SEMBLE_USER")" "$dir/slack" "$home/.config/ai-semble/slack.url"
        cat >"$home/.config/ai-semble/supervisor.env" <<ENV
SUPERVISOR_WEBHOOK_URL=http://127.0.0.1:$port/webhook
SUPERVISOR_WEBHOOK_SECRET_FILE=$home/.config/ai-semble/webhook.secret
SUPERVISOR_SLACK_WEBHOOK_FILE=$home/.config/ai-semble/slack.url
SUPERVISOR_SMTP_URL=smtp://127.0.0.1:$smtp_port
SUPERVISOR_SMTP_FROM=supervisor@ai-semble.localhost
SUPERVISOR_SMTP_TO=ops@example.org,oncall@example.org
ENV
        /usr/bin/python3 "$AI_SEMBLE_ROOT/tests/integration/sink_receiver.py" "$port" "$dir/secret" "$dir/log" &
        rpid=$!
        # a real SMTP server from Debian's packages, delivering into a Maildir
        /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$dir/mail" &
        spid=$!
        sleep 1
        hostenv_exec systemctl --user restart "$SUP_UNIT" && sup_wait_api 10 &&
                sup_post "$SUP/api/monitoring/stop" >/dev/null &&
                sup_post "$SUP/api/monitoring/start" >/dev/null || ok=0
        for ((i = 0; ok && i < 50; i++)); do
                [ "$(grep -c '^ok' "$dir/log" 2>/dev/null)" -ge 4 ] &&
                        [ "$(find "$dir/mail/new" -type f 2>/dev/null | wc -l)" -ge 2 ] && break
                sleep 0.2
        done
        kill "$rpid" "$spid" 2>/dev/null
        wait "$rpid" "$spid" 2>/dev/null
        rm -f "$home/.config/ai-semble/supervisor.env" "$home/.config/ai-semble/webhook.secret" "$home/.config/ai-semble/slack.url"
        hostenv_exec systemctl --user restart "$SUP_UNIT"
        sup_wait_api 10 || ok=0
        cat "$dir/log" 2>/dev/null
        [ "$ok" = 1 ] && ! grep -q '^bad' "$dir/log" &&
                grep -q '^ok webhook INFO monitoring-stopped' "$dir/log" &&
                grep -q '^ok webhook INFO monitoring-started' "$dir/log" &&
                grep -q '^ok slack INFO #36a64f' "$dir/log" &&
                grep -lq '^Subject: \[INFO\] ai-semble cluster: Monitoring started through the API' "$dir"/mail/new/* &&
                grep -q '^To: ops@example.org,oncall@example.org' "$(find "$dir/mail/new" -type f | head -n 1)"
}
check "supervisor: signed webhook, Slack and SMTP sinks reach receivers on 127.0.0.1 (signature, payload, e-mail checked)" t_sup_sinks

# The supervisor's own healing, with short settings in supervisor.env: a service that is
# active but never ready (nlp listening on a port the orchestrator does not probe) is
# restarted after SUPERVISOR_AGENT_TIMEOUT, given up after SUPERVISOR_START_LIMIT
# restarts (CRITICAL), healed again once monitoring restarts; with monitoring stopped,
# nothing is restarted at all.
SUP_ENV=$(it_home)/.config/ai-semble/supervisor.env
sup_env() { # KEY=VALUE... (none: remove the file)
        if [ $# -eq 0 ]; then rm -f "$SUP_ENV"; else printf '%s\n' "$@" >"$SUP_ENV"; fi
        [ "$(hostenv_mode)" = direct ] || { [ ! -e "$SUP_ENV" ] || chown "$AI_SEMBLE_USER:" "$SUP_ENV"; }
        hostenv_exec systemctl --user restart "$SUP_UNIT" && sup_wait_api 10 && sup_wait_ready 60
}
nlp_unready() { # on|off
        if [ "$1" = on ]; then
                pod_env_push NLP_LISTEN=127.0.0.1:18083 && hostenv_exec systemctl --user restart ai-semble-nlp.service
        else
                pod_env_pop && hostenv_exec systemctl --user restart ai-semble-nlp.service && wait_ready 60
        fi
}

t_sup_heal_unready() {
        local since before i got="" gave="" r=0
        sup_env SUPERVISOR_CHECK_INTERVAL=1s SUPERVISOR_AGENT_TIMEOUT=3s SUPERVISOR_RESTART_BACKOFF=1s \
                SUPERVISOR_RESTART_BACKOFF_MAX=1s SUPERVISOR_START_LIMIT=2 || return 1
        before=$(sup_restarts nlp supervisor_restarts)
        since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        sleep 1
        nlp_unready on || r=1
        for ((i = 0; r == 0 && i < 300; i++)); do
                [ -z "$got" ] && [ "$(sup_restarts nlp supervisor_restarts)" -gt "$before" ] && got=$i
                curl -sf -m 1 "$SUP/api/alerts?level=CRITICAL&since=$since" |
                        jq -e '[.alerts[] | select(.key == "gave-up:nlp")] | length == 1' >/dev/null && gave=$i && break
                sleep 0.2
        done
        echo "first supervisor restart after ~$((${got:-0} / 5)) s, given up after ~$((${gave:-0} / 5)) s;" \
                "restarts by the supervisor: $before -> $(sup_restarts nlp supervisor_restarts)"
        [ -n "$got" ] || { echo "the supervisor never restarted the unready nlp"; r=1; }
        [ -n "$gave" ] || { echo "no CRITICAL gave-up:nlp"; r=1; }
        [ $r = 0 ] && { expect_eq "restarts before giving up" $((before + 2)) "$(sup_restarts nlp supervisor_restarts)" || r=1; }
        nlp_unready off || r=1
        # given up: the supervisor leaves nlp alone until monitoring starts again, then heals
        sup_post "$SUP/api/monitoring/start" >/dev/null || r=1
        sup_wait_ready 60 || r=1
        sup_env || r=1
        return $r
}
check "supervisor: an active but unready service is restarted after the agent timeout and given up (CRITICAL) after the start limit" t_sup_heal_unready

t_sup_monitoring_off_no_heal() {
        local before r=0
        sup_env SUPERVISOR_CHECK_INTERVAL=1s SUPERVISOR_AGENT_TIMEOUT=2s SUPERVISOR_RESTART_BACKOFF=1s || return 1
        before=$(sup_restarts nlp supervisor_restarts)
        sup_post "$SUP/api/monitoring/stop" | jq -e '.monitoring == false' >/dev/null || r=1
        nlp_unready on || r=1
        sleep 8 # four agent timeouts
        expect_eq "restarts by the supervisor while monitoring is stopped" "$before" "$(sup_restarts nlp supervisor_restarts)" || r=1
        nlp_unready off || r=1
        sup_post "$SUP/api/monitoring/start" >/dev/null || r=1
        sup_env || r=1
        return $r
}
check "supervisor: with monitoring stopped an unready service is not restarted" t_sup_monitoring_off_no_heal

t_sup_watchdog() {
        local pid new i
        pid=$(sup_prop MainPID)
        [ "${pid:-0}" -gt 1 ] || { echo "no MainPID"; return 1; }
        kill -STOP "$pid"
        for ((i = 0; i < 100; i++)); do
                new=$(sup_prop MainPID)
                [ "${new:-0}" -gt 1 ] && [ "$new" != "$pid" ] && break
                sleep 0.3
        done
        kill -CONT "$pid" 2>/dev/null || true
        if [ "${new:-0}" -le 1 ] || [ "$new" = "$pid" ]; then
                echo "not restarted after 30 s"
                return 1
        fi
        local journal
        journal=$(hostenv_exec journalctl --user -u "$SUP_UNIT" --no-pager --since "-1min")
        grep -qi 'watchdog' <<<"$journal" && sup_wait_api 10
}
check "supervisor: a hung supervisor (SIGSTOP, no WATCHDOG=1) is killed and restarted by systemd" t_sup_watchdog
