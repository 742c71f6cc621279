#!/usr/bin/env bash
# Slow clients against a service binary on the host: N connections that dribble their
# request heads (one byte each every 100 ms, never finishing, as in issue 23), and the
# time a normal client needs meanwhile for GET /health/live (fresh connection each, so
# accept is part of it). Prints the dribblers still connected, the service's RSS before
# and with them, and the normal client's times; exits 1 if a normal request took 1 s or
# more.
# Usage: tests/bench/slow-clients.sh [N]   (default 1000)
# Environment: AI_SEMBLE_BUILD (build dir), BIN (default: the orchestrator), PORT (18180),
# SAMPLES (20), EXTRA_ENV ("NAME=VALUE ..." for the service, e.g. HTTP_THREADS=4).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"

n=${1:-1000}
port=${PORT:-18180}
bin=${BIN:-$AI_SEMBLE_BUILD/services/orchestrator/ai-semble-orchestrator}
command -v python3 >/dev/null || die "python3 is needed"
# Each dribbler is a descriptor here and one in the service.
ulimit -n "$(ulimit -Hn)"
# shellcheck source=lib-service.sh
. "$here/lib-service.sh"
# A deadline longer than the run: the dribblers stay connected throughout.
# shellcheck disable=SC2086 # EXTRA_ENV is a list of assignments
bench_start "$bin" "$port" LOG_LEVEL=warning HTTP_REQUEST_TIMEOUT=60s ${EXTRA_ENV:-}

python3 - "$port" "$n" "${SAMPLES:-20}" "$bench_pid" <<'PY'
import socket, statistics, sys, time

port, n, samples, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def rss_mb():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0

rss_before = rss_mb()

def get():
    """Seconds for one GET on a fresh connection, None if no answer within 5 s."""
    t0 = time.perf_counter()
    data = b""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /health/live HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        s.close()
    except OSError:
        return None
    if not data.startswith(b"HTTP/1.1 200"):
        sys.exit("normal request failed: %r" % data[:80])
    return time.perf_counter() - t0

dribblers = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setblocking(False)
    s.send(b"GET /health/live HTTP/1.1\r\nHost: t\r\nX-Slow: ")
    dribblers.append(s)

times = []
t_next = time.time()
for k in range(samples * 10):
    for s in dribblers:
        try:
            s.send(b"a")
        except OSError:
            pass
    if k % 10 == 5:
        times.append(get())
    t_next += 0.1
    time.sleep(max(0, t_next - time.time()))

rss_during = rss_mb()
alive = 0
for s in dribblers:
    try:
        s.send(b"a")
        alive += 1
    except OSError:
        pass
    s.close()
answered = sorted(t for t in times if t is not None)
print("dribblers: %d opened, %d still connected after %.0f s; service RSS %.1f MB before, %.1f MB with them"
      % (n, alive, samples, rss_before, rss_during))
if answered:
    print("normal GET /health/live with %d dribblers: p50 %.1f ms, max %.1f ms (%d of %d answered within 5 s)"
          % (n, statistics.median(answered) * 1000, answered[-1] * 1000, len(answered), len(times)))
else:
    print("normal GET /health/live with %d dribblers: none of %d answered within 5 s" % (n, len(times)))
sys.exit(0 if len(answered) == len(times) and answered[-1] < 1.0 else 1)
PY
