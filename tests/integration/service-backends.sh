# shellcheck shell=bash
# service-backends.sh — the pod with an LLM backend (sourced by run.sh). No hosted model
# can run here, so the llm gets tests/llm/fake_backend.py — the protocol-faithful OpenAI
# and Ollama fake — started inside the pod's network namespace; its backends file goes on
# the models volume, and nlp and vision are pointed at the llm. Then every path that
# needs a model is checked to its one expected answer through the published port:
# a completion, docs/orchestrator.md's workflow, hybrid mode, vision's classify and nlp's
# Japanese sentiment. Everything is restored afterwards.

BE_DIR=$(mktemp -d /tmp/ai-semble-it-backends.XXXXXX)
BE_PORT=18990
BE_FAKE_PID=

be_fake() { # method path [body]: a request to the fake, inside the pod's network
        in_pod_net curl -s -m 5 -X "$1" ${3:+-H 'Content-Type: application/json' -d "$3"} "http://127.0.0.1:$BE_PORT$2"
}

t_be_backend() {
        local models
        fake_backend_start "$BE_PORT" "$BE_DIR/fake.log" || return 1
        BE_FAKE_PID=$FAKE_BACKEND_PID
        models=$(pm volume inspect ai-semble-models --format '{{.Mountpoint}}') || return 1
        # Two backends on the one fake (OpenAI and Ollama protocols) for hybrid mode; the
        # scripted and canned models, and the *-node ones the openai npm client calls
        # (tests/llm-client/client.mjs), only when asked for by name. The client's
        # mid-stream reset must not open the backend's breaker.
        jq -n --arg url "http://127.0.0.1:$BE_PORT" '{backends: [
                {name: "fake-openai", kind: "openai", base_url: ($url + "/v1"), allowed_fails: 100,
                 models: [{name: "echo-openai", context_window: 8192, quality: 6},
                          {name: "scripted", vision: true, auto: false},
                          {name: "say-positive", auto: false},
                          {name: "echo-node", auto: false}, {name: "fault-reset", auto: false},
                          {name: "tool-node", upstream_name: "tool-a", auto: false},
                          {name: "json-node", upstream_name: "json-a", auto: false},
                          {name: "embed-node", upstream_name: "embed-a", embeddings: true, auto: false}]},
                {name: "fake-ollama", kind: "ollama", base_url: $url,
                 models: [{name: "echo-ollama", context_window: 8192, quality: 5},
                          {name: "slow-start-ollama", auto: false}]}]}' \
                >"$models/it-backends.json" || return 1
        chmod 0644 "$models/it-backends.json"
        pod_env_push LLM_BACKENDS_FILE=/models/it-backends.json \
                NLP_LLM_URL=http://127.0.0.1:8081 NLP_LLM_MODEL=say-positive \
                VISION_LLM_URL=http://127.0.0.1:8081 VISION_LLM_MODEL=scripted &&
                restart_units ai-semble-llm.service ai-semble-nlp.service ai-semble-vision.service
}
check "backends: the llm gets OpenAI- and Ollama-protocol fake backends inside the pod" t_be_backend

t_be_completion() {
        local id
        api_expect 200 POST /ai/llm/completion '{"prompt":"Say hello","max_tokens":8}' || return 1
        echo "$API_BODY"
        id=$(jq -r .job_id <<<"$API_BODY")
        jq -e '.status == "completed" and .result == "echo: Say hello" and .model_used == "echo-openai" and
                (.selection_reason | length > 0) and .tokens_used > 0' <<<"$API_BODY" >/dev/null &&
                expect_eq "stored" completed "$(job_field "$id" .status)"
}
check "backends: /ai/llm/completion through the door answers 200 from the routed backend and stores the job" t_be_completion

# The llm's OpenAI API on the published port: streamed chunk by chunk, a job all the same.
t_be_v1_stream() {
        local out id content
        out=$(curl -s -N -m 30 -D - -H "Authorization: Bearer $IT_TOKEN" -H 'Content-Type: application/json' \
                -d '{"model":"echo-openai","stream":true,"messages":[{"role":"user","content":"Say hi"}]}' \
                "$URL/v1/chat/completions" | tr -d '\r') || return 1
        id=$(awk -F': ' 'tolower($1) == "x-job-id" { print $2; exit }' <<<"$out")
        [ -n "$id" ] || { echo "no X-Job-ID: $out"; return 1; }
        expect_match "an event stream" '^HTTP/1.1 200' "$out" &&
                expect_match "content type" '[Cc]ontent-[Tt]ype: text/event-stream' "$out" &&
                expect_match "the end" 'data: \[DONE\]' "$out" || return 1
        content=$(sed -n 's/^data: //p' <<<"$out" | grep -v '^\[DONE\]$' | jq -rj '.choices[0].delta.content // empty')
        echo "streamed: $content (job $id)"
        expect_match "streamed content" 'Say hi' "$content" && job_wait "$id" completed
}
check "backends: /v1/chat/completions streamed through 8080 (SSE to [DONE]), stored as a job named in X-Job-ID" t_be_v1_stream

# The official openai and @anthropic-ai/sdk npm clients, unchanged, pointed at
# http://127.0.0.1:8080 with a token of the pod as their API key. openai: models, chat
# plain and streamed, the stream helper, legacy completions, errors, a mid-stream reset,
# tools, structured output, embeddings, X-Job-ID and the 401 of a wrong key.
# @anthropic-ai/sdk on /v1/messages: plain and streamed, the stream helper, tools, the
# token as bearer and as x-api-key.
t_be_npm_clients() {
        local npm=$BE_DIR/npm rc=0
        mkdir -p "$npm" &&
                echo '{"name":"ai-semble-it-client","private":true,"type":"module"}' >"$npm/package.json" || return 1
        # its own cache: nothing an earlier run left is used
        (cd "$npm" && npm install --no-audit --no-fund --silent --cache "$BE_DIR/npm-cache" \
                "openai@${OPENAI_NPM_VERSION:-7}" "@anthropic-ai/sdk@${ANTHROPIC_NPM_VERSION:-1}") || return 1
        cp "$AI_SEMBLE_ROOT"/tests/llm-client/{client,anthropic,tap}.mjs "$npm/" || return 1
        echo "openai npm $(node -p "require('$npm/node_modules/openai/package.json').version")," \
                "@anthropic-ai/sdk npm $(node -p "require('$npm/node_modules/@anthropic-ai/sdk/package.json').version")"
        node "$npm/client.mjs" "$URL/v1" node "$IT_TOKEN" orchestrator || rc=1
        node "$npm/anthropic.mjs" "$URL" node "$IT_TOKEN" orchestrator || rc=1
        return $rc
}
if command -v node >/dev/null && command -v npm >/dev/null; then
        check "backends: the official openai and anthropic npm clients through 8080 (token as API key): chat and messages plain and streamed, tools, embeddings, X-Job-ID" t_be_npm_clients
elif package_set_installed client; then
        check "backends: the official npm clients through 8080 (node and npm were to be installed)" false
else
        skip "backends: the official openai and anthropic npm clients through 8080" \
                "node and npm are not installed here (scripts/packages/client.txt; run-tests.sh all installs them)"
fi

t_be_workflow() {
        local req out
        convert -size 1100x160 xc:white -font DejaVu-Sans -pointsize 56 -fill black \
                -annotate +30+100 'Great service, thank you' "$BE_DIR/receipt.png" || return 1
        req=$(jq -n --arg img "$(base64 -w0 "$BE_DIR/receipt.png")" '{steps: [
          {id: "ocr", service: "vision", task: "extract_text",
           input: {image_base64: $img, options: {languages: "eng"}}},
          {id: "lang", service: "nlp", task: "analyze", depends_on: ["ocr"],
           input: {text: {"$ref": "ocr#/results/text"}}},
          {id: "sentiment", service: "nlp", task: "sentiment", depends_on: ["ocr"],
           input: {text: {"$ref": "ocr#/results/text"}}},
          {id: "summary", service: "llm", task: "completion", depends_on: ["lang", "sentiment"],
           input: {prompt: {"$ref": "ocr#/results/text"}, max_tokens: 200}}]}')
        api_expect 200 POST /workflows "$req" -m 120 || return 1
        out=$API_BODY
        jq -c '{status, steps: (.result.steps | map_values(.status)),
                text: .result.steps.ocr.output.results.text,
                language: .result.steps.lang.output.language_detected,
                compound: .result.steps.sentiment.output.results.compound,
                summary: .result.steps.summary.output.text}' <<<"$out" | tee "$BE_DIR/result.json"
        jq -e '.status == "completed" and ([.result.steps[].status] | all(. == "completed"))' \
                <<<"$out" >/dev/null || return 1
        expect_match ocr 'Great service' "$(jq -r .result.steps.ocr.output.results.text <<<"$out")" &&
                expect_eq language en "$(jq -r .result.steps.lang.output.language_detected <<<"$out")" &&
                jq -e '.result.steps.sentiment.output.results.compound > 0.5' <<<"$out" >/dev/null &&
                expect_match summary '^echo: Great service' "$(jq -r .result.steps.summary.output.text <<<"$out")"
}
check "backends: image → OCR (vision) → language and sentiment (nlp) → summary (llm), every step completed" t_be_workflow

t_be_hybrid() {
        api_expect 200 POST /ai/llm/completion '{"prompt": "two at once",
                "hybrid": {"mode": "both", "models": ["echo-openai", "echo-ollama"]}}' || return 1
        jq -c '{status, backends: [.hybrid.answers[] | {backend, status, text}]}' <<<"$API_BODY"
        jq -e '.status == "completed" and (.hybrid.answers | length == 2) and
               ([.hybrid.answers[] | select(.status == "ok" and .text == "echo: two at once")] | length == 2) and
               ([.hybrid.answers[].backend] | sort == ["fake-ollama", "fake-openai"])' <<<"$API_BODY" >/dev/null || return 1
        # "first": the leg that answers first wins and the other is cancelled. The Ollama
        # leg's model says nothing for 5 s, so the OpenAI leg wins, every time.
        api_expect 200 POST /ai/llm/completion '{"prompt": "first wins",
                "hybrid": {"mode": "first", "models": ["echo-openai", "slow-start-ollama"]}}' || return 1
        jq -c '{status, winner: .hybrid.winner, selection_reason}' <<<"$API_BODY"
        jq -e '.status == "completed" and (.hybrid.answers | length == 2) and
               (.selection_reason | startswith("hybrid first")) and
               ([.hybrid.answers[] | select(.status == "ok")] | length == 1) and
               .hybrid.winner == "fake-openai" and
               ([.hybrid.answers[] | select(.status == "ok")][0].backend == "fake-openai")' <<<"$API_BODY" >/dev/null
}
check "backends: hybrid mode through the orchestrator: both answers, then exactly one winner" t_be_hybrid

t_be_vision_classify() {
        local body
        be_fake POST /_script '{"text": "[{\"label\": \"sky\", \"confidence\": 0.9}, {\"label\": \"blue\", \"confidence\": 0.7}]"}' >/dev/null ||
                return 1
        convert -size 64x48 'xc:#1e90ff' "$BE_DIR/neural.png" || return 1
        body=$(jq -n --arg b "$(base64 -w0 "$BE_DIR/neural.png")" '{task: "classify", image_base64: $b}')
        api_expect 200 POST /ai/vision/analyze "$body" || return 1
        echo "$API_BODY"
        jq -e '.status == "completed" and .result.results.method == "llm:scripted" and
                ([.result.results.labels[].label] == ["sky", "blue"]) and .result.confidence == 0.9' <<<"$API_BODY" >/dev/null
}
check "backends: vision classify through the door answers from the llm's vision model" t_be_vision_classify

t_be_nlp_ja() {
        api_expect 200 POST /ai/nlp/process '{"text":"良い天気です。","task":"sentiment","language":"ja"}' || return 1
        echo "$API_BODY"
        jq -e '.status == "completed" and .result.results.method == "llm:say-positive" and
                .result.results.label == "positive" and .result.results.score == 0.8' <<<"$API_BODY" >/dev/null
}
check "backends: Japanese sentiment through the door answers from the llm" t_be_nlp_ja

t_be_restore() {
        local models
        [ -n "$BE_FAKE_PID" ] && kill "$BE_FAKE_PID" 2>/dev/null
        models=$(pm volume inspect ai-semble-models --format '{{.Mountpoint}}') && rm -f "$models/it-backends.json"
        rm -rf "$BE_DIR"
        pod_env_pop && restart_units ai-semble-llm.service ai-semble-nlp.service ai-semble-vision.service &&
                api_expect 503 POST /ai/llm/completion '{"prompt":"Say hello","max_tokens":8}'
}
check "backends: the llm, nlp and vision back to their configuration (no backend: 503)" t_be_restore
