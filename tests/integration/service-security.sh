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
        expect_eq "profiles validated" 5 "$(grep -c '^seccomp .* ok ' <<<"$out")"
}
check "security: 'ai-semble-supervisor security check' validates every installed profile with libseccomp" t_security_check_verb

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
