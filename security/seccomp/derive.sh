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
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: derive.sh TRACE_DIR}
command -v jq >/dev/null || { echo "derive.sh: jq is missing" >&2; exit 1; }

names_of() { # files... → one syscall name per line
        sed -nE 's/^[0-9]+ +(<\.\.\. )?([a-z_0-9]+)[( ].*/\2/p' "$@" | grep -v '^exited$\|^killed$' || true
}

for svc in orchestrator llm vision nlp data; do
        files=()
        for f in "$dir/pod-$svc" "$dir/host-$svc" "$dir/hc-$svc"; do [ -s "$f" ] && files+=("$f"); done
        [ ${#files[@]} -gt 0 ] || { echo "derive.sh: no traces for $svc in $dir" >&2; exit 1; }
        {
                names_of "${files[@]}"
                grep -v '^#' "$here/margin.txt" | awk 'NF { print $1 }'
        } | sort -u | jq -R . | jq -s --arg svc "$svc" '{
                comment: ("ai-semble " + $svc + ": derived by security/seccomp/derive.sh from strace of the service under the integration suite, plus security/seccomp/margin.txt"),
                defaultAction: "SCMP_ACT_ERRNO",
                defaultErrnoRet: 1,
                archMap: [{architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
                syscalls: [{names: ., action: "SCMP_ACT_ALLOW"}]
        }' >"$here/$svc.json"
        printf '%-13s %3d system calls\n' "$svc" "$(jq '.syscalls[0].names | length' "$here/$svc.json")"
done
