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

# Japanese sentiment as deployed: neither a lexicon nor NLP_LLM_URL, so 501 naming both
# settings (the backends area configures the llm path and checks its answer).
t_nlp_ja_sentiment() {
        local out
        expect_eq "configured path" "not configured" \
                "$(in_pod_net curl -sf http://127.0.0.1:8083/health/ready | jq -r '.resources.ja_sentiment')" || return 1
        out=$(nlp_post '{"text":"良い天気です。","task":"sentiment","language":"ja"}')
        printf '%s\n' "$out" | jq -e '.status == 501 and (.detail | contains("NLP_LLM_URL")) and (.detail | contains("NLP_JA_SENTIMENT_LEXICON"))'
}
check "nlp: Japanese sentiment without a lexicon or the llm path: 501 naming both settings" t_nlp_ja_sentiment

t_nlp_through_orchestrator() {
        api_expect 200 POST /ai/nlp/process '{"text":"What a great day!","task":"sentiment"}' &&
                jq -e '.result.task == "sentiment" and .result.results.method == "vader" and .result.results.label == "positive"' <<<"$API_BODY"
}
check "nlp: /ai/nlp/process sentiment through the orchestrator" t_nlp_through_orchestrator
