#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The llm service against the protocol-faithful fake backends (fake_backend.py), run on
the host on ephemeral 127.0.0.1 ports: the three wire protocols, routing, fallback,
breaker, retries, Retry-After, streaming relay, client disconnect, trimming, metrics.

Usage: test_gateway.py /path/to/ai-semble-llm   (meson runs it in the unit suite)
"""
import base64
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_backend  # noqa: E402
from tap import check, expect, summary  # noqa: E402

BIN = sys.argv[1] if len(sys.argv) > 1 else "ai-semble-llm"
# A 1x1 PNG: the images tests only check that bytes arrive intact in each backend's format.
PNG_B64 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
PNG_URL = "data:image/png;base64," + PNG_B64


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Service:
    def __init__(self, env):
        e = dict(os.environ)
        e.update(env)
        e["LLM_LISTEN"] = "127.0.0.1:0"
        e.pop("JOURNAL_STREAM", None)
        self.p = subprocess.Popen([BIN], env=e, stderr=subprocess.PIPE, text=True)
        self.port = None
        deadline = time.time() + 10
        while time.time() < deadline:
            line = self.p.stderr.readline()
            if not line:
                break
            m = re.search(r'"msg":"listening on [0-9.]+:(\d+)"', line)
            if m:
                self.port = int(m.group(1))
                break
        if not self.port:
            self.p.kill()
            raise RuntimeError("service did not start")
        # Keep draining stderr so the service never blocks on a full pipe.
        import threading
        threading.Thread(target=self.p.stderr.read, daemon=True).start()

    def stop(self):
        self.p.terminate()
        return self.p.wait(timeout=15)

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        c.close()
        try:
            js = json.loads(raw) if raw and "json" in (r.getheader("Content-Type") or "") else None
        except ValueError:
            js = None
        return r.status, r, js, raw


def stats(fake):
    c = http.client.HTTPConnection("127.0.0.1", fake, timeout=5)
    c.request("GET", "/_stats")
    s = json.loads(c.getresponse().read())
    c.close()
    return s


def reset(fake):
    c = http.client.HTTPConnection("127.0.0.1", fake, timeout=5)
    c.request("POST", "/_reset", body="{}")
    c.getresponse().read()
    c.close()


def sse_events(raw):
    return [ln[6:] for ln in raw.decode().split("\n") if ln.startswith("data: ")]


def main():
    srv = fake_backend.start(0)
    fake = srv.server_address[1]
    dead = free_port()  # nothing listens here: connection refused
    tmp = tempfile.mkdtemp(prefix="llm-test-")
    key = os.path.join(tmp, "anthropic.key")
    with open(key, "w") as f:
        f.write("sk-ant-test\n")
    base = f"http://127.0.0.1:{fake}"
    cfg = {"backends": [
        {"name": "oai", "kind": "openai", "base_url": base + "/v1", "retries": 1, "allowed_fails": 100,
         "first_byte_timeout_ms": 400,
         "models": [
             {"name": "echo-a", "quality": 8, "speed": 5, "cost": 10, "context_window": 8192, "tasks": ["code"]},
             {"name": "fault-500", "auto": False, "fallback": ["echo-o"]},
             {"name": "fault-404", "auto": False, "fallback": ["echo-o"]},
             {"name": "once-500-a", "auto": False},
             {"name": "fault-timeout", "auto": False, "fallback": ["echo-o"]},
             {"name": "fault-malformed", "auto": False, "fallback": ["echo-o"]},
             {"name": "fault-malformed-first", "auto": False, "fallback": ["echo-o"]},
             {"name": "fault-reset", "auto": False, "fallback": ["echo-o"]},
             {"name": "fault-truncated", "auto": False, "fallback": ["echo-o"]},
             {"name": "slow-drip", "auto": False},
             {"name": "echo-vo", "vision": True, "quality": 0, "speed": 0, "cost": 1000, "context_window": 4096}]},
        {"name": "rl", "kind": "openai", "base_url": base + "/v1", "retries": 1, "cooldown_s": 1,
         "models": [{"name": "fault-429", "auto": False}, {"name": "once-429-a", "auto": False}]},
        {"name": "oll", "kind": "ollama", "base_url": base,
         "models": [{"name": "echo-o", "quality": 5, "speed": 9, "cost": 0, "context_window": 4096},
                    {"name": "echo-small", "upstream_name": "echo-o", "quality": 1, "speed": 1, "cost": 0,
                     "context_window": 300},
                    {"name": "echo-vl", "upstream_name": "echo-o", "vision": True, "auto": False,
                     "fallback": ["echo-small"]}]},
        {"name": "ant", "kind": "anthropic", "base_url": base, "api_key_file": key,
         "models": [{"name": "echo-c", "quality": 9, "speed": 4, "cost": 15, "context_window": 200000},
                    {"name": "echo-vc", "vision": True, "auto": False}]},
        {"name": "dead", "kind": "openai", "base_url": f"http://127.0.0.1:{dead}/v1", "retries": 0,
         "allowed_fails": 2, "cooldown_s": 2, "connect_timeout_ms": 300,
         "models": [{"name": "gone", "quality": 0, "speed": 0, "cost": 1000, "context_window": 256}]},
    ]}
    path = os.path.join(tmp, "backends.json")
    with open(path, "w") as f:
        json.dump(cfg, f)

    # -- without configuration ----------------------------------------------------------
    bare = Service({})

    @check("unconfigured: 503 problem naming LLM_BACKENDS_FILE, /v1/models empty")
    def _():
        for p in ("/completion", "/v1/chat/completions"):
            body = {"prompt": "hi"} if p == "/completion" else {"model": "auto",
                                                                  "messages": [{"role": "user", "content": "hi"}]}
            st, r, js, _ = bare.request("POST", p, body)
            expect(st == 503, f"{p}: status {st}")
            expect("problem+json" in r.getheader("Content-Type"), "problem+json")
            expect("LLM_BACKENDS_FILE" in js["detail"], js["detail"])
        st, _, js, _ = bare.request("GET", "/v1/models")
        expect(st == 200 and js["data"] == [], str(js))

    @check("GET /tasks: every route of the llm, each one routed (the orchestrator's /v1 goes by it)")
    def _():
        st, _, js, _ = bare.request("GET", "/tasks")
        expect(st == 200 and js["service"] == "llm", str(js))
        paths = sorted(t["path"] for t in js["tasks"])
        expect(paths == sorted(["/completion", "/chat", "/v1/chat/completions", "/v1/completions", "/v1/messages",
                                "/v1/embeddings", "/v1/models"]), str(paths))
        for t in js["tasks"]:
            st, _, _, _ = bare.request(t["method"], t["path"], {} if t["method"] == "POST" else None)
            expect(st not in (404, 405), f"{t['method']} {t['path']}: {st}")
            expect(t["idempotent"] == (t["name"] in ("v1.embeddings", "v1.models")), str(t))
    bare.stop()

    # A configuration without any vision model: images get 503 naming what to add.
    novis = os.path.join(tmp, "novision.json")
    with open(novis, "w") as f:
        json.dump({"backends": [{"name": "oll", "kind": "ollama", "base_url": base,
                                 "models": [{"name": "echo-o"}]}]}, f)
    plain = Service({"LLM_BACKENDS_FILE": novis})

    @check("images without a vision model configured: 503 naming LLM_BACKENDS_FILE and \"vision\"")
    def _():
        for model in ("auto", "echo-o"):
            st, _, js, _ = plain.request("POST", "/v1/chat/completions", {"model": model, "messages": [
                {"role": "user", "content": [{"type": "text", "text": "x"},
                                             {"type": "image_url", "image_url": {"url": PNG_URL}}]}]})
            expect(st == 503 and "LLM_BACKENDS_FILE" in js["detail"] and '"vision"' in js["detail"],
                   f"{model}: {st} {js}")
    plain.stop()

    svc = Service({"LLM_BACKENDS_FILE": path, "LLM_RETRY_WAIT_MAX": "1500ms", "LLM_MAX_IMAGE_BYTES": "64K"})

    def vision_msgs(url=None, text="what is this"):
        return [{"role": "user", "content": [{"type": "text", "text": text},
                                             {"type": "image_url", "image_url": {"url": url or PNG_URL}}]}]

    @check("images reach each backend kind in its own format (openai parts, ollama images, anthropic blocks)")
    def _():
        for model, path_ in (("echo-vo", "/v1/chat/completions"), ("echo-vl", "/api/chat"),
                             ("echo-vc", "/v1/messages")):
            reset(fake)
            st, r, js, _ = svc.request("POST", "/v1/chat/completions", {"model": model, "messages": vision_msgs()})
            expect(st == 200, f"{model}: {st} {js}")
            expect(js["choices"][0]["message"]["content"] == "echo: what is this [1 images]", str(js))
            s_ = stats(fake)
            expect(s_["last"]["path"] == path_ and s_["images"][0][1] == PNG_B64, f"{model}: {s_['last']['path']}")
            msg = s_["last"]["body"]["messages"][0]
            if model == "echo-vo":
                expect(msg["content"][1] == {"type": "image_url", "image_url": {"url": PNG_URL}}, str(msg))
            elif model == "echo-vl":
                expect(msg["content"] == "what is this" and msg["images"] == [PNG_B64], str(msg))
            else:
                expect(msg["content"][0] == {"type": "image", "source": {
                    "type": "base64", "media_type": "image/png", "data": PNG_B64}}, str(msg))
                expect(msg["content"][1] == {"type": "text", "text": "what is this"}, str(msg))

    @check("images route only to vision models: auto picks one, fallbacks without vision are skipped")
    def _():
        st, r, js, _ = svc.request("POST", "/v1/chat/completions", {"model": "auto", "messages": vision_msgs()})
        expect(st == 200 and js["model"] == "echo-vo", f"{st} {js}")
        # without images auto still ranks every model (echo-vo scores last)
        st, _, js, _ = svc.request("POST", "/v1/chat/completions", {
            "model": "auto", "messages": [{"role": "user", "content": "hi"}]})
        expect(st == 200 and js["model"] != "echo-vo", f"{st} {js}")

    @check("images to a model without \"vision\": 422 naming model; http(s) URLs and bad data: 422 naming the part")
    def _():
        reset(fake)
        st, _, js, _ = svc.request("POST", "/v1/chat/completions", {"model": "echo-a", "messages": vision_msgs()})
        expect(st == 422 and js["errors"][0]["field"] == "model" and "vision" in js["errors"][0]["message"], str(js))
        for url in ("https://example.com/cat.png", "http://169.254.169.254/x.png"):
            st, _, js, _ = svc.request("POST", "/v1/chat/completions", {"model": "echo-vo",
                                                                        "messages": vision_msgs(url)})
            expect(st == 422 and js["errors"][0]["field"] == "messages[0].content[1].image_url.url" and
                   "not fetched" in js["errors"][0]["message"], str(js))
        for url in ("data:text/plain;base64,aGk=", "data:image/png;base64,@@@@", "data:image/png,abc"):
            st, _, js, _ = svc.request("POST", "/v1/chat/completions", {"model": "echo-vo",
                                                                        "messages": vision_msgs(url)})
            expect(st == 422 and js["errors"][0]["field"] == "messages[0].content[1].image_url.url", str(js))
        expect(stats(fake)["calls"] == {}, "nothing reached a backend: " + str(stats(fake)["calls"]))

    @check("images over LLM_MAX_IMAGE_BYTES: 413")
    def _():
        big = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + b"\0" * 70000).decode()
        st, _, js, _ = svc.request("POST", "/v1/chat/completions", {"model": "echo-vo", "messages": vision_msgs(big)})
        expect(st == 413 and "LLM_MAX_IMAGE_BYTES" in js["detail"], f"{st} {js}")

    @check("validation: 422 names the field, 400 on malformed JSON")
    def _():
        st, _, js, _ = svc.request("POST", "/completion", {"invalid": "payload"})
        expect(st == 422 and any(e["field"] == "prompt" for e in js["errors"]), str(js))
        st, _, js, _ = svc.request("POST", "/completion", {"prompt": "x", "temperature": 7})
        expect(st == 422 and js["errors"][0]["field"] == "temperature", str(js))
        st, _, js, _ = svc.request("POST", "/chat", {"messages": [{"role": "wizard", "content": "x"}]})
        expect(st == 422 and js["errors"][0]["field"] == "messages[0].role", str(js))
        st, _, _, _ = svc.request("POST", "/completion", b'{"prompt":')
        expect(st == 400, f"status {st}")
        st, _, js, _ = svc.request("POST", "/completion", {"prompt": "x", "model": "nope"})
        expect(st == 404 and "nope" in js["detail"], str(js))

    @check("/v1/models lists auto and every configured model once")
    def _():
        st, _, js, _ = svc.request("GET", "/v1/models")
        ids = [m["id"] for m in js["data"]]
        expect(st == 200 and ids[0] == "auto" and "echo-a" in ids and "echo-c" in ids, str(ids))

    @check("the three protocols: /completion via openai, ollama /api/generate, anthropic; usage from backend")
    def _():
        reset(fake)
        for model, backend in (("echo-a", "oai"), ("echo-o", "oll"), ("echo-c", "ant")):
            st, r, js, _ = svc.request("POST", "/completion", {"prompt": "one two three", "model": model,
                                                               "max_tokens": 50, "temperature": 0.2, "top_p": 0.9})
            expect(st == 200, f"{model}: {st} {js}")
            expect(js["text"] == "echo: one two three", js["text"])
            expect(js["model"] == model and js["model_used"] == model and js["backend"] == backend, str(js))
            expect(js["usage"]["estimated"] is False and js["tokens_used"] == js["usage"]["total_tokens"], str(js))
            expect(r.getheader("X-LLM-Backend") == backend and r.getheader("X-LLM-Fallback") == "false",
                   "headers")
        last = stats(fake)["last"]
        expect(last["path"] == "/v1/messages", last["path"])
        expect(last["headers"].get("x-api-key") == "sk-ant-test", "api key from file sent")
        expect(last["body"]["max_tokens"] == 50 and last["body"]["stream"] is True, str(last["body"]))

    @check("/chat via ollama /api/chat and anthropic (system message in 'system')")
    def _():
        msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello chat"}]
        st, _, js, _ = svc.request("POST", "/chat", {"messages": msgs, "model": "echo-c"})
        expect(st == 200 and js["message"]["content"] == "echo: hello chat", str(js))
        last = stats(fake)["last"]["body"]
        expect(last["system"] == "be brief" and all(m["role"] != "system" for m in last["messages"]), str(last))
        st, _, js, _ = svc.request("POST", "/chat", {"messages": msgs, "model": "echo-o"})
        expect(st == 200 and js["text"] == "echo: hello chat", str(js))
        expect(stats(fake)["last"]["path"] == "/api/chat", "ollama chat path")

    @check("routing: priority quality/speed/cost, task bonus, window filter, selection_reason")
    def _():
        def used(body):
            st, _, js, _ = svc.request("POST", "/completion", dict({"prompt": "route me"}, **body))
            expect(st == 200, f"{body}: {st} {js}")
            return js["model_used"], js["selection_reason"]
        m, why = used({"priority": "quality"})
        expect(m == "echo-c" and "priority=quality" in why, f"{m}: {why}")
        m, why = used({"priority": "speed"})
        expect(m == "echo-o", f"{m}: {why}")
        m, why = used({"priority": "cost", "max_tokens": 100})
        expect(m in ("echo-o", "echo-small") and "priority=cost" in why, f"{m}: {why}")
        m, why = used({"priority": "speed", "task": "code"})
        expect("task=code" in why, why)
        # 20000 tokens of prompt fit only echo-c's 200000 window
        m, why = used({"prompt": "word " * 20000, "priority": "speed"})
        expect(m == "echo-c" and "1 of" in why, f"{m}: {why}")
        st, _, js, _ = svc.request("POST", "/completion", {"prompt": "x", "max_tokens": 5000000})
        expect(st == 413, f"{st} {js}")

    @check("SSE relay: OpenAI chunks from an Ollama backend end with a usage chunk and [DONE]")
    def _():
        st, r, _, raw = svc.request("POST", "/v1/chat/completions", {
            "model": "echo-o", "stream": True, "messages": [{"role": "user", "content": "a b c"}]})
        expect(st == 200 and r.getheader("Content-Type") == "text/event-stream", f"{st}")
        ev = sse_events(raw)
        expect(ev[-1] == "[DONE]", ev[-1])
        usage = json.loads(ev[-2])
        expect(usage["choices"] == [] and usage["usage"]["completion_tokens"] > 0, ev[-2])
        text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in ev[:-2])
        expect(text == "echo: a b c", text)
        expect(json.loads(ev[0])["choices"][0]["delta"]["role"] == "assistant", ev[0])

    @check("/v1/completions, JSON and SSE, from the anthropic backend")
    def _():
        st, _, js, _ = svc.request("POST", "/v1/completions", {"model": "echo-c", "prompt": "p q"})
        expect(st == 200 and js["object"] == "text_completion" and js["choices"][0]["text"] == "echo: p q", str(js))
        st, _, _, raw = svc.request("POST", "/v1/completions", {"model": "echo-c", "prompt": ["p q"], "stream": True})
        ev = sse_events(raw)
        text = "".join(c["text"] for e in ev[:-2] for c in json.loads(e)["choices"])
        expect(st == 200 and text == "echo: p q" and ev[-1] == "[DONE]", text)

    @check("NDJSON relay of /completion and /chat with stream:true (Ollama's shape)")
    def _():
        st, r, _, raw = svc.request("POST", "/completion", {"model": "echo-a", "prompt": "n d", "stream": True})
        lines = [json.loads(x) for x in raw.decode().splitlines()]
        expect(st == 200 and r.getheader("Content-Type") == "application/x-ndjson", str(st))
        expect(lines[-1]["done"] is True and "selection_reason" in lines[-1], str(lines[-1]))
        expect("".join(x["response"] for x in lines) == "echo: n d", str(lines))

    @check("fallback on 500 after retries: answer from the next backend, headers and metric say so")
    def _():
        reset(fake)
        st, r, js, _ = svc.request("POST", "/completion", {"model": "fault-500", "prompt": "fb"})
        expect(st == 200 and js["backend"] == "oll" and js["fallback"] is True, str(js))
        expect(r.getheader("X-LLM-Fallback") == "true" and r.getheader("X-LLM-Fallback-From") == "oai", "headers")
        expect("fell back" in js["selection_reason"], js["selection_reason"])
        expect(stats(fake)["calls"]["fault-500"] == 2, "1 try + 1 retry: " + str(stats(fake)["calls"]))
        _, _, _, m = svc.request("GET", "/metrics")
        expect(b'ai_semble_llm_fallbacks_total{from="oai",to="oll"}' in m, "fallback metric")

    @check("4xx from a backend is never retried: 404 moves on to the fallback, 400 ends the request")
    def _():
        reset(fake)
        st, _, js, _ = svc.request("POST", "/completion", {"model": "fault-404", "prompt": "x"})
        expect(st == 200 and js["backend"] == "oll" and "404" in js["selection_reason"], str(js))
        expect(stats(fake)["calls"]["fault-404"] == 1, str(stats(fake)["calls"]))

    @check("429 with Retry-After: waited for, then retried on the same backend")
    def _():
        reset(fake)
        t = time.time()
        st, _, js, _ = svc.request("POST", "/completion", {"model": "once-429-a", "prompt": "ra"})
        dt = time.time() - t
        expect(st == 200 and js["backend"] == "rl", str(js))
        expect(dt >= 0.9, f"waited only {dt:.2f}s")
        expect(stats(fake)["calls"]["once-429-a"] == 2, str(stats(fake)["calls"]))

    @check("429 that persists: client gets 429 with Retry-After")
    def _():
        st, r, js, _ = svc.request("POST", "/completion", {"model": "fault-429", "prompt": "x"})
        expect(st == 429 and r.getheader("Retry-After") is not None, f"{st} {js}")

    @check("500 once then fine: the retry on the same backend answers")
    def _():
        reset(fake)
        st, _, js, _ = svc.request("POST", "/completion", {"model": "once-500-a", "prompt": "x"})
        expect(st == 200 and js["fallback"] is False, str(js))

    @check("timeout before the first byte: fallback (and 504-class failure recorded)")
    def _():
        t = time.time()
        st, _, js, _ = svc.request("POST", "/completion", {"model": "fault-timeout", "prompt": "x"})
        dt = time.time() - t
        expect(st == 200 and js["backend"] == "oll" and "no answer" in js["selection_reason"], str(js))
        expect(js["fallback"] is True, "fallback reported")
        expect(dt < 5, f"took {dt:.1f}s")

    @check("malformed JSON before any text: retried, then fallback")
    def _():
        st, _, js, _ = svc.request("POST", "/completion", {"model": "fault-malformed-first", "prompt": "x"})
        expect(st == 200 and js["backend"] == "oll" and "malformed" in js["selection_reason"], str(js))

    for fault, word in (("fault-malformed", "malformed"), ("fault-reset", "broke"),
                        ("fault-truncated", "end marker")):
        @check(f"{fault} mid-stream: streaming client gets an SSE error event; buffered client a fallback")
        def _(fault=fault, word=word):
            st, _, _, raw = svc.request("POST", "/v1/chat/completions", {
                "model": fault, "stream": True, "messages": [{"role": "user", "content": "one two three four"}]})
            ev = sse_events(raw)
            err = json.loads(ev[-1])
            expect(st == 200 and "error" in err and word in err["error"]["message"], ev[-1])
            got = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in ev[:-1])
            expect(got.startswith("echo: one"), got)
            st, _, js, _ = svc.request("POST", "/v1/chat/completions", {
                "model": fault, "messages": [{"role": "user", "content": "one two three four"}]})
            expect(st == 200 and js["choices"][0]["message"]["content"] == "echo: one two three four", str(js))

    @check("slow drip is relayed chunk by chunk (first chunk long before the last)")
    def _():
        s = socket.create_connection(("127.0.0.1", svc.port))
        body = json.dumps({"model": "slow-drip", "stream": True, "messages": [{"role": "user", "content": "d"}]})
        s.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
        t0 = time.time()
        buf, first = b"", None
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
            if first is None and b"drip0" in buf:
                first = time.time() - t0
        total = time.time() - t0
        s.close()
        expect(first is not None and first < 0.5 and total > 1.5, f"first {first}, total {total:.2f}")
        expect(b"drip19" in buf and b"[DONE]" in buf, "complete")

    @check("a client that goes away cancels the upstream request")
    def _():
        reset(fake)
        s = socket.create_connection(("127.0.0.1", svc.port))
        body = json.dumps({"model": "slow-drip", "stream": True, "messages": [{"role": "user", "content": "d"}]})
        s.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
        buf = b""
        while b"drip1" not in buf:
            buf += s.recv(65536)
        s.close()
        deadline = time.time() + 5
        while time.time() < deadline and stats(fake)["cancelled"] == 0:
            time.sleep(0.1)
        st = stats(fake)
        expect(st["cancelled"] == 1 and st["completed"] == 0, str(st))
        _, _, _, m = svc.request("GET", "/metrics")
        expect(re.search(rb'ai_semble_llm_requests_total\{backend="oai",model="slow-drip",status="cancelled"\} 1',
                         m), "cancelled counted")

    @check("breaker: refused connections open it after allowed_fails; 503 + Retry-After; half-open later")
    def _():
        for _ in range(2):
            st, _, js, _ = svc.request("POST", "/completion", {"model": "gone", "prompt": "x", "max_tokens": 10})
            expect(st == 502 and "connect" in js["detail"], f"{st} {js}")
        st, r, js, _ = svc.request("POST", "/completion", {"model": "gone", "prompt": "x", "max_tokens": 10})
        expect(st == 503 and r.getheader("Retry-After") and "circuit breaker" in js["detail"], f"{st} {js}")
        _, _, _, m = svc.request("GET", "/metrics")
        expect(b'ai_semble_llm_backend_up{backend="dead"} 0' in m, "backend_up 0")
        time.sleep(2.1)
        st, _, js, _ = svc.request("POST", "/completion", {"model": "gone", "prompt": "x", "max_tokens": 10})
        expect(st == 502, f"half-open trial went to the backend: {st} {js}")

    @check("/chat trims history to the window: system kept, newest first, drop reported")
    def _():
        msgs = [{"role": "system", "content": "sys prompt"}]
        for i in range(30):
            msgs.append({"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i} " + "w" * 80})
        msgs.append({"role": "user", "content": "last question"})
        st, _, js, _ = svc.request("POST", "/chat", {"messages": msgs, "model": "echo-small", "max_tokens": 100})
        expect(st == 200 and js["context"]["dropped_messages"] > 0, str(js))
        sent = stats(fake)["last"]["body"]["messages"]
        expect(sent[0]["content"] == "sys prompt" and sent[-1]["content"] == "last question", str(sent))
        expect(len(sent) == js["context"]["kept_messages"] and len(sent) < len(msgs), str(len(sent)))
        expect(js["text"] == "echo: last question", js["text"])
        big = [{"role": "user", "content": "z" * 4000}]
        st, _, js, _ = svc.request("POST", "/chat", {"messages": big, "model": "echo-small", "max_tokens": 100})
        expect(st == 413, f"{st} {js}")

    @check("/metrics has every ai_semble_llm_* family with per-model token counters")
    def _():
        _, _, _, m = svc.request("GET", "/metrics")
        for f in (b"ai_semble_llm_requests_total", b"ai_semble_llm_tokens_total",
                  b"ai_semble_llm_time_to_first_token_seconds_bucket", b"ai_semble_llm_request_duration_seconds",
                  b"ai_semble_llm_backend_up", b"ai_semble_llm_fallbacks_total"):
            expect(f in m, f.decode())
        expect(re.search(rb'ai_semble_llm_tokens_total\{backend="ant",model="echo-c",type="completion"\} \d',
                         m), "token counter")

    rc = svc.stop()

    @check("the service drains and exits 0 on SIGTERM")
    def _():
        expect(rc == 0, f"exit {rc}")

    srv.shutdown()
    return summary("llm gateway")


if __name__ == "__main__":
    sys.exit(main())
