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
for f in "$here"/seccomp/*.json; do
        n=$(allowed "$f")
        if [ -n "$unconditional" ]; then
                printf '| %s | %s | %s%% |\n' "$(basename "$f" .json)" "$n" "$((n * 100 / unconditional))"
        else
                printf '| %s | %s |\n' "$(basename "$f" .json)" "$n"
        fi
done
common=$(jq -s '[.[] | [.syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]] | unique] | reduce .[1:][] as $x (.[0]; . - (. - $x)) | length' "$here"/seccomp/*.json)
union=$(jq -s '[.[] | .syscalls[] | select(.action == "SCMP_ACT_ALLOW") | .names[]] | unique | length' "$here"/seccomp/*.json)
printf '\n%s system calls are common to all five profiles; %s in their union; margin.txt adds %s.\n' \
        "$common" "$union" "$(grep -cv '^#\|^$' "$here/seccomp/margin.txt")"

# Image contents, from the staged rootfs build-images.sh leaves behind (the images are
# FROM scratch: exactly these files).
stage=${AI_SEMBLE_IMAGE_STAGE:-}
if [ -z "$stage" ] && id aisemble >/dev/null 2>&1; then stage=$(getent passwd aisemble | cut -d: -f6)/.cache/ai-semble/images; fi
if [ -n "$stage" ] && [ -d "$stage" ]; then
        printf '\n| image | files | size | shell |\n|---|---|---|---|\n'
        for svc in orchestrator llm vision nlp data; do
                [ -d "$stage/$svc/rootfs" ] || continue
                sh=none
                for p in bin/sh usr/bin/sh bin/bash usr/bin/bash bin/busybox; do [ -e "$stage/$svc/rootfs/$p" ] && sh=$p; done
                printf '| %s | %s | %s | %s |\n' "$svc" "$(find "$stage/$svc/rootfs" -type f | wc -l)" \
                        "$(du -sh "$stage/$svc/rootfs" | cut -f1)" "$sh"
        done
fi
