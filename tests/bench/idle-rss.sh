#!/usr/bin/env bash
# Idle memory of the five binaries run on the host (no pod, no podman): each gets the
# environment the pod gives it (configs/ai-semble.env, its Containerfile's ENV lines),
# listens on BASE_PORT..BASE_PORT+4, the orchestrator is asked /health/ready once (as
# deploy.sh does), then after IDLE seconds each process's RSS is read from
# /proc/PID/smaps_rollup and split by where it lives:
#   anon-heap   anonymous read-write mappings that are not thread stacks (malloc arenas,
#               brk heap, library-allocated buffers)
#   stacks      thread stacks (anonymous mappings glibc gives a thread: 8 MiB + guard page)
#   lib-data    private dirty pages of mapped files (relocations, .data/.bss of libraries)
#   file-clean  clean file pages (code, read-only data; shared with other processes)
# Usage: tests/bench/idle-rss.sh [--detail] [service...]
# Environment: AI_SEMBLE_BUILD (build dir), BASE_PORT (19381), IDLE (5 s), EXTRA_ENV
# ("NAME=VALUE ..." given to every service, e.g. EXTRA_ENV=HTTP_THREADS=4).
# The figures are host-measured: inside the pod the libraries come from the image (the same
# Debian files) and libvips finds no modules, which VIPSHOME=/nonexistent mirrors here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"

detail=0
if [ "${1:-}" = --detail ]; then
        detail=1
        shift
fi
services=${*:-$AI_SEMBLE_SERVICES}
base=${BASE_PORT:-19381}
idle=${IDLE:-5}
tmp=$(mktemp -d)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
        rm -rf "$tmp"
}
trap cleanup EXIT

port_of() { # service
        case "$1" in
        orchestrator) echo "$base" ;;
        llm) echo $((base + 1)) ;;
        vision) echo $((base + 2)) ;;
        nlp) echo $((base + 3)) ;;
        data) echo $((base + 4)) ;;
        esac
}

# The pod's environment, with the addresses moved to our ports.
envfile=$tmp/env
sed 's/#.*//; /^[[:space:]]*$/d' "$AI_SEMBLE_ROOT/configs/ai-semble.env" >"$envfile"
{
        echo "ORCHESTRATOR_LISTEN=127.0.0.1:$(port_of orchestrator)"
        for s in llm vision nlp data; do
                up=$(echo "$s" | tr '[:lower:]' '[:upper:]')
                echo "${up}_LISTEN=127.0.0.1:$(port_of "$s")"
        done
        echo "LLM_SERVICE_URL=http://127.0.0.1:$(port_of llm)"
        echo "VISION_SERVICE_URL=http://127.0.0.1:$(port_of vision)"
        echo "NLP_SERVICE_URL=http://127.0.0.1:$(port_of nlp)"
        echo "DATA_PROCESSOR_URL=http://127.0.0.1:$(port_of data)"
        # The pod's secrets (ai-semble.env points at /run/secrets): files of our own here.
        for name in jwt webhook; do
                (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$tmp/$name")
        done
        echo "ORCH_JWT_SECRET_FILE=$tmp/jwt"
        echo "ORCH_WEBHOOK_SECRET_FILE=$tmp/webhook"
        echo "ORCH_DB_PATH=$tmp/data/orchestrator.db"
        echo "DATA_DIR=$tmp/data/datasets"
        echo "DATA_PLOT_DIR=$tmp/data/plots"
        # Files the images carry under containers/<svc>/data/ (copied to / there).
        echo "NLP_TEXTCAT_CONF=$AI_SEMBLE_ROOT/containers/nlp/data/usr/share/ai-semble/nlp/fpdb.conf"
        echo "NLP_VADER_LEXICON=$AI_SEMBLE_ROOT/containers/nlp/data/usr/share/ai-semble/nlp/vader_lexicon.txt"
        echo "FONTCONFIG_FILE=$AI_SEMBLE_ROOT/containers/data/data/etc/fonts/fonts.conf"
        # The images have no libvips modules and no /usr/lib/ssl/openssl.cnf.
        echo "VIPSHOME=/nonexistent"
        echo "OPENSSL_CONF=/nonexistent"
} >>"$envfile"
mkdir -p "$tmp/data"

for s in $services; do
        bin="$AI_SEMBLE_BUILD/services/$s/ai-semble-$s"
        [ -x "$bin" ] || die "$bin is missing: build first"
        mapfile -t vars < <(cat "$envfile"; sed -n 's/^ENV //p' "$AI_SEMBLE_ROOT/containers/$s/Containerfile")
        read -ra extra <<<"${EXTRA_ENV:-}"
        env -i PATH=/usr/bin:/bin "${vars[@]}" "${extra[@]}" "$bin" >"$tmp/$s.log" 2>&1 &
        pids+=("$!")
        eval "pid_$s=$!"
done

# Ready: every service answers /health/ready, the orchestrator last (it probes the others).
order=$(for s in $services; do [ "$s" = orchestrator ] || echo "$s"; done)
case " $services " in *" orchestrator "*) order="$order orchestrator" ;; esac
for s in $order; do
        for _ in $(seq 100); do
                curl -sf -o /dev/null "http://127.0.0.1:$(port_of "$s")/health/ready" && continue 2
                sleep 0.1
        done
        curl -s "http://127.0.0.1:$(port_of "$s")/health/ready" >&2 || tail -5 "$tmp/$s.log" >&2
        die "$s did not become ready"
done
sleep "$idle"

echo "uptime:$(uptime)"
echo "| service | RSS (MB) | anon-heap | stacks (threads) | lib-data | file-clean |"
echo "|---|---|---|---|---|---|"
for s in $services; do
        eval "pid=\$pid_$s"
        # shellcheck disable=SC2154 # set by eval
        threads=$(find "/proc/$pid/task" -mindepth 1 -maxdepth 1 | wc -l)
        # Thread stacks: glibc maps each as one anonymous rw region directly above a
        # 4 KiB ---p guard page; the main thread's is [stack]. (A malloc arena follows
        # the previous arena's ---p reserve, which is far larger than a page.)
        awk -v s="$s" -v threads="$threads" '
        function flush() {
                if (name == "") return
                if (name ~ /^\//) { libdata += pd; fileclean += rss - pd }
                else if (name == "[stack]" || (perms ~ /^rw/ && after_guard)) stacks += rss
                else anon += rss
        }
        /^[0-9a-f]+-[0-9a-f]+ / {
                flush()
                split($1, a, "-")
                after_guard = (prev_perms == "---p" && prev_end == a[1] && size == 4)
                prev_perms = $2; prev_end = a[2]
                perms = $2; name = ($6 == "" ? "anon" : $6); rss = 0; pd = 0; size = 0
                next
        }
        /^Size:/ { size = $2 }
        /^Rss:/ { rss = $2; total += $2 }
        /^Private_Dirty:/ { pd = $2 }
        END {
                flush()
                printf "| %s | %.1f | %.1f | %.1f (%d) | %.1f | %.1f |\n", s, total / 1024, anon / 1024,
                        stacks / 1024, threads, libdata / 1024, fileclean / 1024
        }' "/proc/$pid/smaps"
done

[ "$detail" = 1 ] || exit 0
for s in $services; do
        eval "pid=\$pid_$s"
        echo
        echo "## $s (pid $pid): smaps_rollup"
        grep -E '^(Rss|Pss|Shared_Clean|Private_Clean|Private_Dirty|Anonymous):' "/proc/$pid/smaps_rollup"
        echo "## $s: RSS and private dirty by file (KiB, top 25)"
        awk '
        /^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "[anon]" : $6); next }
        /^Rss:/ { rss[name] += $2 }
        /^Private_Dirty:/ { pd[name] += $2 }
        END { for (n in rss) if (rss[n] > 0) printf "%7d %7d %s\n", rss[n], pd[n], n }' "/proc/$pid/smaps" |
                sort -rn | head -25
done
