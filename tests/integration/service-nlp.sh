# shellcheck shell=bash
# service-nlp.sh — the NLP service inside the pod (sourced by run.sh; uses check,
# in_pod_net, URL). It proves the image carries what the service loads at run time:
# MeCab's dictionary, textcat's fingerprints and VADER's lexicon.

nlp_post() { # json → response body (any status)
        in_pod_net curl -s -XPOST "http://127.0.0.1:8083/process" -H 'Content-Type: application/json' -d "$1"
}

t_nlp_resources() {
        in_pod_net curl -sf http://127.0.0.1:8083/health/ready |
                jq -e '.status == "ready" and .resources.mecab == "loaded" and .resources.textcat == "loaded" and .resources.vader == "loaded"'
}
check "nlp: ready with MeCab, textcat and VADER loaded from the image" t_nlp_resources

t_nlp_tasks() {
        local out
        out=$(nlp_post '{"text":"I love this phone, but the battery is terrible.","task":"sentiment"}')
        printf '%s\n' "$out" | jq -e '.task == "sentiment" and .language_detected == "en" and .results.method == "vader" and (.processing_time | type) == "number"' || return 1
        out=$(nlp_post '{"text":"東京都の山田太郎さんは2024年1月5日にトヨタ自動車を訪問しました。","task":"entities"}')
        printf '%s\n' "$out" | jq -e '.language_detected == "ja" and ([.results.entities[].type] | index("person") != null)' || return 1
        out=$(nlp_post '{"text":"すもももももももものうち","task":"tokenize","language":"ja"}')
        printf '%s\n' "$out" | jq -e '.results.tokens | length == 7' || return 1
}
check "nlp: sentiment, Japanese entities and MeCab tokens inside the pod" t_nlp_tasks

t_nlp_bad_input() {
        local code
        code=$(in_pod_net curl -s -o /dev/null -w '%{http_code}' -XPOST http://127.0.0.1:8083/process \
                -H 'Content-Type: application/json' --data-binary $'{"text":"\xff\xfe"}')
        expect_eq "invalid UTF-8" 422 "$code" || return 1
        nlp_post '{"text":"x","task":"translate"}' | jq -e '.status == 422 and .errors[0].field == "task"'
}
check "nlp: invalid UTF-8 422, unknown task 422" t_nlp_bad_input

# Japanese sentiment by what the pod is configured with: nothing (501 naming both
# settings), NLP_LLM_URL (the llm's verdict, or its 503 when it has no backend), a lexicon.
t_nlp_ja_sentiment() {
        local via out
        via=$(in_pod_net curl -sf http://127.0.0.1:8083/health/ready | jq -r '.resources.ja_sentiment')
        out=$(nlp_post '{"text":"良い天気です。","task":"sentiment","language":"ja"}')
        case "$via" in
        "not configured")
                printf '%s\n' "$out" | jq -e '.status == 501 and (.detail | contains("NLP_LLM_URL")) and (.detail | contains("NLP_JA_SENTIMENT_LEXICON"))' ;;
        llm)
                printf '%s\n' "$out" | jq -e '((.results.method // "") | startswith("llm:")) or (.status == 503 and (.detail | contains("LLM_BACKENDS_FILE")))' ;;
        loaded)
                printf '%s\n' "$out" | jq -e '.results.method == "polarity-lexicon"' ;;
        *)
                echo "unexpected resources.ja_sentiment: $via"
                return 1
                ;;
        esac
}
check "nlp: Japanese sentiment answers by its configuration (501 / llm / lexicon)" t_nlp_ja_sentiment

t_nlp_through_orchestrator() {
        local code
        code=$(curl -s -o "$LOG_DIR/nlp-orch.json" -w '%{http_code}' -XPOST "$URL/ai/nlp/process" \
                -H 'Content-Type: application/json' -d '{"text":"What a great day!","task":"sentiment"}')
        if [ "$code" = 404 ]; then
                echo "orchestrator does not route /ai/nlp/process yet"
                return 0
        fi
        expect_eq "status" 200 "$code" || return 1
        jq -e '.result.task == "sentiment" and .result.results.method == "vader"' "$LOG_DIR/nlp-orch.json"
}
check "nlp: /ai/nlp/process through the orchestrator (when it routes it)" t_nlp_through_orchestrator
