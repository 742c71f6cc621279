# shellcheck shell=bash
# service-llm-paths.sh — nlp's Japanese sentiment and vision's neural tasks through the
# llm service, in the real pod under each service's seccomp profile (sourced by run.sh):
# NLP_LLM_URL and VISION_LLM_URL are turned on, and with no backend in the pod the llm's
# 503 naming LLM_BACKENDS_FILE must come back through nlp and vision — proof that their
# HTTP client runs inside their profiles. Restored afterwards.

PATHS_ENV=$(hostenv_home)/.config/ai-semble/ai-semble.env
[ "$(hostenv_mode)" = direct ] && PATHS_ENV=$HOME/.config/ai-semble/ai-semble.env

paths_restart() { # units...
        local i
        hostenv_exec systemctl --user restart "$@" || return 1
        for ((i = 0; i < 300; i++)); do
                curl -sf -m 1 "$URL/health/ready" >/dev/null 2>&1 && return 0
                sleep 0.2
        done
        echo "the pod was not ready within 60 s after restarting $*"
        return 1
}

t_llm_paths() {
        local out png
        cp "$PATHS_ENV" "$PATHS_ENV.nollm"
        printf 'NLP_LLM_URL=http://127.0.0.1:8081\nVISION_LLM_URL=http://127.0.0.1:8081\n' >>"$PATHS_ENV"
        paths_restart ai-semble-nlp.service ai-semble-vision.service || return 1
        out=$(in_pod_net curl -s -m 30 -H 'Content-Type: application/json' \
                -d '{"text":"今日はとても良い天気です。","task":"sentiment","language":"ja"}' http://127.0.0.1:8083/process)
        echo "nlp: $out"
        jq -e '.status == 503 and (.detail | contains("LLM_BACKENDS_FILE"))' <<<"$out" >/dev/null || return 1
        png=$(mktemp --suffix=.png)
        convert -size 64x48 'xc:#1e90ff' "$png" || return 1
        out=$(jq -n --arg b "$(base64 -w0 "$png")" '{image_base64: $b, task: "classify"}' |
                in_pod_net curl -s -m 60 -H 'Content-Type: application/json' -d @- http://127.0.0.1:8082/analyze)
        rm -f "$png"
        echo "vision: $out"
        jq -e '.status == 503 and (.detail | contains("LLM_BACKENDS_FILE"))' <<<"$out" >/dev/null
}
check "nlp and vision reach the llm from inside their seccomp profiles (its 503 naming LLM_BACKENDS_FILE comes through)" t_llm_paths

t_llm_paths_off() {
        mv "$PATHS_ENV.nollm" "$PATHS_ENV" && paths_restart ai-semble-nlp.service ai-semble-vision.service
}
check "nlp and vision back to their defaults (no llm paths)" t_llm_paths_off
