#!/usr/bin/env bash
# report.sh — the figures in docs/security.md: system calls each ai-semble profile
# allows against Podman's default profile, and the SELinux module's state.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
podman_default=${PODMAN_SECCOMP:-/usr/share/containers/seccomp.json}

allowed() { # profile → distinct names with SCMP_ACT_ALLOW
        jq '[.syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]] | unique | length' "$1"
}

if [ -f "$podman_default" ]; then
        unconditional=$(jq '[.syscalls[] | select(.action == "SCMP_ACT_ALLOW" and (.args // [] | length) == 0
                and (.includes // {} | length) == 0) | .names[]] | unique | length' "$podman_default")
        all=$(allowed "$podman_default")
        printf '| profile | system calls allowed | of Podman default (%s unconditional, %s in all) |\n|---|---|---|\n' \
                "$unconditional" "$all"
        printf '| Podman default | %s | 100%% |\n' "$unconditional"
else
        unconditional=""
        printf '| profile | system calls allowed |\n|---|---|\n'
fi
mapfile -t services < <(awk '!/^#/ && NF { print $1 }' "$here/../services/pod-services.txt")
for svc in "${services[@]}" supervisor; do
        f=$here/seccomp/$svc.json
        [ -f "$f" ] || continue
        n=$(allowed "$f")
        if [ -n "$unconditional" ]; then
                printf '| %s | %s | %s%% |\n' "$svc" "$n" "$((n * 100 / unconditional))"
        else
                printf '| %s | %s |\n' "$svc" "$n"
        fi
done
svc_files=()
for svc in "${services[@]}"; do svc_files+=("$here/seccomp/$svc.json"); done
common=$(jq -s '[.[] | [.syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]] | unique] | reduce .[1:][] as $x (.[0]; . - (. - $x)) | length' "${svc_files[@]}")
union=$(jq -s '[.[] | .syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]] | unique | length' "${svc_files[@]}")
printf '\n%s system calls are common to all five profiles; %s in their union; margin.txt adds %s.\n' \
        "$common" "$union" "$(grep -cv '^#\|^$' "$here/seccomp/margin.txt")"
if [ -f "$here/seccomp/supervisor.json" ]; then
        printf 'supervisor.json (the supervisor unit'"'"'s SystemCallFilter=): %s names, %s of them from margin-supervisor.txt;\n' \
                "$(allowed "$here/seccomp/supervisor.json")" "$(grep -cv '^#\|^$' "$here/seccomp/margin-supervisor.txt")"
        if command -v systemd-analyze >/dev/null; then
                printf 'the filter it replaced, @system-service minus @privileged and @resources, allows %s.\n' \
                        "$(systemd-analyze syscall-filter 2>/dev/null | python3 -c '
import re, sys
groups, cur = {}, None
for line in sys.stdin:
    m = re.match(r"^(@\S+)", line)
    if m:
        cur = groups.setdefault(m.group(1), [])
        continue
    m = re.match(r"^\s+([@a-z_0-9-]+)$", line)
    if m and cur is not None:
        cur.append(m.group(1))
def names(g):
    out = set()
    for n in groups.get(g, []):
        out |= names(n) if n.startswith("@") else {n}
    return out
print(len(names("@system-service") - names("@privileged") - names("@resources")))')"
        fi
fi

# The supervisor unit's exposure, where its user manager runs (root: through hostenv).
if [ "$(id -u)" -eq 0 ] && [ -f "$here/../scripts/lib/hostenv.sh" ]; then
        # shellcheck source=../scripts/lib/hostenv.sh
        . "$here/../scripts/lib/hostenv.sh"
        if hostenv_manager_pid >/dev/null 2>&1 || [ "$(hostenv_mode)" = root-systemd ]; then
                score=$(hostenv_exec systemd-analyze security --user ai-semble-supervisor.service --no-pager 2>/dev/null | tail -n 1) || score=""
                # shellcheck disable=SC2016 # the backquotes are Markdown
                [ -n "$score" ] && printf '\n`systemd-analyze security --user ai-semble-supervisor.service` (%s): %s\n' \
                        "$(systemd-analyze --version | head -n 1)" "${score#→ }"
        fi
fi

# Image contents, from the staged rootfs build-images.sh leaves behind (the images are
# FROM scratch: exactly these files).
stage=${AI_SEMBLE_IMAGE_STAGE:-}
if [ -z "$stage" ] && id aisemble >/dev/null 2>&1; then stage=$(getent passwd aisemble | cut -d: -f6)/.cache/ai-semble/images; fi
if [ -n "$stage" ] && [ -d "$stage" ]; then
        printf '\n| image | files | size | shell |\n|---|---|---|---|\n'
        for svc in "${services[@]}"; do
                [ -d "$stage/$svc/rootfs" ] || continue
                sh=none
                for p in bin/sh usr/bin/sh bin/bash usr/bin/bash bin/busybox; do [ -e "$stage/$svc/rootfs/$p" ] && sh=$p; done
                printf '| %s | %s | %s | %s |\n' "$svc" "$(find "$stage/$svc/rootfs" -type f | wc -l)" \
                        "$(du -sh "$stage/$svc/rootfs" | cut -f1)" "$sh"
        done
fi
