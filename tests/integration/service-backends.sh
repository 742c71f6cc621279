# shellcheck shell=bash
# service-workflow.sh — docs/orchestrator.md's workflow example, run for real in the pod
# (sourced by run.sh): an image with printed text → OCR (vision) → language and
# sentiment (nlp, in parallel) → summary (llm). No hosted model can run here, so the llm
# gets a backend that is tests/llm/fake_backend.py — the protocol-faithful OpenAI fake —
# started inside the pod's network namespace; its backends file goes on the models
# volume. Everything is restored afterwards.

WF_DIR=$(mktemp -d /tmp/ai-semble-it-workflow.XXXXXX)
WF_PORT=18990
WF_ENV=$(hostenv_home)/.config/ai-semble/ai-semble.env
[ "$(hostenv_mode)" = direct ] && WF_ENV=$HOME/.config/ai-semble/ai-semble.env
WF_FAKE_PID=

wf_restart_llm() {
        local i
        hostenv_exec systemctl --user restart ai-semble-llm.service || return 1
        for ((i = 0; i < 300; i++)); do
                in_pod_net curl -sf -m 1 http://127.0.0.1:8081/health/ready >/dev/null 2>&1 && return 0
                sleep 0.2
        done
        echo "llm was not ready within 60 s"
        return 1
}

t_wf_backend() {
        local models i
        in_pod_net python3 "$AI_SEMBLE_ROOT/tests/llm/fake_backend.py" --port "$WF_PORT" \
                >"$WF_DIR/fake.log" 2>&1 &
        WF_FAKE_PID=$!
        for ((i = 0; i < 100; i++)); do
                in_pod_net curl -s -m 1 -o /dev/null "http://127.0.0.1:$WF_PORT/" && break
                sleep 0.1
        done
        models=$(pm volume inspect ai-semble-models --format '{{.Mountpoint}}') || return 1
        # Two backends on the one fake (OpenAI and Ollama protocols) for hybrid mode.
        jq -n --arg url "http://127.0.0.1:$WF_PORT" '{backends: [
                {name: "fake-openai", kind: "openai", base_url: ($url + "/v1"),
                 models: [{name: "echo-openai", context_window: 8192, quality: 6}]},
                {name: "fake-ollama", kind: "ollama", base_url: $url,
                 models: [{name: "echo-ollama", context_window: 8192, quality: 5}]}]}' \
                >"$models/it-backends.json" || return 1
        chmod 0644 "$models/it-backends.json"
        cp "$WF_ENV" "$WF_DIR/env.saved"
        echo "LLM_BACKENDS_FILE=/models/it-backends.json" >>"$WF_ENV"
        wf_restart_llm
}
check "workflow: the llm gets OpenAI- and Ollama-protocol fake backends inside the pod" t_wf_backend

t_wf_run() {
        local req out
        convert -size 1100x160 xc:white -font DejaVu-Sans -pointsize 56 -fill black \
                -annotate +30+100 'Great service, thank you' "$WF_DIR/receipt.png" || return 1
        req=$(jq -n --arg img "$(base64 -w0 "$WF_DIR/receipt.png")" '{steps: [
          {id: "ocr", service: "vision", task: "extract_text",
           input: {image_base64: $img, options: {languages: "eng"}}},
          {id: "lang", service: "nlp", task: "analyze", depends_on: ["ocr"],
           input: {text: {"$ref": "ocr#/results/text"}}},
          {id: "sentiment", service: "nlp", task: "sentiment", depends_on: ["ocr"],
           input: {text: {"$ref": "ocr#/results/text"}}},
          {id: "summary", service: "llm", task: "completion", depends_on: ["lang", "sentiment"],
           on_error: "continue",
           input: {prompt: {"$ref": "ocr#/results/text"}, max_tokens: 200}}]}')
        out=$(curl -s -m 120 -H 'Content-Type: application/json' -d "$req" "$URL/workflows") || return 1
        jq -c '{status, steps: (.result.steps | map_values(.status)),
                text: .result.steps.ocr.output.results.text,
                language: .result.steps.lang.output.language_detected,
                compound: .result.steps.sentiment.output.results.compound,
                summary: .result.steps.summary.output.text}' <<<"$out" | tee "$WF_DIR/result.json"
        jq -e '.status == "completed" and ([.result.steps[].status] | all(. == "completed"))' \
                <<<"$out" >/dev/null || return 1
        expect_match ocr 'Great service' "$(jq -r .result.steps.ocr.output.results.text <<<"$out")" &&
                expect_eq language en "$(jq -r .result.steps.lang.output.language_detected <<<"$out")" &&
                jq -e '.result.steps.sentiment.output.results.compound > 0.5' <<<"$out" >/dev/null &&
                expect_match summary '^echo: Great service' "$(jq -r .result.steps.summary.output.text <<<"$out")"
}
check "workflow: image → OCR (vision) → language and sentiment (nlp) → summary (llm), every step completed" t_wf_run

t_wf_hybrid() {
        local out
        out=$(curl -s -m 30 -H 'Content-Type: application/json' -d '{"prompt": "two at once",
                "hybrid": {"mode": "both", "models": ["echo-openai", "echo-ollama"]}}' \
                "$URL/ai/llm/completion") || return 1
        jq -c '{status, backends: [.hybrid.answers[] | {backend, status, text}]}' <<<"$out"
        jq -e '.status == "completed" and (.hybrid.answers | length == 2) and
               ([.hybrid.answers[] | select(.status == "ok" and .text == "echo: two at once")] | length == 2) and
               ([.hybrid.answers[].backend] | sort == ["fake-ollama", "fake-openai"])' <<<"$out" >/dev/null || return 1
        out=$(curl -s -m 30 -H 'Content-Type: application/json' -d '{"prompt": "first wins",
                "hybrid": {"mode": "first", "models": ["echo-openai", "echo-ollama"]}}' \
                "$URL/ai/llm/completion") || return 1
        jq -c '{status, winner: .hybrid.winner, selection_reason}' <<<"$out"
        jq -e '.status == "completed" and (.hybrid.winner | IN("fake-openai", "fake-ollama")) and
               (.selection_reason | startswith("hybrid first"))' <<<"$out" >/dev/null
}
check "llm hybrid mode through the orchestrator: both answers, then the first of two backends" t_wf_hybrid

t_wf_restore() {
        local models
        [ -n "$WF_FAKE_PID" ] && kill "$WF_FAKE_PID" 2>/dev/null
        models=$(pm volume inspect ai-semble-models --format '{{.Mountpoint}}') && rm -f "$models/it-backends.json"
        if [ -f "$WF_DIR/env.saved" ]; then
                cp "$WF_DIR/env.saved" "$WF_ENV" || return 1
        fi
        rm -rf "$WF_DIR"
        wf_restart_llm
}
check "workflow: the llm back to its configuration (no backend)" t_wf_restore
