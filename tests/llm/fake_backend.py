#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Protocol-faithful fake LLM backends (stdlib only) for the llm service's tests.

One server speaks three wire protocols, chosen by path as the real servers do:
  POST /api/generate, /api/chat      Ollama, NDJSON stream (done, prompt_eval_count, eval_count)
  POST /v1/chat/completions          OpenAI, SSE "data: {chunk}" + usage chunk + "data: [DONE]"
  POST /v1/messages                  Anthropic Messages, SSE events message_start ...
                                     content_block_delta ... message_delta, message_stop
The model name picks the behaviour, so one fake plays every fault:
  echo-*            answers "echo: <last user text>" one word per chunk
  fault-500         500 with a JSON error body
  fault-404         404 (a 4xx: must never be retried)
  fault-429         429 with Retry-After: 1
  once-429-*        429 with Retry-After: 1 on the first call, then answers
  once-500-*        500 on the first call, then answers
  fault-timeout     accepts, then says nothing for 30 s
  fault-malformed   two good chunks, then a line of broken JSON
  fault-malformed-first  broken JSON before any text
  fault-reset       two good chunks, then a TCP reset
  fault-truncated   two good chunks, then a clean close without the end marker
  slow-drip         20 chunks 100 ms apart (counts cancellations when the peer goes away)
  slow-start-*      says nothing for 5 s while watching its connection: a peer that closes it
                    meanwhile is counted in "cancelled" at once; else answers as echo-*
  long-drip         50 chunks 100 ms apart (benchmark of many concurrent streams)
  say-*             a canned reply from CANNED (the nlp's Japanese sentiment verdicts: good,
                    fenced, malformed, out of range); say-slow waits 3 s before answering
  scripted*         answers what POST /_script set: {"text": ...} (streamed in 3 pieces),
                    {"status": 503} (an error reply), {"sleep": s} before answering,
                    {"after": model} only once a call for that model has arrived (up to 5 s)
  tool-*            with tools: calls the first tool (or the one tool_choice names) with
                    {"text": <last user text>}, its arguments streamed in 3-character pieces as
                    each protocol does (OpenAI indexed delta.tool_calls, Anthropic tool_use +
                    input_json_delta, Ollama a whole call); after a tool result: "tool said: <it>";
                    with tool_choice none, or no tools: answers as echo-*
  tool-parallel-*   two calls at once (the first two tools)
  tool-badjson-*    a call whose arguments are not JSON
  json-*            with a structured-output request (response_format, Ollama format,
                    Anthropic output_config.format): a JSON object following the schema
                    (json_object: {"ok": true}); without one: "plain text"
  embed-*           POST /v1/embeddings, /api/embed: a vector per input, derived from its text
                    (8 numbers, or `dimensions`); embed-nodims ignores dimensions (an Ollama
                    older than the field); embed-short answers one vector too few
Tool results are checked as the real servers check them: an OpenAI tool message must answer
a tool_calls entry of an earlier assistant message, an Anthropic tool_result must come first
in the user message right after the assistant's tool_use with its id (400 otherwise).
Images are checked in each protocol's own format (OpenAI image_url parts with a data: URL,
Ollama's message "images": [base64], Anthropic's {"type":"image","source":{"type":"base64"}}
blocks); a malformed one gets a 400, and echo-* answers end with "[N images]" when any came.
GET /_stats returns {calls: {model: n}, cancelled, last: {path, headers, body}, images};
POST /_reset clears them. Usage: fake_backend.py [--port N] (0 = ephemeral; prints the port).
"""
import base64
import hashlib
import json
import select
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
CANNED = {
    "say-positive": '{"label":"positive","score":0.8}',
    "say-fenced": '```json\n{"label": "negative", "score": -0.6}\n```',
    "say-out-of-range": '{"label":"positive","score":1.7}',
    "say-prose": "The sentiment of this text is positive.",
    "say-bad-label": '{"label":"happy","score":0.5}',
    "say-slow": '{"label":"neutral","score":0}',
}
STATS = {"calls": {}, "cancelled": 0, "completed": 0, "last": None, "images": []}
SCRIPT = {"text": "[]"}


def count(model):
    with LOCK:
        n = STATS["calls"].get(model, 0) + 1
        STATS["calls"][model] = n
        return n


class Gone(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-llm/1"

    def log_message(self, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        # As real servers do (Go's net/http, uvicorn): no Nagle delay between stream chunks.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- plumbing -------------------------------------------------------------
    def send_json(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Gone() from e

    def end_stream(self):
        self.chunk_raw(b"0\r\n\r\n")

    def chunk_raw(self, b):
        try:
            self.wfile.write(b)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Gone() from e

    def reset(self):
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    # -- requests -------------------------------------------------------------
    def do_GET(self):
        if self.path == "/_stats":
            with LOCK:
                self.send_json(200, STATS)
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        if self.path == "/_reset":
            with LOCK:
                STATS.update(calls={}, cancelled=0, completed=0, last=None, images=[])
                SCRIPT.clear()
            return self.send_json(200, {})
        if self.path == "/_script":
            with LOCK:
                SCRIPT.clear()
                SCRIPT.update(json.loads(raw))
            return self.send_json(200, {})
        try:
            req = json.loads(raw)
        except ValueError:
            return self.send_json(400, {"error": "bad json"})
        if self.path in ("/v1/embeddings", "/api/embed"):
            return self.embed("ollama" if self.path == "/api/embed" else "openai", req)
        if self.path in ("/api/generate", "/api/chat"):
            kind = "ollama"
        elif self.path in ("/v1/chat/completions", "/chat/completions"):
            kind = "openai"
        elif self.path == "/v1/messages":
            kind = "anthropic"
            if self.headers.get("anthropic-version") is None:
                return self.send_json(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                                      "message": "anthropic-version missing"}})
        else:
            return self.send_json(404, {"error": "no such endpoint"})
        model = req.get("model", "")
        try:
            images = self.images(kind, req)
        except ValueError as e:
            return self.send_json(400, {"error": {"message": f"bad image: {e}", "type": "invalid_request_error"}})
        with LOCK:
            STATS["last"] = {"path": self.path, "headers": dict(self.headers), "body": req}
            STATS["images"] = images
        bad = self.tool_history_error(kind, req)
        if bad:
            return self.send_json(400, {"type": "error", "error": {"message": bad, "type": "invalid_request_error"}})
        nth = count(model)
        try:
            self.answer(kind, model, req, nth)
        except Gone:
            with LOCK:
                STATS["cancelled"] += 1
            self.close_connection = True

    def answer(self, kind, model, req, nth):
        if model == "fault-500" or (model.startswith("once-500") and nth == 1):
            return self.send_json(500, {"error": {"message": "internal failure", "type": "server_error"}})
        if model == "fault-404":
            return self.send_json(404, {"error": {"message": f"model {model} not found", "type": "not_found"}})
        if model == "fault-429" or (model.startswith("once-429") and nth == 1):
            return self.send_json(429, {"error": {"message": "slow down", "type": "rate_limit"}},
                                  {"Retry-After": "1"})
        if model.startswith("slow-start"):
            self.wait_watching(5.0)
        if model == "fault-timeout":
            time.sleep(30)
            return self.send_json(500, {"error": "too late"})
        words = self.words(kind, req)
        if model.startswith("tool-") and self.tool_names(kind, req) and self.tool_choice(kind, req) != "none":
            return self.answer_tools(kind, model, req)
        if model.startswith("json-"):
            words = self.json_answer(kind, req)
        if model in CANNED:
            if model == "say-slow":
                time.sleep(3)
            text = CANNED[model]
            words = [text[i:i + 7] for i in range(0, len(text), 7)]
        if STATS["images"]:
            words[-1] += " "
            words.append(f"[{len(STATS['images'])} images]")
        if model.startswith("scripted"):
            with LOCK:
                script = dict(SCRIPT)
            time.sleep(script.get("sleep", 0))
            deadline = time.time() + 5
            while "after" in script and time.time() < deadline:
                with LOCK:
                    if STATS["calls"].get(script["after"]):
                        break
                time.sleep(0.01)
            if "status" in script:
                return self.send_json(script["status"], {"error": {"message": "scripted failure",
                                                                   "type": "server_error"}})
            t = script.get("text", "")
            k = max(1, len(t) // 3)
            words = [t[i:i + k] for i in range(0, len(t), k)] or [""]
        if model in ("slow-drip", "long-drip"):
            words = [f"drip{i} " for i in range(20 if model == "slow-drip" else 50)]
        if model == "big":
            words = ["x" * 64 + " "] * 200
        stream = Stream(self, kind, model, req)
        stream.begin()
        for i, w in enumerate(words):
            if model in ("fault-malformed", "fault-reset", "fault-truncated") and i == 2:
                if model == "fault-malformed":
                    stream.raw_unit('{"broken": ')
                    self.end_stream()
                elif model == "fault-reset":
                    self.reset()
                else:
                    self.end_stream()  # clean end, no end marker
                return
            if model == "fault-malformed-first" and i == 0:
                stream.raw_unit("{{not json")
                self.end_stream()
                return
            stream.text(w)
            if model in ("slow-drip", "long-drip"):
                time.sleep(0.1)
        stream.finish(len(words))
        self.end_stream()
        with LOCK:
            STATS["completed"] += 1

    # -- tools ----------------------------------------------------------------
    @staticmethod
    def tool_names(kind, req):
        tools = req.get("tools") or []
        if kind == "anthropic":
            return [t["name"] for t in tools]
        return [t["function"]["name"] for t in tools]

    @staticmethod
    def tool_choice(kind, req):
        """auto, none, required or the name of a tool."""
        tc = req.get("tool_choice")
        if kind == "anthropic":
            tc = tc or {"type": "auto"}
            return {"any": "required", "tool": tc.get("name")}.get(tc["type"], tc["type"])
        if isinstance(tc, dict):
            return tc["function"]["name"]
        return tc or "auto"

    @staticmethod
    def tool_result(kind, req):
        """The text of the first tool result after the last assistant message, or None."""
        msgs = req.get("messages") or []
        after = [m for i, m in enumerate(msgs) if all(x.get("role") != "assistant" for x in msgs[i:])]
        for m in after:
            if kind == "anthropic":
                blocks = m.get("content") if isinstance(m.get("content"), list) else []
                res = [b for b in blocks if b.get("type") == "tool_result"]
                if res:
                    c = res[0].get("content", "")
                    return c if isinstance(c, str) else "".join(p.get("text", "") for p in c)
            elif m.get("role") == "tool":
                return m.get("content")
        return None

    @staticmethod
    def tool_history_error(kind, req):
        msgs = req.get("messages") or []
        if kind == "openai":
            seen = set()
            for m in msgs:
                for c in m.get("tool_calls") or []:
                    seen.add(c["id"])
                if m.get("role") == "tool" and m.get("tool_call_id") not in seen:
                    return "messages with role 'tool' must be a response to a preceding message with 'tool_calls'"
        if kind == "anthropic":
            for i, m in enumerate(msgs):
                blocks = m.get("content") if isinstance(m.get("content"), list) else []
                ids = [b["tool_use_id"] for b in blocks if b.get("type") == "tool_result"]
                if not ids:
                    continue
                if any(b.get("type") == "tool_result" for b in blocks[len(ids):]) or \
                        any(b.get("type") != "tool_result" for b in blocks[:len(ids)]):
                    return "tool_result blocks must come first in the user message"
                prev = msgs[i - 1] if i > 0 else {}
                uses = [b["id"] for b in prev.get("content") or [] if isinstance(b, dict) and b.get("type") == "tool_use"]
                if prev.get("role") != "assistant" or any(x not in uses for x in ids):
                    return "each tool_result block must answer a tool_use block of the previous message"
        return None

    def answer_tools(self, kind, model, req):
        names = self.tool_names(kind, req)
        result = self.tool_result(kind, req)
        stream = Stream(self, kind, model, req)
        stream.begin()
        if result is not None:
            words = ["tool said: ", result]
            for w in words:
                stream.text(w)
            stream.finish(len(words))
        else:
            choice = self.tool_choice(kind, req)
            called = [choice] if choice in names else names[:2 if model.startswith("tool-parallel") else 1]
            user = self.words(kind, req)
            args = json.dumps({"text": "".join(user[1:]) if len(user) > 1 else ""})
            if model.startswith("tool-badjson"):
                args = args[:-1] + ', "oops": '
            for i, name in enumerate(called):
                stream.tool_call(i, name, args)
            stream.finish(len(called) * 5, "tool")
        self.end_stream()
        with LOCK:
            STATS["completed"] += 1

    # -- structured output ----------------------------------------------------
    @staticmethod
    def json_answer(kind, req):
        fmt = None
        if kind == "openai":
            rf = req.get("response_format") or {}
            fmt = {"json_object": {}, "json_schema": (rf.get("json_schema") or {}).get("schema")}.get(rf.get("type"))
        elif kind == "ollama":
            fmt = {} if req.get("format") == "json" else req.get("format")
        else:
            fmt = ((req.get("output_config") or {}).get("format") or {}).get("schema")
        if fmt is None:
            return ["plain text"]
        sample = {"string": "x", "integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}
        props = fmt.get("properties") or {}
        obj = {k: sample.get(v.get("type"), None) for k, v in props.items()} if props else {"ok": True}
        text = json.dumps(obj)
        return [text[i:i + 4] for i in range(0, len(text), 4)]

    # -- embeddings -----------------------------------------------------------
    def embed(self, kind, req):
        model = req.get("model", "")
        inputs = req.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        with LOCK:
            STATS["last"] = {"path": self.path, "headers": dict(self.headers), "body": req}
        count(model)
        if model == "fault-500":
            return self.send_json(500, {"error": {"message": "internal failure", "type": "server_error"}})
        if not isinstance(inputs, list) or not inputs:
            return self.send_json(400, {"error": "input required"})
        dims = 8 if model == "embed-nodims" else (req.get("dimensions") or 8)
        vecs = []
        for text in inputs:
            h = hashlib.sha256(text.encode()).digest() * (dims // 32 + 1)
            vecs.append([round((b - 128) / 128.0, 6) for b in h[:dims]])
        if model == "embed-short":
            vecs = vecs[:-1]
        tokens = sum(len(t.split()) for t in inputs)
        if kind == "ollama":
            return self.send_json(200, {"model": model, "embeddings": vecs, "total_duration": 1000,
                                        "load_duration": 10, "prompt_eval_count": tokens})
        data = []
        for i, v in enumerate(vecs):
            if req.get("encoding_format") == "base64":
                v = base64.b64encode(struct.pack("<%df" % len(v), *v)).decode()
            data.append({"object": "embedding", "index": i, "embedding": v})
        return self.send_json(200, {"object": "list", "data": data, "model": model,
                                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def wait_watching(self, seconds):
        """Sleep, but notice at once when the peer closes the connection (Gone)."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            r, _, _ = select.select([self.connection], [], [], 0.05)
            if r:
                try:
                    if self.connection.recv(1, socket.MSG_PEEK) == b"":
                        raise Gone()
                except (ConnectionResetError, OSError) as e:
                    raise Gone() from e

    @staticmethod
    def images(kind, req):
        """The images of the request as [media_type, base64 data], read the way each real
        server reads them; ValueError when one is not in that server's format."""
        out = []
        for m in req.get("messages", []):
            c = m.get("content")
            if kind == "ollama":
                if not isinstance(c, str):
                    raise ValueError("ollama content must be a string")
                for d in m.get("images", []):
                    base64.b64decode(d, validate=True)
                    out.append(["?", d])
            elif isinstance(c, list):
                for p in c:
                    if kind == "openai" and p.get("type") == "image_url":
                        url = p["image_url"]["url"]
                        if not url.startswith("data:") or ";base64," not in url:
                            raise ValueError("not a data: URL")
                        media, d = url[5:].split(";base64,", 1)
                        base64.b64decode(d, validate=True)
                        out.append([media, d])
                    elif kind == "anthropic" and p.get("type") in ("tool_use", "tool_result"):
                        pass
                    elif kind == "anthropic" and p.get("type") == "image":
                        src = p["source"]
                        if src.get("type") != "base64" or not src.get("media_type", "").startswith("image/"):
                            raise ValueError("anthropic source must be base64 with a media_type")
                        base64.b64decode(src["data"], validate=True)
                        out.append([src["media_type"], src["data"]])
                    elif p.get("type") != "text":
                        raise ValueError(f"unexpected part type {p.get('type')} for {kind}")
        return out

    @staticmethod
    def words(kind, req):
        if kind == "ollama" and "prompt" in req:
            text = req["prompt"]
        else:
            msgs = [m for m in req.get("messages", []) if m.get("role") == "user"]
            text = msgs[-1]["content"] if msgs else ""
            if isinstance(text, list):
                text = "".join(p.get("text", "") for p in text)
        out = ["echo:"] + text.split()
        return [w + " " for w in out[:-1]] + [out[-1]]


class Stream:
    """Writes one answer in the wire format of kind."""

    def __init__(self, h, kind, model, req):
        self.h, self.kind, self.model, self.req = h, kind, model, req
        self.chat = "messages" in req
        self.prompt_tokens = sum(len(str(m.get("content", ""))) for m in req.get("messages", [])) // 4 + \
            len(req.get("prompt", "")) // 4 + 1

    def begin(self):
        if self.kind == "ollama":
            self.h.start_stream("application/x-ndjson")
        else:
            self.h.start_stream("text/event-stream")
        if self.kind == "anthropic":
            self.event("message_start", {"type": "message_start", "message": {
                "id": "msg_fake", "type": "message", "role": "assistant", "model": self.model, "content": [],
                "stop_reason": None, "usage": {"input_tokens": self.prompt_tokens, "output_tokens": 1}}})
            self.event("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": {"type": "text", "text": ""}})
            self.event("ping", {"type": "ping"})

    def event(self, name, obj):
        self.h.chunk(f"event: {name}\ndata: {json.dumps(obj)}\n\n")

    def raw_unit(self, s):
        if self.kind == "ollama":
            self.h.chunk(s + "\n")
        else:
            self.h.chunk(f"data: {s}\n\n")

    def text(self, w):
        if self.kind == "ollama":
            o = {"model": self.model, "created_at": "2026-01-01T00:00:00Z", "done": False}
            if self.chat:
                o["message"] = {"role": "assistant", "content": w}
            else:
                o["response"] = w
            self.h.chunk(json.dumps(o) + "\n")
        elif self.kind == "openai":
            self.h.chunk("data: " + json.dumps({
                "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": self.model,
                "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}) + "\n\n")
        else:
            self.event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": w}})

    def tool_call(self, i, name, args):
        """One tool call, as each server streams it: OpenAI's indexed pieces (id and name
        first, the arguments in 3-character pieces), Anthropic's tool_use block with
        input_json_delta pieces, Ollama's whole call in one line."""
        pieces = [args[k:k + 3] for k in range(0, len(args), 3)]
        if self.kind == "openai":
            def chunk(call):
                self.h.chunk("data: " + json.dumps({
                    "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": self.model,
                    "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]}) + "\n\n")
            chunk({"index": i, "id": f"call_fake{i}", "type": "function",
                   "function": {"name": name, "arguments": ""}})
            for p in pieces:
                chunk({"index": i, "function": {"arguments": p}})
        elif self.kind == "anthropic":
            block = i + 1  # block 0 is the (empty) text block begin() opened
            if i == 0:
                self.event("content_block_stop", {"type": "content_block_stop", "index": 0})
            self.event("content_block_start", {"type": "content_block_start", "index": block, "content_block": {
                "type": "tool_use", "id": f"toolu_fake{i}", "name": name, "input": {}}})
            for p in pieces:
                self.event("content_block_delta", {"type": "content_block_delta", "index": block,
                                                   "delta": {"type": "input_json_delta", "partial_json": p}})
            self.event("content_block_stop", {"type": "content_block_stop", "index": block})
        else:
            try:
                parsed = json.loads(args)
            except ValueError:
                parsed = args  # Ollama's fault: arguments that are not an object
            self.h.chunk(json.dumps({"model": self.model, "created_at": "2026-01-01T00:00:00Z", "done": False,
                                     "message": {"role": "assistant", "content": "", "tool_calls": [
                                         {"function": {"index": i, "name": name, "arguments": parsed}}]}}) + "\n")

    def finish(self, n, why="stop"):
        if self.kind == "ollama":
            o = {"model": self.model, "done": True, "done_reason": "stop",
                 "prompt_eval_count": self.prompt_tokens, "eval_count": n}
            if self.chat:
                o["message"] = {"role": "assistant", "content": ""}
            else:
                o["response"] = ""
            self.h.chunk(json.dumps(o) + "\n")
        elif self.kind == "openai":
            self.h.chunk("data: " + json.dumps({
                "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": self.model,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if why == "tool" else "stop"}]})
                + "\n\n")
            if (self.req.get("stream_options") or {}).get("include_usage"):
                self.h.chunk("data: " + json.dumps({
                    "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": self.model,
                    "choices": [], "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": n,
                                             "total_tokens": self.prompt_tokens + n}}) + "\n\n")
            self.h.chunk("data: [DONE]\n\n")
        else:
            if why != "tool":
                self.event("content_block_stop", {"type": "content_block_stop", "index": 0})
            self.event("message_delta", {"type": "message_delta", "delta": {
                "stop_reason": "tool_use" if why == "tool" else "end_turn"}, "usage": {"output_tokens": n}})
            self.event("message_stop", {"type": "message_stop"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def start(port=0):
    """Starts the fake in a thread; returns the server (server.server_address[1] is the port)."""
    srv = Server(("127.0.0.1", port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    port = 0
    if len(sys.argv) == 3 and sys.argv[1] == "--port":
        port = int(sys.argv[2])
    srv = Server(("127.0.0.1", port), Handler)
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
