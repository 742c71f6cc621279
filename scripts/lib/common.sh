# shellcheck shell=bash
# common.sh — paths and helpers shared by the scripts in scripts/.

AI_SEMBLE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AI_SEMBLE_BUILD=${AI_SEMBLE_BUILD:-$AI_SEMBLE_ROOT/build}
export AI_SEMBLE_SERVICES="orchestrator llm vision nlp data"

step() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
        printf 'error: %s\n' "$*" >&2
        exit 1
}

ai_semble_version() {
        sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$AI_SEMBLE_ROOT/meson.build" | head -n 1
}

# Port of each service inside the pod.
service_port() {
        case "$1" in
        orchestrator) echo 8080 ;;
        llm) echo 8081 ;;
        vision) echo 8082 ;;
        nlp) echo 8083 ;;
        data) echo 8084 ;;
        *) return 1 ;;
        esac
}
