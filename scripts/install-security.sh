#!/usr/bin/env bash
# install-security.sh (root) — installs ai-semble's seccomp profiles system-wide and,
# where SELinux is enabled, its policy module. Idempotent.
#
#   install-security.sh          install (validates the profiles first)
#   install-security.sh --check  report what is installed; exit 0 when up to date
#
# Profiles go to /etc/containers/seccomp/ai-semble/<service>.json (for system-wide
# Podman) and /var/lib/kubelet/seccomp/ai-semble-<service>.json (the localhost profiles
# pods/ai-semble.yaml names; `podman kube play` resolves them there too — it cannot
# read a profile in a subdirectory of that root).
# The rootless pod uses its own copy in ~/.config/ai-semble/seccomp, which
# `ai-semble-supervisor security apply` (run by deploy.sh as the pod's user) installs.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

src=$AI_SEMBLE_ROOT/security
etc_dir=/etc/containers/seccomp/ai-semble
kube_dir=/var/lib/kubelet/seccomp
sup=$AI_SEMBLE_BUILD/supervisor/ai-semble-supervisor

selinux_enabled() { command -v selinuxenabled >/dev/null && selinuxenabled; }

check() {
        local f dst s ok=0
        for s in $AI_SEMBLE_SERVICES; do
                f=$src/seccomp/$s.json
                for dst in "$etc_dir/$(basename "$f")" "$kube_dir/ai-semble-$(basename "$f")"; do
                        if cmp -s "$f" "$dst"; then
                                printf 'seccomp  %-52s installed\n' "$dst"
                        else
                                printf 'seccomp  %-52s MISSING or out of date\n' "$dst"
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
        local f s tmp
        [ "$(id -u)" -eq 0 ] || die "install-security.sh needs root"
        if [ -x "$sup" ]; then
                # A clean environment: the supervisor's own settings (AI_SEMBLE_*) do not apply here.
                env -i PATH="$PATH" HOME="${HOME:-/root}" "$sup" security check "$src/seccomp" >/dev/null ||
                        die "a seccomp profile does not validate; nothing installed"
        else
                warn "$sup not built: installing the profiles without validating them"
        fi
        install -d -m 0755 "$etc_dir" "$kube_dir"
        # The containers' profiles only: supervisor.json becomes the supervisor unit's
        # SystemCallFilter= (ai-semble-supervisor install), no container runtime reads it.
        for s in $AI_SEMBLE_SERVICES; do
                f=$src/seccomp/$s.json
                install -m 0644 "$f" "$etc_dir/"
                install -m 0644 "$f" "$kube_dir/ai-semble-$(basename "$f")"
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
