# shellcheck shell=bash
# service-vision.sh — the vision service inside the running pod (sourced by run.sh,
# which provides check, expect_eq, in_pod_net, URL). Images are made here, so answers
# are known: a solid colour PNG, a QR code (qrencode), text in DejaVu Sans (ImageMagick),
# and hostile inputs. They go straight to vision on 127.0.0.1:8082 in the pod's network.

VISION_IT_DIR=$(mktemp -d /tmp/ai-semble-it-vision.XXXXXX)

# vision_post TASK FILE [OPTIONS_JSON] → the response body; the status goes to $VISION_IT_DIR/status
vision_post() {
        local task=$1 file=$2 opts=${3:-'{}'} body=$VISION_IT_DIR/body.json
        printf '{"task":"%s","image_base64":"%s","options":%s}' "$task" "$(base64 -w0 "$file")" "$opts" >"$body"
        in_pod_net curl -s -o "$VISION_IT_DIR/out.json" -w '%{http_code}' -H 'Content-Type: application/json' \
                --data-binary @"$body" http://127.0.0.1:8082/analyze >"$VISION_IT_DIR/status"
        cat "$VISION_IT_DIR/out.json"
}
vision_status() { cat "$VISION_IT_DIR/status"; }

t_vision_analyze() {
        local out
        convert -size 320x200 'xc:#1e90ff' "$VISION_IT_DIR/blue.png" || return 1
        out=$(vision_post analyze "$VISION_IT_DIR/blue.png") || return 1
        expect_eq status 200 "$(vision_status)" &&
                expect_eq width 320 "$(jq -r .results.width <<<"$out")" &&
                expect_eq height 200 "$(jq -r .results.height <<<"$out")" &&
                expect_eq dominant '#1e90ff' "$(jq -r '.results.dominant_colors[0].hex' <<<"$out")" &&
                expect_eq analysis_type analyze "$(jq -r .analysis_type <<<"$out")"
}
check "vision: analyze gives a synthetic image's size and dominant colour" t_vision_analyze

t_vision_qr() {
        local out
        qrencode -s 6 -o "$VISION_IT_DIR/qr.png" 'ai-semble pod QR' || return 1
        out=$(vision_post detect_barcodes "$VISION_IT_DIR/qr.png") || return 1
        expect_eq status 200 "$(vision_status)" &&
                expect_eq data 'ai-semble pod QR' "$(jq -r '.results.barcodes[0].data' <<<"$out")" &&
                expect_eq type QR-Code "$(jq -r '.results.barcodes[0].type' <<<"$out")"
}
check "vision: a qrencode QR code decodes to its payload" t_vision_qr

t_vision_ocr() {
        local out
        convert -size 900x200 xc:white -font DejaVu-Sans -pointsize 56 -fill black \
                -annotate +30+120 'Podman Vision 8082' "$VISION_IT_DIR/text.png" || return 1
        out=$(vision_post extract_text "$VISION_IT_DIR/text.png" '{"languages":"eng"}') || return 1
        expect_eq status 200 "$(vision_status)" &&
                expect_match text 'Podman Vision 8082' "$(jq -r .results.text <<<"$out")"
}
check "vision: OCR reads DejaVu text back with the image's eng model" t_vision_ocr

t_vision_hostile() {
        printf 'not an image at all' >"$VISION_IT_DIR/junk.bin"
        vision_post analyze "$VISION_IT_DIR/junk.bin" >/dev/null
        expect_eq "non-image" 415 "$(vision_status)" || return 1
        python3 - "$VISION_IT_DIR/bomb.png" <<'PY' || return 1
import struct, sys, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
ihdr = struct.pack('>IIBBBBB', 50000, 50000, 1, 0, 0, 0, 0)
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) +
                              chunk(b'IDAT', zlib.compress(b'\0' * 64)) + chunk(b'IEND', b''))
PY
        vision_post analyze "$VISION_IT_DIR/bomb.png" >/dev/null
        expect_eq "50000x50000 PNG" 413 "$(vision_status)" || return 1
        local u
        for u in http://169.254.169.254/latest/meta-data/ http://10.0.0.1/a.png http://127.0.0.1:8080/health; do
                printf '{"task":"analyze","image_url":"%s"}' "$u" >"$VISION_IT_DIR/url.json"
                expect_eq "$u" 422 "$(in_pod_net curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
                        --data-binary @"$VISION_IT_DIR/url.json" http://127.0.0.1:8082/analyze)" || return 1
        done
        vision_post detect_objects "$VISION_IT_DIR/bomb.png" >/dev/null
        expect_eq "detect_objects without a model" 501 "$(vision_status)"
}
check "vision: non-image 415, PNG bomb 413, metadata/private/loopback URLs 422, neural task 501" t_vision_hostile

# The neural tasks as deployed (VISION_LLM_URL unset): 501 naming the setting (the
# backends area sets it and checks the llm's answer).
t_vision_neural() {
        local out
        convert -size 64x48 'xc:#1e90ff' "$VISION_IT_DIR/neural.png" || return 1
        out=$(vision_post classify "$VISION_IT_DIR/neural.png") || return 1
        echo "classify: $(vision_status) $out"
        expect_eq status 501 "$(vision_status)" && jq -e '.detail | contains("VISION_LLM_URL")' <<<"$out" >/dev/null
}
check "vision: classify without VISION_LLM_URL is 501 naming it" t_vision_neural

# Through the published port, as a user would call it: /ai/vision/analyze answers 200
# with the seed's result shape, and the job is stored.
t_vision_door() {
        local body id
        body=$(jq -n --arg b "$(base64 -w0 "$VISION_IT_DIR/blue.png")" '{task: "analyze", image_base64: $b}')
        api_expect 200 POST /ai/vision/analyze "$body" || return 1
        id=$(jq -r .job_id <<<"$API_BODY")
        jq -e '.status == "completed" and .result.analysis_type == "analyze" and .result.results.width == 320 and
                (.result.confidence | type) == "number" and (.result.processing_time | type) == "number"' <<<"$API_BODY" >/dev/null &&
                expect_eq "stored" completed "$(job_field "$id" .status)"
}
check "vision: /ai/vision/analyze through the orchestrator answers 200 and stores the job" t_vision_door

rm -rf "$VISION_IT_DIR"
