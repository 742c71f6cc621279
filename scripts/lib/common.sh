# shellcheck shell=bash
# common.sh — paths and helpers shared by the scripts in scripts/.

AI_SEMBLE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AI_SEMBLE_BUILD=${AI_SEMBLE_BUILD:-$AI_SEMBLE_ROOT/build}
# The pod's services and their ports inside the pod: one list, services/pod-services.txt
# (the C code reads it through the generated pod-services.h).
AI_SEMBLE_SERVICES_FILE=$AI_SEMBLE_ROOT/services/pod-services.txt
AI_SEMBLE_SERVICES=$(awk '!/^#/ && NF { printf "%s%s", sep, $1; sep = " " }' "$AI_SEMBLE_SERVICES_FILE")
export AI_SEMBLE_SERVICES

step() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
        printf 'error: %s\n' "$*" >&2
        exit 1
}

ai_semble_version() {
        sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$AI_SEMBLE_ROOT/meson.build" | head -n 1
}

# Port of each service inside the pod; fails for a name that is not a service.
service_port() {
        awk -v s="$1" '!/^#/ && $1 == s { print $2; found = 1 } END { exit !found }' "$AI_SEMBLE_SERVICES_FILE"
}
