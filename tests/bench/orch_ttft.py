#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Time to first token the orchestrator adds on /v1 (driven by tests/bench/orch-ttft.sh).

The same streamed /v1/chat/completions request N times straight to the llm service and N
times through the orchestrator (with its bearer token), one of each in turn so that both
series see the same load; each on its own kept-alive connection. Times the first content
chunk (the first line carrying the echo model's text) and the whole answer; prints p50 and
p99 of each series and of the difference.
Usage: orch_ttft.py LLM_PORT ORCH_PORT TOKEN [N]
"""
import http.client
import json
import sys
import time

BODY = json.dumps({"model": "echo-a", "stream": True, "max_tokens": 16,
                   "messages": [{"role": "user", "content": "bench one two three"}]}).encode()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def timed(conn, headers):
    t0 = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body=BODY, headers=headers)
    r = conn.getresponse()
    first = None
    while True:
        line = r.readline()
        if not line:
            break
        if first is None and b"echo" in line:
            first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    if r.status != 200 or first is None:
        raise RuntimeError(f"HTTP {r.status}, first token {first}")
    return first, total


def main():
    llm, orch, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    direct = http.client.HTTPConnection("127.0.0.1", llm, timeout=30)
    via = http.client.HTTPConnection("127.0.0.1", orch, timeout=30)
    h_direct = {"Content-Type": "application/json"}
    h_via = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
    for _ in range(50):  # warm: connections, pools, the job database's pages
        timed(direct, h_direct)
        timed(via, h_via)
    d_first, v_first, d_total, v_total = [], [], [], []
    for _ in range(n):
        f, t = timed(direct, h_direct)
        d_first.append(f)
        d_total.append(t)
        f, t = timed(via, h_via)
        v_first.append(f)
        v_total.append(t)
    ms = 1000.0
    print(f"| series ({n} requests each) | p50 (ms) | p99 (ms) |")
    print("|---|---|---|")
    for name, xs in (("first token, llm direct", d_first), ("first token, through the orchestrator", v_first),
                     ("whole answer, llm direct", d_total), ("whole answer, through the orchestrator", v_total)):
        print(f"| {name} | {pct(xs, 50) * ms:.3f} | {pct(xs, 99) * ms:.3f} |")
    print(f"| **first token added by the orchestrator** | **{(pct(v_first, 50) - pct(d_first, 50)) * ms:.3f}** | "
          f"{(pct(v_first, 99) - pct(d_first, 99)) * ms:.3f} |")
    print(f"| whole answer added | {(pct(v_total, 50) - pct(d_total, 50)) * ms:.3f} | "
          f"{(pct(v_total, 99) - pct(d_total, 99)) * ms:.3f} |")


if __name__ == "__main__":
    main()
