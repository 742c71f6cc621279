#!/usr/bin/env bash
# derive.sh — writes security/seccomp/<service>.json from strace output files.
#
#   derive.sh TRACE_DIR
#
# TRACE_DIR holds `strace -f -o` files named pod-<svc> (strace -f -p attached to the
# service's process in the running pod during tests/integration/run.sh), host-<svc> (the
# same binary started on the host: startup, /health/*, /metrics) and hc-<svc> (its
# --healthcheck mode, which Podman runs through `runc exec` under the same profile).
# The profile allows the union of what those traces show plus margin.txt, the reviewed
# list of calls that the runtime needs at exec time or that error paths make.
#
# supervisor.json comes from supervisor.<pid> files: `strace -D -ff -o DIR/supervisor`
# as the ExecStart= of ai-semble-supervisor.service (a temporary drop-in, with
# SystemCallFilter= emptied) while tests/integration/run.sh ran; -D keeps the daemon the
# unit's main process, so Type=notify and the watchdog behave as without strace. Plus
# margin-supervisor.txt. install turns it into the unit's SystemCallFilter=.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: derive.sh TRACE_DIR}
command -v jq >/dev/null || { echo "derive.sh: jq is missing" >&2; exit 1; }

names_of() { # files... → one syscall name per line ("PID name(" or, with -ff, "name(")
        sed -nE 's/^([0-9]+ +)?(<\.\.\. )?([a-z_0-9]+)[( ].*/\3/p' "$@" | grep -v '^exited$\|^killed$' || true
}

profile() { # name comment margin-file trace-files... → $here/<name>.json
        local name=$1 comment=$2 margin=$3
        shift 3
        {
                names_of "$@"
                grep -v '^#' "$margin" | awk 'NF { print $1 }'
        } | sort -u | jq -R . | jq -s --arg c "$comment" '{
                comment: $c,
                defaultAction: "SCMP_ACT_ERRNO",
                defaultErrnoRet: 1,
                archMap: [{architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
                syscalls: [{names: ., action: "SCMP_ACT_ALLOW"}]
        }' >"$here/$name.json"
        printf '%-13s %3d system calls\n' "$name" "$(jq '.syscalls[0].names | length' "$here/$name.json")"
}

mapfile -t services < <(awk '!/^#/ && NF { print $1 }' "$here/../../services/pod-services.txt")
for svc in "${services[@]}"; do
        files=()
        for f in "$dir/pod-$svc" "$dir/host-$svc" "$dir/hc-$svc"; do [ -s "$f" ] && files+=("$f"); done
        if [ ${#files[@]} -eq 0 ]; then
                echo "derive.sh: no traces for $svc in $dir: $svc.json left as it is" >&2
                continue
        fi
        profile "$svc" "ai-semble $svc: derived by security/seccomp/derive.sh from strace of the service under the integration suite, plus security/seccomp/margin.txt" \
                "$here/margin.txt" "${files[@]}"
done

files=()
for f in "$dir"/supervisor.*; do [ -s "$f" ] && files+=("$f"); done
if [ ${#files[@]} -gt 0 ]; then
        profile supervisor "ai-semble-supervisor run (the unit's SystemCallFilter=): derived by security/seccomp/derive.sh from strace -D -ff of the daemon under the integration suite, plus security/seccomp/margin-supervisor.txt" \
                "$here/margin-supervisor.txt" "${files[@]}"
else
        echo "derive.sh: no supervisor.* traces in $dir: supervisor.json left as it is" >&2
fi
