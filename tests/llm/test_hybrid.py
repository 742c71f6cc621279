#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Hybrid mode of the llm service (two backends at once) against the protocol-faithful
fakes (fake_backend.py) on ephemeral 127.0.0.1 ports: mode both (two answers, one or two
failing), mode first (the loser's connection is closed: the fake observes it), streaming
first, bad input, the LLM_HYBRID policy, metrics of both calls.

Usage: test_hybrid.py /path/to/ai-semble-llm   (meson runs it in the unit suite)
"""
import http.client
import json
import os
import re
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_backend  # noqa: E402
from tap import check, expect, summary  # noqa: E402
from test_gateway import Service, reset, sse_events, stats  # noqa: E402


def wait_cancelled(fake, n=1, limit=4.0):
    deadline = time.time() + limit
    while time.time() < deadline:
        s = stats(fake)
        if s["cancelled"] >= n:
            return s
        time.sleep(0.05)
    return stats(fake)


def metric(raw, pattern):
    m = re.search(pattern.encode(), raw)
    return float(m.group(1)) if m else None


def main():
    srv = fake_backend.start(0)
    fake = srv.server_address[1]
    tmp = tempfile.mkdtemp(prefix="llm-hybrid-")
    key = os.path.join(tmp, "anthropic.key")
    with open(key, "w") as f:
        f.write("sk-ant-test\n")
    base = f"http://127.0.0.1:{fake}"
    cfg = {"backends": [
        {"name": "oai", "kind": "openai", "base_url": base + "/v1", "retries": 0, "allowed_fails": 100,
         "models": [{"name": "echo-a", "quality": 8, "speed": 5, "cost": 10},
                    {"name": "slow-start-a", "auto": False},
                    {"name": "scripted", "auto": False},
                    {"name": "fault-500", "auto": False}]},
        {"name": "oll", "kind": "ollama", "base_url": base, "retries": 0, "allowed_fails": 100,
         "models": [{"name": "echo-o", "quality": 5, "speed": 9, "cost": 0},
                    {"name": "fault-500", "auto": False},
                    {"name": "slow-start-o", "auto": False},
                    {"name": "scripted-o", "auto": False}]},
        {"name": "ant", "kind": "anthropic", "base_url": base, "api_key_file": key,
         "models": [{"name": "echo-c", "quality": 9, "speed": 4, "cost": 0, "auto": False}]},
    ]}
    path = os.path.join(tmp, "backends.json")
    with open(path, "w") as f:
        json.dump(cfg, f)

    svc = Service({"LLM_BACKENDS_FILE": path})

    @check("both: two answers with backend, model, text, usage, latency; usage is their sum; headers")
    def _():
        st, r, js, _ = svc.request("POST", "/completion", {"prompt": "one two", "hybrid": {"mode": "both"}})
        expect(st == 200, f"{st} {js}")
        h = js["hybrid"]
        expect(h["mode"] == "both" and h["winner"] is None and len(h["answers"]) == 2, str(h))
        got = {(a["backend"], a["model"]) for a in h["answers"]}
        expect(got == {("oll", "echo-o"), ("oai", "echo-a")}, f"top two backends of the route: {got}")
        for a in h["answers"]:
            expect(a["status"] == "ok" and a["text"] == "echo: one two" and a["error"] is None, str(a))
            expect(a["usage"]["total_tokens"] > 0 and isinstance(a["latency_ms"], int), str(a))
        expect(js["tokens_used"] == sum(a["usage"]["total_tokens"] for a in h["answers"]), str(js))
        expect(js["text"] == "echo: one two" and js["backend"] == "oll", str(js))
        expect(js["selection_reason"].startswith("hybrid both: echo-o on oll and echo-a on oai"),
               js["selection_reason"])
        expect(r.getheader("X-LLM-Hybrid") == "both" and r.getheader("X-LLM-Hybrid-Backends") == "oll,oai"
               and r.getheader("X-LLM-Backend") == "oll", str(r.getheaders()))

    @check("both on /v1/chat/completions: the two answers are choices 0 and 1 (as with n=2)")
    def _():
        st, r, js, _ = svc.request("POST", "/v1/chat/completions", {
            "model": "auto", "messages": [{"role": "user", "content": "hi you"}],
            "hybrid": {"mode": "both", "models": ["echo-a", "echo-c"]}})
        expect(st == 200 and [c["index"] for c in js["choices"]] == [0, 1], f"{st} {js}")
        expect(all(c["message"]["content"] == "echo: hi you" for c in js["choices"]), str(js))
        expect(js["usage"]["total_tokens"] == sum(a["usage"]["total_tokens"] for a in js["hybrid"]["answers"]),
               str(js))
        expect(js["selection_reason"].startswith("hybrid both:") and r.getheader("X-LLM-Hybrid") == "both",
               str(js))

    @check("both, one backend failing: 200 with the other; the failure is reported with its status")
    def _():
        st, _, js, _ = svc.request("POST", "/completion", {
            "prompt": "x y", "hybrid": {"mode": "both", "models": ["echo-a", "fault-500"]}})
        expect(st == 200 and js["text"] == "echo: x y" and js["backend"] == "oai", f"{st} {js}")
        bad = js["hybrid"]["answers"][1]
        expect(bad["backend"] == "oll" and bad["status"] == "failed" and bad["error"]["status"] == 502
               and "500" in bad["error"]["detail"] and "text" not in bad, str(bad))
        expect("oll failed" in js["selection_reason"], js["selection_reason"])
        st, _, js, _ = svc.request("POST", "/v1/completions", {
            "model": "echo-a", "prompt": "x y", "hybrid": {"mode": "both", "models": ["fault-500", "echo-a"]}})
        expect(st == 200 and len(js["choices"]) == 1 and js["choices"][0]["text"] == "echo: x y", f"{st} {js}")

    @check("both, both failing: the upstream error status (502) naming both backends")
    def _():
        st, r, js, _ = svc.request("POST", "/completion", {
            "prompt": "x", "hybrid": {"mode": "both", "models": ["fault-500", "fault-500"]}})
        expect(st == 502 and "oai (fault-500)" in js["detail"] and "oll (fault-500)" in js["detail"], f"{st} {js}")
        expect(r.getheader("X-LLM-Hybrid") == "both", "hybrid header on the failure")

    @check("first: the faster answer wins at once; the loser's connection is closed (the fake sees it)")
    def _():
        reset(fake)
        # The winner answers after 0.3 s, so the slow leg is surely waiting on its connection
        # (an instant winner could take the one pooled connection and be done before the
        # slow leg has sent anything).
        c = http.client.HTTPConnection("127.0.0.1", fake, timeout=5)
        c.request("POST", "/_script", body=json.dumps({"text": "echo: a b", "sleep": 0.3}))
        c.getresponse().read()
        c.close()
        t0 = time.time()
        st, r, js, _ = svc.request("POST", "/completion", {
            "prompt": "a b", "hybrid": {"mode": "first", "models": ["slow-start-a", "scripted-o"]}})
        took = time.time() - t0
        expect(st == 200 and js["text"] == "echo: a b" and js["backend"] == "oll", f"{st} {js}")
        expect(took < 1.0, f"answered in {took:.2f} s, the slow backend waits 5 s")
        expect(r.getheader("X-LLM-Hybrid") == "first" and r.getheader("X-LLM-Hybrid-Winner") == "oll",
               str(r.getheaders()))
        h = js["hybrid"]
        expect(h["winner"] == "oll" and h["answers"][0]["status"] == "cancelled"
               and h["answers"][0]["error"]["status"] == 499, str(h))
        expect("oll answered first" in js["selection_reason"] and "oai was cancelled" in js["selection_reason"],
               js["selection_reason"])
        s = wait_cancelled(fake)
        expect(s["cancelled"] == 1 and s["calls"].get("slow-start-a") == 1 and s["completed"] == 1, str(s))
        expect(time.time() - t0 < 1.5, f"disconnect seen {time.time() - t0:.2f} s after the request (cancel "
                                        "flag looked at every 50 ms)")

    @check("first: a failing leg does not win; the slower good answer does")
    def _():
        st, _, js, _ = svc.request("POST", "/completion", {
            "prompt": "q", "hybrid": {"mode": "first", "models": ["fault-500", "slow-start-o"]}})
        expect(st == 200 and js["backend"] == "oll" and js["hybrid"]["winner"] == "oll", f"{st} {js}")
        expect(js["hybrid"]["answers"][0]["status"] == "failed", str(js["hybrid"]))

    @check("first + stream (SSE): the first backend to send text is relayed, the other cancelled")
    def _():
        reset(fake)
        # The winner starts after 0.3 s, so the slow leg is surely waiting on its connection.
        c = http.client.HTTPConnection("127.0.0.1", fake, timeout=5)
        c.request("POST", "/_script", body=json.dumps({"text": "echo: s t", "sleep": 0.3}))
        c.getresponse().read()
        c.close()
        st, r, _, raw = svc.request("POST", "/v1/chat/completions", {
            "model": "auto", "stream": True, "messages": [{"role": "user", "content": "s t"}],
            "hybrid": {"mode": "first", "models": ["slow-start-o", "scripted"]}})
        ev = sse_events(raw)
        expect(st == 200 and ev[-1] == "[DONE]", f"{st} {raw[:300]}")
        text = "".join((json.loads(e)["choices"] or [{}])[0].get("delta", {}).get("content", "")
                       for e in ev[:-1])
        expect(text == "echo: s t", text)
        expect(r.getheader("X-LLM-Hybrid-Winner") == "oai" and r.getheader("X-LLM-Backend") == "oai",
               str(r.getheaders()))
        s = wait_cancelled(fake)
        expect(s["cancelled"] == 1 and s["calls"].get("slow-start-o") == 1, str(s))

    @check("first + stream (NDJSON /chat): the end line carries selection_reason and hybrid")
    def _():
        st, _, _, raw = svc.request("POST", "/chat", {
            "stream": True, "messages": [{"role": "user", "content": "n d"}], "hybrid": {"mode": "first"}})
        lines = [json.loads(x) for x in raw.decode().splitlines() if x]
        end = lines[-1]
        expect(st == 200 and end["done"] and end["hybrid"]["mode"] == "first", f"{st} {end}")
        expect(end["selection_reason"].startswith("hybrid first:") and end["hybrid"]["winner"] == end["backend"],
               str(end))

    @check("first, both failing: 502")
    def _():
        st, _, js, _ = svc.request("POST", "/completion", {
            "prompt": "x", "stream": True, "hybrid": {"mode": "first", "models": ["fault-500", "fault-500"]}})
        expect(st == 502 and "neither backend" in js["detail"], f"{st} {js}")

    @check("bad hybrid input: 422 naming the field")
    def _():
        cases = [
            ({"mode": "all"}, "hybrid.mode"),
            ({"models": ["echo-a", "echo-o"]}, "hybrid.mode"),
            ({"mode": "both", "models": ["nope", "echo-o"]}, "hybrid.models[0]"),
            ({"mode": "both", "models": ["echo-a", "slow-start-a"]}, "hybrid.models"),
            ({"mode": "both", "models": ["echo-a"]}, "hybrid.models"),
            ({"mode": "both", "models": ["echo-a", 3]}, "hybrid.models[1]"),
            ({"mode": "both", "extra": 1}, "hybrid.extra"),
            ("both", "hybrid"),
        ]
        for hy, field in cases:
            st, _, js, _ = svc.request("POST", "/completion", {"prompt": "p", "hybrid": hy})
            expect(st == 422 and js["errors"][0]["field"] == field, f"{hy}: {st} {js}")
        st, _, js, _ = svc.request("POST", "/completion", {"prompt": "p", "stream": True,
                                                           "hybrid": {"mode": "both"}})
        expect(st == 422 and js["errors"][0]["field"] == "hybrid.mode", f"stream+both: {st} {js}")
        st, _, js, _ = svc.request("POST", "/completion", {"prompt": "p", "model": "echo-a",
                                                           "hybrid": {"mode": "first"}})
        expect(st == 422 and js["errors"][0]["field"] == "hybrid" and "single backend" in
               js["errors"][0]["message"], f"one-backend route: {st} {js}")

    @check("metrics: both calls counted per attempt and per model; the loser as cancelled; hybrid counter")
    def _():
        _, _, _, m = svc.request("GET", "/metrics")
        expect(metric(m, r'ai_semble_llm_requests_total\{backend="oai",model="slow-start-a",status="cancelled"\} '
                         r'(\d+)') == 1, "loser counted as cancelled")
        expect((metric(m, r'ai_semble_llm_tokens_total\{backend="oai",model="slow-start-a",type="prompt"\} '
                          r'(\d+)') or 0) > 0, "the cancelled call's prompt tokens are counted")
        expect(metric(m, r'ai_semble_llm_requests_total\{backend="oll",model="fault-500",status="http_5xx"\} '
                         r'(\d+)') >= 3, "failing legs counted")
        expect(metric(m, r'ai_semble_llm_hybrid_requests_total\{mode="both",answers="2"\} (\d+)') >= 2, "both/2")
        expect(metric(m, r'ai_semble_llm_hybrid_requests_total\{mode="both",answers="0"\} (\d+)') >= 1, "both/0")
        expect(metric(m, r'ai_semble_llm_hybrid_requests_total\{mode="first",answers="1"\} (\d+)') >= 3, "first/1")
        expect((metric(m, r'ai_semble_llm_tokens_total\{backend="ant",model="echo-c",type="completion"\} '
                          r'(\d+)') or 0) > 0, "per-model usage of a hybrid leg")

    rc = svc.stop()

    @check("the service drains and exits 0 on SIGTERM after hybrid requests")
    def _():
        expect(rc == 0, f"exit {rc}")

    off = Service({"LLM_BACKENDS_FILE": path, "LLM_HYBRID": "off"})

    @check("LLM_HYBRID=off: 403 naming LLM_HYBRID; requests without hybrid unaffected")
    def _():
        st, _, js, _ = off.request("POST", "/completion", {"prompt": "p", "hybrid": {"mode": "both"}})
        expect(st == 403 and "LLM_HYBRID" in js["detail"], f"{st} {js}")
        st, _, js, _ = off.request("POST", "/completion", {"prompt": "p"})
        expect(st == 200, f"{st} {js}")
    off.stop()

    local = Service({"LLM_BACKENDS_FILE": path, "LLM_HYBRID": "local"})

    @check("LLM_HYBRID=local: only models with cost 0 (403 naming the paid one)")
    def _():
        st, _, js, _ = local.request("POST", "/completion", {
            "prompt": "p", "hybrid": {"mode": "both", "models": ["echo-o", "echo-a"]}})
        expect(st == 403 and "echo-a" in js["detail"] and "LLM_HYBRID=local" in js["detail"], f"{st} {js}")
        st, _, js, _ = local.request("POST", "/completion", {
            "prompt": "p", "hybrid": {"mode": "both", "models": ["echo-o", "echo-c"]}})
        expect(st == 200 and len(js["hybrid"]["answers"]) == 2, f"{st} {js}")
    local.stop()

    srv.shutdown()
    return summary("llm hybrid")


if __name__ == "__main__":
    sys.exit(main())
