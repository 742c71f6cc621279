#!/usr/bin/env bash
# install-security.sh (root) — installs ai-semble's seccomp profiles system-wide and,
# where SELinux is enabled, its policy module. Idempotent.
#
#   install-security.sh          install (validates the profiles first)
#   install-security.sh --check  report what is installed; exit 0 when up to date
#
# Profiles go to /etc/containers/seccomp/ai-semble/<service>.json (for system-wide
# Podman) and /var/lib/kubelet/seccomp/ai-semble/ (Kubernetes' localhost profiles).
# The rootless pod uses its own copy in ~/.config/ai-semble/seccomp (deploy.sh).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

src=$AI_SEMBLE_ROOT/security
dests=(/etc/containers/seccomp/ai-semble /var/lib/kubelet/seccomp/ai-semble)
sup=$AI_SEMBLE_BUILD/supervisor/ai-semble-supervisor

selinux_enabled() { command -v selinuxenabled >/dev/null && selinuxenabled; }

check() {
        local d f ok=0
        for d in "${dests[@]}"; do
                for f in "$src"/seccomp/*.json; do
                        if cmp -s "$f" "$d/$(basename "$f")"; then
                                printf 'seccomp  %-50s installed\n' "$d/$(basename "$f")"
                        else
                                printf 'seccomp  %-50s MISSING or out of date\n' "$d/$(basename "$f")"
                                ok=1
                        fi
                done
        done
        if selinux_enabled; then
                if semodule -l | grep -qx 'ai_semble'; then echo "selinux  module ai_semble loaded"; else
                        echo "selinux  module ai_semble NOT loaded"
                        ok=1
                fi
        else
                echo "selinux  disabled on this host: no module to load"
        fi
        return $ok
}

install_all() {
        local d tmp
        [ "$(id -u)" -eq 0 ] || die "install-security.sh needs root"
        if [ -x "$sup" ]; then
                "$sup" security check "$src/seccomp" >/dev/null || die "a seccomp profile does not validate; nothing installed"
        else
                warn "$sup not built: installing the profiles without validating them"
        fi
        for d in "${dests[@]}"; do
                install -d -m 0755 "$d"
                install -m 0644 "$src"/seccomp/*.json "$d/"
        done
        if selinux_enabled; then
                tmp=$(mktemp -d)
                "$src/selinux/compile.sh" "$tmp"
                semodule -i "$tmp/ai_semble.pp"
                rm -rf "$tmp"
        else
                echo "SELinux is disabled on this host: the policy module is not loaded"
        fi
        check
}

case "${1:-}" in
--check) check ;;
"") install_all ;;
*) die "usage: install-security.sh [--check]" ;;
esac
