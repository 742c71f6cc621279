# shellcheck shell=bash
# lib-service.sh — one service binary on the host for the HTTP benchmarks (http-server.sh,
# slow-clients.sh): whichever service it is listens on 127.0.0.1:PORT, keeps its state in
# a temporary directory and logs to a file there; stopped and cleaned up on exit. The
# orchestrator runs with ORCH_AUTH=off: these measure the HTTP server, not tokens.

bench_tmp=$(mktemp -d)
bench_pid=
bench_cleanup() {
        if [ -n "$bench_pid" ]; then
                kill "$bench_pid" 2>/dev/null || true
                wait "$bench_pid" 2>/dev/null || true
        fi
        rm -rf "$bench_tmp"
}
trap bench_cleanup EXIT

# bench_start BINARY PORT [NAME=VALUE...]: starts it, waits until GET /health/live answers.
bench_start() {
        local bin=$1 port=$2
        shift 2
        [ -x "$bin" ] || die "no service binary at $bin (set AI_SEMBLE_BUILD or BIN)"
        env -i PATH="$PATH" ORCHESTRATOR_LISTEN="127.0.0.1:$port" LLM_LISTEN="127.0.0.1:$port" \
                VISION_LISTEN="127.0.0.1:$port" NLP_LISTEN="127.0.0.1:$port" DATA_LISTEN="127.0.0.1:$port" \
                ORCH_DB_PATH="$bench_tmp/orch.db" ORCH_AUTH=off DATA_DIR="$bench_tmp" "$@" "$bin" 2>"$bench_tmp/log" &
        bench_pid=$!
        for _ in $(seq 100); do
                curl -sf -o /dev/null "http://127.0.0.1:$port/health/live" && return 0
                sleep 0.05
        done
        die "$bin did not answer on 127.0.0.1:$port (log: $(tail -3 "$bench_tmp/log"))"
}
