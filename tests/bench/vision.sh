#!/usr/bin/env bash
# Vision benchmarks, run on the host against the built binary (no pod needed):
#   - analyze throughput on 1080p JPEGs (images/s, 2 concurrent clients) beside
#     ImageMagick's `identify -verbose` on the same files, 2 at a time;
#   - peak RSS of the service for a 24 MP JPEG (analyze, thumbnail) beside identify;
#   - OCR time per A4 page at 300 dpi beside the tesseract CLI on the same file.
# Usage: tests/bench/vision.sh [build-dir]   (default /tmp/build-vision; port VISION_BENCH_PORT
# or 19382). Prints Markdown tables; every figure is the median of its runs.
set -euo pipefail

build=${1:-/tmp/build-vision}
bin=$build/services/vision/ai-semble-vision
port=${VISION_BENCH_PORT:-19382}
url=http://127.0.0.1:$port/analyze
n_images=${VISION_BENCH_IMAGES:-12}
rounds=${VISION_BENCH_ROUNDS:-5}
[ -x "$bin" ] || { echo "build $bin first" >&2; exit 1; }
for t in convert identify tesseract curl jq /usr/bin/time; do
        command -v "$t" >/dev/null || { echo "$t is missing (scripts/packages/vision.txt)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/vision-bench.XXXXXX)
pid=
cleanup() {
        [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
now() { date +%s.%N; }

start_service() {
        [ -n "$pid" ] && { kill "$pid"; wait "$pid" 2>/dev/null || true; }
        VISION_LISTEN=127.0.0.1:$port HTTP_MAX_BODY=64M VISION_MAX_IMAGE_BYTES=40M LOG_LEVEL=warning \
                "$bin" 2>>"$work/service.log" &
        pid=$!
        for _ in $(seq 50); do
                curl -sf "http://127.0.0.1:$port/health/live" >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        echo "service did not start" >&2
        exit 1
}

body_for() { # task file out
        printf '{"task":"%s","image_base64":"%s"}' "$1" "$(base64 -w0 "$2")" >"$3"
}
post() { # body-file → writes the response to stdout, fails unless 200
        curl -sf -H 'Content-Type: application/json' --data-binary @"$1" "$url"
}

echo "Generating $n_images 1080p JPEGs, a 24 MP JPEG and an A4 text page..." >&2
for i in $(seq "$n_images"); do
        convert -seed "$i" -size 1920x1080 plasma:fractal -quality 90 "$work/p$i.jpg"
        body_for analyze "$work/p$i.jpg" "$work/p$i.json"
done
convert -seed 99 -size 1500x1000 plasma:fractal -resize 6000x4000! -quality 90 "$work/big.jpg"
body_for analyze "$work/big.jpg" "$work/big-analyze.json"
printf '{"task":"thumbnail","image_base64":"%s","options":{"width":512,"height":512}}' \
        "$(base64 -w0 "$work/big.jpg")" >"$work/big-thumb.json"
# A4 at 300 dpi, 12 pt DejaVu Sans, 40 lines of prose.
{
        for i in $(seq 40); do
                echo "Line $i: the vision service reads this page with Tesseract through its C API."
        done
} >"$work/page.txt"
convert -size 2480x3508 xc:white -font DejaVu-Sans -pointsize 36 -fill black \
        -annotate +150+200 "$(cat "$work/page.txt")" -depth 8 "$work/page.png"
body_for extract_text "$work/page.png" "$work/page.json"

start_service
post "$work/p1.json" >/dev/null # warm-up

echo "## analyze throughput, 1080p JPEGs ($n_images files × $rounds rounds, 2 clients, $(nproc) CPUs)"
echo
rates=()
for _ in $(seq "$rounds"); do
        t0=$(now)
        seq "$n_images" | xargs -P 2 -I{} sh -c "curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @$work/p{}.json $url"
        t1=$(now)
        rates+=("$(awk -v n="$n_images" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", n / (b - a) }')")
done
svc_rate=$(printf '%s\n' "${rates[@]}" | median)
rates=()
for _ in $(seq "$rounds"); do
        t0=$(now)
        seq "$n_images" | xargs -P 2 -I{} sh -c "identify -verbose $work/p{}.jpg >/dev/null"
        t1=$(now)
        rates+=("$(awk -v n="$n_images" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", n / (b - a) }')")
done
im_rate=$(printf '%s\n' "${rates[@]}" | median)
echo "| tool | images/s (median of $rounds) |"
echo "|---|---|"
echo "| ai-semble-vision POST /analyze (base64 over HTTP, all measures) | $svc_rate |"
echo "| identify -verbose (ImageMagick, same files) | $im_rate |"

echo
echo "## Peak RSS, 24 MP JPEG (6000×4000)"
echo
start_service
idle=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
post "$work/big-analyze.json" >/dev/null
after_analyze=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
post "$work/big-thumb.json" >/dev/null
after_thumb=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
im_kb=$( { /usr/bin/time -f '%M' identify -verbose "$work/big.jpg" >/dev/null; } 2>&1 | tail -1)
echo "| process | peak RSS (MB) |"
echo "|---|---|"
awk -v k="$idle" 'BEGIN { printf "| service idle (after start) | %.1f |\n", k / 1024 }'
awk -v k="$after_analyze" 'BEGIN { printf "| service after analyze of the 24 MP JPEG | %.1f |\n", k / 1024 }'
awk -v k="$after_thumb" 'BEGIN { printf "| service after a 512 px thumbnail of it too | %.1f |\n", k / 1024 }'
awk -v k="$im_kb" 'BEGIN { printf "| identify -verbose on the same file | %.1f |\n", k / 1024 }'

echo
echo "## OCR, one A4 page at 300 dpi (40 lines, DejaVu Sans 36 px), $rounds runs"
echo
start_service
post "$work/page.json" | jq -r '.results.word_count | "words read: \(.)"' >&2 # loads eng
svc=()
for _ in $(seq "$rounds"); do
        svc+=("$(post "$work/page.json" | jq -r .processing_time)")
done
cli=()
for _ in $(seq "$rounds"); do
        t0=$(now)
        OMP_THREAD_LIMIT=1 tesseract "$work/page.png" - -l eng >/dev/null 2>&1
        t1=$(now)
        cli+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
done
echo "| tool | seconds per page (median of $rounds) |"
echo "|---|---|"
echo "| ai-semble-vision extract_text (model already loaded, processing_time) | $(printf '%s\n' "${svc[@]}" | median) |"
echo "| tesseract CLI (loads the model each run, OMP_THREAD_LIMIT=1) | $(printf '%s\n' "${cli[@]}" | median) |"
ocr_rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
awk -v k="$ocr_rss" 'BEGIN { printf "\nservice peak RSS after OCR of the page: %.1f MB\n", k / 1024 }'
