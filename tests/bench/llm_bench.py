#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Benchmark of the llm gateway against the fake backend (driven by tests/bench/llm.sh).

  latency: the same OpenAI streaming request sent N times straight to the fake and N times
           through the gateway, one of each in turn so that both see the same load
           (/v1/chat/completions, non-streaming to the client: the gateway always streams
           upstream and answers once complete); p50/p99 of each and the difference = the
           gateway's added latency. Then the same with two tools in the request, answered
           with text (echo-a) and with a tool call (tool-a).
  ttft:    streaming through the gateway vs direct, time to the first content chunk.
  rss:     the gateway's peak RSS while 256 streams (5 s each) are open at once.
Usage: llm_bench.py GATEWAY_PORT FAKE_PORT SERVICE_PID [N]
"""
import http.client
import json
import socket
import sys
import threading
import time


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


BODY_UP = json.dumps({"model": "echo-a", "stream": True, "stream_options": {"include_usage": True},
                      "max_tokens": 16, "messages": [{"role": "user", "content": "bench one two three"}]})
BODY_GW = json.dumps({"model": "echo-a", "max_tokens": 16,
                      "messages": [{"role": "user", "content": "bench one two three"}]})
BODY_GW_STREAM = json.dumps({"model": "echo-a", "stream": True, "max_tokens": 16,
                             "messages": [{"role": "user", "content": "bench one two three"}]})
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "The current weather at a place",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "a city"},
                                                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                   "required": ["city"]}}},
         {"type": "function", "function": {
             "name": "get_time", "description": "The local time at a place",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def with_tools(body, model):
    b = json.loads(body)
    b["tools"] = TOOLS
    b["model"] = model
    return json.dumps(b).encode()


BODY_UP, BODY_GW, BODY_GW_STREAM = (b.encode() for b in (BODY_UP, BODY_GW, BODY_GW_STREAM))


def timed(conn, path, body, first_marker=None):
    """Seconds to the whole response, and to the first line containing first_marker."""
    t0 = time.perf_counter()
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    first = None
    if first_marker:
        while True:
            line = r.readline()  # decoded from the chunked framing
            if not line:
                break
            if first is None and first_marker in line:
                first = time.perf_counter() - t0
                break
    r.read()
    total = time.perf_counter() - t0
    if r.status != 200:
        raise RuntimeError(f"{path}: HTTP {r.status}")
    return total, first


def paired(fake, gw, body_up, body_gw, n, marker_up=None, marker_gw=None):
    """The same request n times straight to the fake and through the gateway, one of each in
    turn, so that the two series see the same load on the shared cores. Returns the four
    lists: whole answers direct and through, first tokens direct and through."""
    conns = []
    for port in (fake, gw):
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.connect()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conns.append(c)
    plan = ((conns[0], body_up, marker_up), (conns[1], body_gw, marker_gw))
    for _ in range(50):  # warm-up: connections, pools, caches
        for c, body, marker in plan:
            timed(c, "/v1/chat/completions", body, marker)
    out = ([], [], [], [])
    for _ in range(n):
        for i, (c, body, marker) in enumerate(plan):
            t, f = timed(c, "/v1/chat/completions", body, marker)
            out[i].append(t)
            if f is not None:
                out[2 + i].append(f)
    for c in conns:
        c.close()
    return out


def table(title, direct, through):
    print()
    print(f"## {title} (ms)")
    print("| path | p50 | p99 |")
    print("|---|---|---|")
    print(f"| fake backend direct | {pct(direct, 50) * 1e3:.3f} | {pct(direct, 99) * 1e3:.3f} |")
    print(f"| through the gateway | {pct(through, 50) * 1e3:.3f} | {pct(through, 99) * 1e3:.3f} |")
    print(f"| added | {(pct(through, 50) - pct(direct, 50)) * 1e3:.3f} | "
          f"{(pct(through, 99) - pct(direct, 99)) * 1e3:.3f} |")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def streams(port, pid, n=256):
    idle = rss_kb(pid)
    peak = [idle]
    done = threading.Event()
    opened = [0]
    lock = threading.Lock()

    def sampler():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.02)

    body = json.dumps({"model": "long-drip", "stream": True, "messages": [{"role": "user", "content": "x"}]})
    ok = [0]

    def one():
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                   f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
        buf = b""
        first = True
        while True:
            d = s.recv(65536)
            if not d:
                break
            if first and b"drip0" in buf + d:
                first = False
                with lock:
                    opened[0] += 1
            buf = (buf + d)[-64:]
        s.close()
        if b"[DONE]" in buf:
            with lock:
                ok[0] += 1

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    ts = [threading.Thread(target=one) for _ in range(n)]
    for t in ts:
        t.start()
    max_open = 0
    while any(t.is_alive() for t in ts):
        with lock:
            max_open = max(max_open, opened[0] - 0)
        time.sleep(0.05)
    done.set()
    th.join()
    return idle, peak[0], ok[0], max_open


def main():
    gw, fake, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    d, g, _, _ = paired(fake, gw, BODY_UP, BODY_GW, n)
    table(f"Added latency, non-streaming answer, {n} requests each way, in turn", d, g)
    for model, what in (("echo-a", "tools in the request, a text answer"), ("tool-a", "a tool call answered")):
        d, g, _, _ = paired(fake, gw, with_tools(BODY_UP, model), with_tools(BODY_GW, model), n)
        table(f"Added latency with {what}, {n} requests each way, in turn", d, g)
    _, _, d, g = paired(fake, gw, BODY_UP, BODY_GW_STREAM, n, b'"content": "echo:', b'"content":"echo:')
    table(f"Added time to first token, streaming, {n} requests each way, in turn", d, g)

    idle, peak, ok, max_open = streams(gw, pid)
    print()
    print("## RSS with 256 concurrent streams (HTTP_THREADS=256, 5 s streams)")
    print("| idle RSS (MB) | peak RSS (MB) | streams completed | streams open at once |")
    print("|---|---|---|---|")
    print(f"| {idle / 1024:.1f} | {peak / 1024:.1f} | {ok}/256 | {max_open} |")


if __name__ == "__main__":
    main()
