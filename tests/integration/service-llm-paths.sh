# shellcheck shell=bash
# service-llm-paths.sh — nlp's Japanese sentiment and vision's neural tasks through the
# llm service, in the real pod under each service's seccomp profile (sourced by run.sh):
# NLP_LLM_URL and VISION_LLM_URL are turned on, and with no backend in the pod the llm's
# 503 naming LLM_BACKENDS_FILE must come back through nlp and vision — proof that their
# HTTP client runs inside their profiles. Restored afterwards.

t_llm_paths() {
        local out png r=0
        pod_env_push NLP_LLM_URL=http://127.0.0.1:8081 VISION_LLM_URL=http://127.0.0.1:8081 &&
                restart_units ai-semble-nlp.service ai-semble-vision.service || return 1
        out=$(in_pod_net curl -s -m 30 -H 'Content-Type: application/json' \
                -d '{"text":"今日はとても良い天気です。","task":"sentiment","language":"ja"}' http://127.0.0.1:8083/process)
        echo "nlp: $out"
        jq -e '.status == 503 and (.detail | contains("LLM_BACKENDS_FILE"))' <<<"$out" >/dev/null || r=1
        png=$(mktemp --suffix=.png)
        convert -size 64x48 'xc:#1e90ff' "$png" || r=1
        out=$(jq -n --arg b "$(base64 -w0 "$png")" '{image_base64: $b, task: "classify"}' |
                in_pod_net curl -s -m 60 -H 'Content-Type: application/json' -d @- http://127.0.0.1:8082/analyze)
        rm -f "$png"
        echo "vision: $out"
        jq -e '.status == 503 and (.detail | contains("LLM_BACKENDS_FILE"))' <<<"$out" >/dev/null || r=1
        pod_env_pop && restart_units ai-semble-nlp.service ai-semble-vision.service || return 1
        return $r
}
check "nlp and vision reach the llm from inside their seccomp profiles (its 503 naming LLM_BACKENDS_FILE comes through)" t_llm_paths
