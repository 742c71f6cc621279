# shellcheck shell=bash
# service-security.sh — proof that the hardening holds (sourced by run.sh while the pod
# is up; provides check, expect_*, pm). Every service container runs under its own
# seccomp profile, and ai-semble-probe (security/probe) run with each service's flags
# and profile finds ptrace, mount, unshare(CLONE_NEWUSER), keyctl, bpf, AF_PACKET,
# init_module and setuid(0) all refused.

sec_home=$(hostenv_home)
[ "$(hostenv_mode)" = direct ] && sec_home=$HOME
sec_profiles=$sec_home/.config/ai-semble/seccomp

t_security_profiles_active() {
        local s pid opts mode
        for s in $AI_SEMBLE_SERVICES; do
                opts=$(pm inspect --format '{{.HostConfig.SecurityOpt}}' "ai-semble-$s") || return 1
                expect_match "$s security options" "seccomp=$sec_profiles/$s.json" "$opts" || return 1
                pid=$(pm inspect --format '{{.State.Pid}}' "ai-semble-$s") || return 1
                mode=$(awk '/^Seccomp:/ { print $2 }' "/proc/$pid/status")
                expect_eq "$s seccomp mode (2 = filter)" 2 "$mode" || return 1
                printf '%-13s %s\n' "$s" "$(jq '[.syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]] | length' "$sec_profiles/$s.json") system calls allowed"
        done
}
check "security: every service runs under its own seccomp allowlist (filter mode)" t_security_profiles_active

t_security_check_verb() {
        local out
        out=$(hostenv_exec "$sec_home/.local/bin/ai-semble-supervisor" security check "$sec_profiles") || {
                printf '%s\n' "$out"
                return 1
        }
        printf '%s\n' "$out"
        for s in $AI_SEMBLE_SERVICES supervisor; do
                expect_match "profile validated" "seccomp  $s.json .* ok " "$out" || return 1
        done
}
check "security: 'ai-semble-supervisor security check' validates every installed profile with libseccomp" t_security_check_verb

# deploy.sh ran it already; again here to see what it says: every profile validated and
# installed, every unit referencing its profile, SELinux's state in plain words.
t_security_apply_verb() {
        local out s
        out=$(hostenv_exec env AI_SEMBLE_SECCOMP_DIR="$sec_home/.local/share/ai-semble/seccomp" \
                "$sec_home/.local/bin/ai-semble-supervisor" security apply 2>&1) || {
                printf '%s\n' "$out"
                return 1
        }
        printf '%s\n' "$out"
        for s in $AI_SEMBLE_SERVICES; do
                expect_match "unit of $s" "^unit .*seccomp=$sec_profiles/$s.json" "$out" || return 1
        done
        expect_match "SELinux state" "^selinux  SELinux is " "$out"
}
check "security: 'ai-semble-supervisor security apply' installs the profiles and finds every unit using its own" t_security_apply_verb

t_security_probe() {
        local bin ctx s out rc=0 table
        bin="$AI_SEMBLE_BUILD/security/probe/ai-semble-probe"
        [ -x "$bin" ] || {
                echo "$bin is missing"
                return 1
        }
        ctx=$sec_home/.cache/ai-semble/probe
        install -D -m 0755 "$bin" "$ctx/ai-semble-probe"
        printf 'FROM scratch\nCOPY ai-semble-probe /ai-semble-probe\nUSER 10001:10001\nENTRYPOINT ["/ai-semble-probe"]\n' >"$ctx/Containerfile"
        [ "$(hostenv_mode)" = direct ] || chown -R "$AI_SEMBLE_USER:" "$ctx"
        pm build -q -t localhost/ai-semble/probe:latest "$ctx" >/dev/null || return 1
        table=""
        for s in $AI_SEMBLE_SERVICES; do
                out=$(pm run --rm --user 10001:10001 --read-only --cap-drop all \
                        --security-opt no-new-privileges --security-opt "seccomp=$sec_profiles/$s.json" \
                        --tmpfs /tmp:rw,noexec,nosuid,nodev,size=16m localhost/ai-semble/probe:latest) || rc=1
                table+=$(awk -v s="$s" 'NR == 1 { printf "%-13s", s; next } { printf " %s=%s", $1, $2 } END { print "" }' <<<"$out")$'\n'
                grep -q '^seccomp filter' <<<"$out" || rc=1
        done
        printf '%s' "$table"
        pm rmi localhost/ai-semble/probe:latest >/dev/null 2>&1 || true
        return $rc
}
check "security: the probe finds ptrace, mount, unshare, keyctl, bpf, AF_PACKET, init_module, setuid(0) refused under every profile" t_security_probe

# The supervisor daemon's own confinement: install turned supervisor.json into the
# unit's SystemCallFilter= allowlist; the running daemon is in seccomp filter mode, and
# systemd-analyze's exposure score is printed for the record.
t_security_supervisor_filter() {
        local unit pid mode names allowed
        unit=$(hostenv_exec systemctl --user cat ai-semble-supervisor.service) || return 1
        names=$(sed -n 's/^SystemCallFilter=//p' <<<"$unit" | tr ' ' '\n' | grep -c .)
        allowed=$(jq '[.syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]] | unique | length' \
                "$sec_profiles/supervisor.json") || return 1
        expect_eq "SystemCallFilter= names = supervisor.json" "$allowed" "$names" || return 1
        expect_match "error number" "^SystemCallErrorNumber=EPERM" "$unit" || return 1
        expect_match "architectures" "^SystemCallArchitectures=native" "$unit" || return 1
        pid=$(hostenv_exec systemctl --user show -p MainPID --value ai-semble-supervisor.service)
        [ "${pid:-0}" -gt 1 ] || {
                echo "the supervisor is not running"
                return 1
        }
        mode=$(awk '/^Seccomp:/ { print $2 }' "/proc/$pid/status")
        expect_eq "supervisor seccomp mode (2 = filter)" 2 "$mode" || return 1
        echo "supervisor: $names system calls allowed (SystemCallFilter=), Seccomp: $mode"
        hostenv_exec systemd-analyze security --user ai-semble-supervisor.service --no-pager | tail -n 1
}
check "security: the supervisor runs under its own SystemCallFilter= allowlist (supervisor.json)" t_security_supervisor_filter
