#!/usr/bin/env bash
# NLP benchmarks, on the host (no pod needed):
#   1. VADER sentiment throughput on tweet-length English texts, one thread (= per core);
#   2. Japanese tokenization MB/s through the service's MeCab path vs the mecab command
#      on the same file (median of N runs each);
#   3. the service's RSS after start and after a burst of mixed requests.
# Usage: tests/bench/nlp.sh [build-dir] [port]   (defaults /tmp/build-nlp, 19283)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-/tmp/build-nlp}
port=${2:-19283}
runs=5
lexicon=$root/containers/nlp/data/usr/share/ai-semble/nlp/vader_lexicon.txt
rc=/etc/mecabrc
dicdir=/var/lib/mecab/dic/ipadic-utf8
bench=$build/services/nlp/bench-nlp
[ -x "$bench" ] || { echo "build first: ninja -C $build" >&2; exit 1; }
work=$(mktemp -d)
pid=
cleanup() {
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# Tweet-length texts: each labelled sentence joined with the next one (about 100 bytes).
grep -v '^#' "$root/tests/data/nlp/sentiment-en.tsv" | cut -f2 >"$work/s.txt"
paste -d' ' "$work/s.txt" <(tail -n +2 "$work/s.txt"; head -1 "$work/s.txt") >"$work/tweets.txt"

echo "## Sentiment (VADER), one thread"
vals=()
for _ in 1 2 3; do
        vals+=("$("$bench" sentiment "$lexicon" "$work/tweets.txt" 2 | awk '/docs_per_s/ { print $2 }')")
done
mean=$("$bench" sentiment "$lexicon" "$work/tweets.txt" 0.2 | awk '/mean_doc_bytes/ { print $2 }')
printf '| texts | mean bytes | docs/s per core (median of 3 × 2 s) |\n|---|---|---|\n'
printf '| %s | %s | %s |\n' "$(wc -l <"$work/tweets.txt")" "$mean" "$(printf '%s\n' "${vals[@]}" | median)"

echo
echo "## Japanese tokenization"
if command -v mecab >/dev/null && [ -f "$dicdir/sys.dic" ]; then
        for _ in $(seq 1 2500); do cat "$root/tests/data/nlp/ja-tokenize.txt"; done >"$work/ja.txt"
        bytes=$(stat -c %s "$work/ja.txt")
        ours=$("$bench" tokenize-ja "$rc" "$dicdir" "$work/ja.txt" "$runs" | awk '/mb_per_s/ { print $2 }')
        theirs=$(for _ in $(seq 1 "$runs"); do
                t0=$(date +%s.%N)
                mecab -r "$rc" -d "$dicdir" "$work/ja.txt" >/dev/null
                t1=$(date +%s.%N)
                awk -v n="$bytes" -v a="$t0" -v c="$t1" 'BEGIN { print n / 1e6 / (c - a) }'
        done | median)
        printf '| input | service path MB/s (median of %s) | mecab command MB/s (median of %s) |\n|---|---|---|\n' "$runs" "$runs"
        printf '| %.1f MB (ja-tokenize.txt × 2500) | %s | %.2f |\n' "$(awk -v n="$bytes" 'BEGIN { print n / 1e6 }')" "$ours" "$theirs"
else
        echo "skipped: no mecab command or $dicdir"
fi

echo
echo "## RSS of ai-semble-nlp"
NLP_LISTEN=127.0.0.1:$port NLP_VADER_LEXICON=$lexicon NLP_TEXTCAT_CONF=${lexicon%/*}/fpdb.conf "$build/services/nlp/ai-semble-nlp" 2>"$work/log" &
pid=$!
for _ in $(seq 1 50); do
        curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
        sleep 0.1
done
rss() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }
idle=$(rss)
post() { curl -sf -XPOST "http://127.0.0.1:$port/process" -H 'Content-Type: application/json' -d "$1" >/dev/null; }
for _ in $(seq 1 50); do
        post '{"text":"The food was absolutely GREAT, but the service was slow!!","task":"analyze"}'
        post '{"text":"東京都の山田太郎さんは2024年1月5日にトヨタ自動車を訪問しました。","task":"analyze"}'
done
printf '| state | RSS (MB) |\n|---|---|\n| ready, idle | %s |\n| after 100 analyze requests (en + ja) | %s |\n' "$idle" "$(rss)"
