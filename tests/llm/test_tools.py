#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tools, structured output, the sampling fields, embeddings and Anthropic's /v1/messages
through the real llm binary, against the protocol-faithful fakes (fake_backend.py) of the
three backend kinds on ephemeral 127.0.0.1 ports: each mapping in both directions,
streamed and not, with each protocol's faults (a tool call split across chunks, arguments
that are not JSON, a backend that ignores tools, vectors of the wrong length).

Usage: test_tools.py /path/to/ai-semble-llm   (meson runs it in the unit suite)
"""
import base64
import json
import os
import re
import struct
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_backend  # noqa: E402
from tap import check, expect, summary  # noqa: E402
from test_gateway import Service, reset, sse_events, stats  # noqa: E402

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather at a place",
    "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}}
CLOCK = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "degrees": {"type": "number"},
                                          "sunny": {"type": "boolean"}}, "required": ["city"]}
KINDS = (("oai", "openai"), ("oll", "ollama"), ("ant", "anthropic"))


def user(text):
    return [{"role": "user", "content": text}]


def sse_objects(raw):
    return [json.loads(e) for e in sse_events(raw) if e != "[DONE]"]


def anthropic_events(raw):
    """[(event, data)] of an Anthropic SSE stream."""
    out = []
    for block in raw.decode().split("\n\n"):
        lines = block.strip().split("\n")
        if len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "):
            out.append((lines[0][7:], json.loads(lines[1][6:])))
    return out


def assemble(chunks):
    """OpenAI streamed tool calls, put together by index."""
    calls = {}
    for c in chunks:
        for ch in c.get("choices", []):
            for t in ch.get("delta", {}).get("tool_calls", []) or []:
                e = calls.setdefault(t["index"], {"id": None, "name": None, "arguments": ""})
                if "id" in t:
                    e["id"] = t["id"]
                    e["name"] = t["function"]["name"]
                e["arguments"] += t["function"].get("arguments", "")
    return [calls[i] for i in sorted(calls)]


def main():
    srv = fake_backend.start(0)
    fake = srv.server_address[1]
    tmp = tempfile.mkdtemp(prefix="llm-tools-")
    key = os.path.join(tmp, "anthropic.key")
    with open(key, "w") as f:
        f.write("sk-ant-test\n")
    base = f"http://127.0.0.1:{fake}"

    def models(suffix):
        return [{"name": f"tool-{suffix}", "upstream_name": "tool-a", "auto": False},
                {"name": f"par-{suffix}", "upstream_name": "tool-parallel-a", "auto": False},
                {"name": f"bad-{suffix}", "upstream_name": "tool-badjson-a", "auto": False},
                {"name": f"badfb-{suffix}", "upstream_name": "tool-badjson-b", "auto": False,
                 "fallback": ["tool-oai"]},
                {"name": f"echo-{suffix}", "upstream_name": "echo-a", "auto": False},
                {"name": f"json-{suffix}", "upstream_name": "json-a", "auto": False}]
    cfg = {"backends": [
        {"name": "oai", "kind": "openai", "base_url": base + "/v1", "retries": 0, "allowed_fails": 100,
         "models": models("oai") + [
             {"name": "e-oai", "upstream_name": "embed-a", "embeddings": True},
             {"name": "tool-oai-auto", "upstream_name": "tool-a", "quality": 1},
             {"name": "reset-oai", "upstream_name": "fault-reset", "auto": False},
             {"name": "e-short", "upstream_name": "embed-short", "embeddings": True, "auto": False}]},
        {"name": "oll", "kind": "ollama", "base_url": base, "retries": 0, "allowed_fails": 100,
         "models": models("oll") + [
             {"name": "e-oll", "upstream_name": "embed-o", "embeddings": True, "auto": False},
             {"name": "good-oll", "upstream_name": "echo-o", "quality": 8},
             {"name": "e-nodims", "upstream_name": "embed-nodims", "embeddings": True, "auto": False}]},
        {"name": "ant", "kind": "anthropic", "base_url": base, "api_key_file": key, "retries": 0,
         "allowed_fails": 100, "models": models("ant") + [{"name": "best-ant", "upstream_name": "echo-c",
                                                             "quality": 10}]},
    ]}
    path = os.path.join(tmp, "backends.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    svc = Service({"LLM_BACKENDS_FILE": path})

    def chat(body, path_="/v1/chat/completions"):
        return svc.request("POST", path_, body)

    def last():
        return stats(fake)["last"]

    # -- tools, answered whole -------------------------------------------------------------
    for b, kind in KINDS:
        @check(f"tools to {kind}: the call comes back whole with finish_reason tool_calls")
        def _(b=b, kind=kind):
            reset(fake)
            st, r, js, _ = chat({"model": f"tool-{b}", "messages": user("weather in Lyon"), "tools": [WEATHER]})
            expect(st == 200, f"{st} {js}")
            ch = js["choices"][0]
            expect(ch["finish_reason"] == "tool_calls" and ch["message"]["content"] is None, str(ch))
            call = ch["message"]["tool_calls"][0]
            expect(call["type"] == "function" and call["function"]["name"] == "get_weather", str(call))
            expect(json.loads(call["function"]["arguments"]) == {"text": "weather in Lyon"}, str(call))
            want_id = {"openai": "call_fake0", "anthropic": "toolu_fake0"}.get(kind)
            expect(call["id"] == want_id if want_id else re.fullmatch(r"call_[0-9a-f]{24}", call["id"]),
                   call["id"])
            sent = last()["body"]["tools"][0]
            if kind == "anthropic":
                expect(sent == {"name": "get_weather", "description": "The weather at a place",
                                "input_schema": WEATHER["function"]["parameters"]}, str(sent))
            else:
                expect(sent == WEATHER, str(sent))

        @check(f"tools to {kind}, streamed: indexed delta.tool_calls pieces rebuild the call")
        def _(b=b, kind=kind):
            st, _, _, raw = chat({"model": f"tool-{b}", "stream": True, "messages": user("rain in Oslo"),
                                  "tools": [WEATHER]})
            chunks = sse_objects(raw)
            calls = assemble(chunks)
            expect(st == 200 and len(calls) == 1, f"{st} {calls}")
            expect(calls[0]["name"] == "get_weather" and json.loads(calls[0]["arguments"]) == {"text": "rain in Oslo"},
                   str(calls))
            pieces = sum(len(c["choices"][0]["delta"].get("tool_calls") or []) for c in chunks if c["choices"])
            if kind != "ollama":  # Ollama sends a call whole; the others in pieces, relayed as they come
                expect(pieces > 3, f"{pieces} pieces")
            finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1]
            expect(finish == "tool_calls", str(finish))

        @check(f"tool round trip on {kind}: the result reaches the backend in its format")
        def _(b=b, kind=kind):
            st, _, js, _ = chat({"model": f"tool-{b}", "messages": user("weather in Rome"), "tools": [WEATHER]})
            msg = js["choices"][0]["message"]
            call = msg["tool_calls"][0]
            msgs = user("weather in Rome") + [msg, {"role": "tool", "tool_call_id": call["id"], "content": "sunny, 24C"}]
            st, _, js, _ = chat({"model": f"tool-{b}", "messages": msgs, "tools": [WEATHER]})
            expect(st == 200 and js["choices"][0]["message"]["content"] == "tool said: sunny, 24C", f"{st} {js}")
            sent = last()["body"]["messages"]
            if kind == "anthropic":
                expect(sent[1]["content"][0]["type"] == "tool_use" and sent[2]["content"][0] == {
                    "type": "tool_result", "tool_use_id": call["id"], "content": "sunny, 24C"}, str(sent))
            elif kind == "ollama":
                expect(sent[1]["tool_calls"][0]["function"]["arguments"] == {"text": "weather in Rome"} and
                       sent[2] == {"role": "tool", "content": "sunny, 24C", "tool_name": "get_weather",
                                   "tool_call_id": call["id"]}, str(sent))
            else:
                expect(sent[1]["tool_calls"][0]["id"] == call["id"] and sent[2]["tool_call_id"] == call["id"], str(sent))

        @check(f"parallel tool calls from {kind}: two calls, numbered 0 and 1")
        def _(b=b, kind=kind):
            st, _, js, _ = chat({"model": f"par-{b}", "messages": user("both"), "tools": [WEATHER, CLOCK]})
            calls = js["choices"][0]["message"]["tool_calls"]
            expect(st == 200 and [c["function"]["name"] for c in calls] == ["get_weather", "get_time"], str(js))
            expect(len({c["id"] for c in calls}) == 2, str(calls))
            st, _, _, raw = chat({"model": f"par-{b}", "stream": True, "messages": user("both"),
                                  "tools": [WEATHER, CLOCK]})
            expect([c["name"] for c in assemble(sse_objects(raw))] == ["get_weather", "get_time"], raw.decode()[-300:])

        @check(f"arguments that are not a JSON object from {kind}: 502 naming the call, fallback when configured")
        def _(b=b, kind=kind):
            # OpenAI and Anthropic stream the arguments' text; Ollama sends an object, or here a string.
            why = "arguments object" if kind == "ollama" else "not a JSON object"
            st, _, js, _ = chat({"model": f"bad-{b}", "messages": user("x"), "tools": [WEATHER]})
            expect(st == 502 and why in js["detail"], f"{st} {js}")
            st, _, js, _ = chat({"model": f"badfb-{b}", "messages": user("x y"), "tools": [WEATHER]})
            expect(st == 200 and js["model"] == "tool-oai" and
                   js["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"text": "x y"}',
                   f"{st} {js}")
            st, _, js, raw = chat({"model": f"bad-{b}", "stream": True, "messages": user("x"), "tools": [WEATHER]})
            if kind == "ollama":  # its first line is refused, before anything went to the client
                expect(st == 502 and why in js["detail"], f"{st} {js}")
            else:  # the pieces went out as they came: the stream ends with the error
                err = json.loads(sse_events(raw)[-1])
                expect(st == 200 and why in err["error"]["message"], sse_events(raw)[-1])

        @check(f"a {kind} backend that ignores tools: its text, finish_reason stop, no tool_calls")
        def _(b=b, kind=kind):
            reset(fake)
            st, _, js, _ = chat({"model": f"echo-{b}", "messages": user("just talk"), "tools": [WEATHER]})
            ch = js["choices"][0]
            expect(st == 200 and ch["message"]["content"] == "echo: just talk" and ch["finish_reason"] == "stop" and
                   "tool_calls" not in ch["message"], str(js))
            expect(last()["body"].get("tools"), "the tools were sent: " + str(last()["body"]))

    @check("tool_choice per kind: required/named map to any/tool on Anthropic, 422 on Ollama")
    def _():
        st, _, js, _ = chat({"model": "tool-ant", "messages": user("t"), "tools": [WEATHER, CLOCK],
                             "tool_choice": {"type": "function", "function": {"name": "get_time"}},
                             "parallel_tool_calls": False})
        expect(st == 200 and js["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_time", str(js))
        expect(last()["body"]["tool_choice"] == {"type": "tool", "name": "get_time",
                                                 "disable_parallel_tool_use": True}, str(last()["body"]))
        st, _, js, _ = chat({"model": "tool-ant", "messages": user("t"), "tools": [WEATHER], "tool_choice": "required"})
        expect(st == 200 and last()["body"]["tool_choice"] == {"type": "any"}, str(last()["body"]))
        st, _, js, _ = chat({"model": "tool-oai", "messages": user("t"), "tools": [WEATHER], "tool_choice": "required",
                             "parallel_tool_calls": False})
        expect(st == 200 and last()["body"]["tool_choice"] == "required" and
               last()["body"]["parallel_tool_calls"] is False, str(last()["body"]))
        for extra, field in (({"tool_choice": "required"}, "tool_choice"),
                             ({"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}, "tool_choice"),
                             ({"parallel_tool_calls": False}, "parallel_tool_calls")):
            reset(fake)
            st, _, js, _ = chat(dict({"model": "tool-oll", "messages": user("t"), "tools": [WEATHER]}, **extra))
            expect(st == 422 and js["errors"][0]["field"] == field and "ollama" in js["errors"][0]["message"],
                   f"{extra}: {st} {js}")
            expect(stats(fake)["calls"] == {}, "nothing reached a backend")

    @check("tool_choice none: Anthropic gets {type: none}, Ollama no tools at all")
    def _():
        st, _, js, _ = chat({"model": "tool-ant", "messages": user("t"), "tools": [WEATHER], "tool_choice": "none"})
        expect(st == 200 and last()["body"]["tool_choice"] == {"type": "none"}, str(last()["body"]))
        st, _, js, _ = chat({"model": "tool-oll", "messages": user("quiet"), "tools": [WEATHER], "tool_choice": "none"})
        expect(st == 200 and js["choices"][0]["message"]["content"] == "echo: quiet" and
               "tools" not in last()["body"], str(last()["body"]))

    @check("tool validation: 422 naming the field (tools, tool_choice, tool messages, hybrid)")
    def _():
        for body, field in (
                ({"tools": [{"type": "code", "function": {"name": "x"}}]}, "tools[0]"),
                ({"tools": [{"type": "function", "function": {"name": "bad name"}}]}, "tools[0].function"),
                ({"tools": [dict(WEATHER, extra=1)]}, "tools[0].extra"),
                ({"tool_choice": "auto"}, "tool_choice"),
                ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
                 "tool_choice"),
                ({"tools": [WEATHER], "hybrid": {"mode": "first"}}, "hybrid")):
            st, _, js, _ = chat(dict({"model": "tool-oai", "messages": user("t")}, **body))
            expect(st == 422 and field in [e["field"] for e in js["errors"]], f"{body}: {st} {js}")
        msgs = user("t") + [{"role": "tool", "tool_call_id": "call_nowhere", "content": "r"}]
        st, _, js, _ = chat({"model": "tool-oai", "messages": msgs, "tools": [WEATHER]})
        expect(st == 422 and js["errors"][0]["field"] == "messages[1].tool_call_id", str(js))
        bad_args = [{"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{not json"}}]}]
        st, _, js, _ = chat({"model": "tool-oai", "messages": user("t") + bad_args})
        expect(st == 422 and js["errors"][0]["field"] == "messages[1].tool_calls[0].function", str(js))

    # -- structured output and the sampling fields ------------------------------------------
    @check("response_format json_schema per kind: passthrough, Ollama format, Anthropic output_config")
    def _():
        rf = {"type": "json_schema", "json_schema": {"name": "weather", "schema": SCHEMA, "strict": True}}
        for b, kind in KINDS:
            st, _, js, _ = chat({"model": f"json-{b}", "messages": user("Lyon"), "response_format": rf})
            expect(st == 200 and json.loads(js["choices"][0]["message"]["content"]) ==
                   {"city": "x", "degrees": 1.5, "sunny": True}, f"{kind}: {st} {js}")
            body = last()["body"]
            want = {"openai": lambda: body["response_format"] == rf,
                    "ollama": lambda: body["format"] == SCHEMA,
                    "anthropic": lambda: body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}}
            expect(want[kind](), f"{kind}: {body}")

    @check("response_format json_object: OpenAI and Ollama (\"json\"); Anthropic 422 naming response_format")
    def _():
        rf = {"type": "json_object"}
        st, _, js, _ = chat({"model": "json-oll", "messages": user("x"), "response_format": rf})
        expect(st == 200 and last()["body"]["format"] == "json" and
               json.loads(js["choices"][0]["message"]["content"]) == {"ok": True}, str(js))
        st, _, js, _ = chat({"model": "json-oai", "messages": user("x"), "response_format": rf})
        expect(st == 200 and last()["body"]["response_format"] == rf, str(last()["body"]))
        st, _, js, _ = chat({"model": "json-ant", "messages": user("x"), "response_format": rf})
        expect(st == 422 and js["errors"][0]["field"] == "response_format" and
               "anthropic" in js["errors"][0]["message"], str(js))

    @check("stop, seed, penalties, user: OpenAI passthrough, Ollama options, Anthropic stop_sequences/metadata")
    def _():
        fields = {"stop": ["END", "\n\n"], "seed": 42, "presence_penalty": 0.5, "frequency_penalty": -0.25}
        st, _, js, _ = chat(dict({"model": "echo-oai", "messages": user("s"), "user": "u-1"}, **fields))
        body = last()["body"]
        expect(st == 200 and all(body[k] == v for k, v in fields.items()) and body["user"] == "u-1", str(body))
        st, _, js, _ = chat(dict({"model": "echo-oll", "messages": user("s")}, **fields))
        opts = last()["body"]["options"]
        expect(st == 200 and all(opts[k] == v for k, v in fields.items()), str(opts))
        st, _, js, _ = chat({"model": "echo-ant", "messages": user("s"), "stop": "END", "user": "u-2"})
        body = last()["body"]
        expect(st == 200 and body["stop_sequences"] == ["END"] and body["metadata"] == {"user_id": "u-2"}, str(body))
        for m, extra, field in (("echo-ant", {"seed": 1}, "seed"), ("echo-ant", {"presence_penalty": 1}, "presence_penalty"),
                                ("echo-oll", {"user": "u"}, "user")):
            st, _, js, _ = chat(dict({"model": m, "messages": user("s")}, **extra))
            expect(st == 422 and js["errors"][0]["field"] == field, f"{m} {extra}: {st} {js}")

    @check("n other than 1, and fields this gateway does not know: 422 naming them")
    def _():
        for extra, field in (({"n": 2}, "n"), ({"logprobs": True}, "logprobs"), ({"functions": []}, "functions"),
                             ({"response_format": {"type": "json_object", "x": 1}}, "response_format.x")):
            st, _, js, _ = chat(dict({"model": "echo-oai", "messages": user("s")}, **extra))
            expect(st == 422 and field in [e["field"] for e in js["errors"]], f"{extra}: {st} {js}")
        st, _, js, _ = chat({"model": "echo-oai", "prompt": "p", "tools": [WEATHER]}, "/v1/completions")
        expect(st == 422 and js["errors"][0]["field"] == "tools", str(js))

    @check("model=auto passes over backends whose kind cannot honour the request")
    def _():
        st, _, js, _ = chat({"model": "auto", "messages": user("s")})
        expect(st == 200 and js["model"] == "best-ant", f"{st} {js}")
        st, _, js, _ = chat({"model": "auto", "messages": user("s"), "seed": 3})
        expect(st == 200 and js["model"] == "good-oll", f"{st} {js}")
        st, _, js, _ = chat({"model": "auto", "messages": user("s"), "seed": 3, "tool_choice": "required",
                             "tools": [WEATHER], "user": "u"})
        expect(st == 200 and js["model"] == "tool-oai-auto", f"{st} {js}")

    # -- the seed's /chat ---------------------------------------------------------------------
    @check("/chat with tools: message.tool_calls in JSON, and in its own NDJSON line when streamed")
    def _():
        st, _, js, _ = chat({"model": "tool-oll", "messages": user("seed tools"), "tools": [WEATHER]}, "/chat")
        expect(st == 200 and js["finish_reason"] == "tool_calls" and
               js["message"]["tool_calls"][0]["function"]["name"] == "get_weather", str(js))
        st, _, _, raw = chat({"model": "tool-ant", "stream": True, "messages": user("seed tools"),
                              "tools": [WEATHER]}, "/chat")
        lines = [json.loads(x) for x in raw.decode().splitlines()]
        expect(lines[-2]["message"]["tool_calls"][0]["function"]["arguments"] == '{"text": "seed tools"}' and
               lines[-1]["done"] is True and lines[-1]["done_reason"] == "tool_calls", str(lines))

    # -- embeddings -------------------------------------------------------------------------
    def fake_vector(text, dims=8):
        h = __import__("hashlib").sha256(text.encode()).digest() * (dims // 32 + 1)
        return [round((b - 128) / 128.0, 6) for b in h[:dims]]

    @check("embeddings from OpenAI and Ollama backends: vectors in input order, usage from the backend")
    def _():
        for model, path_ in (("e-oai", "/v1/embeddings"), ("e-oll", "/api/embed")):
            st, r, js, _ = svc.request("POST", "/v1/embeddings", {"model": model, "input": ["one two", "three"]})
            expect(st == 200 and js["object"] == "list" and js["model"] == model, f"{model}: {st} {js}")
            expect([d["index"] for d in js["data"]] == [0, 1] and
                   js["data"][1]["embedding"] == fake_vector("three"), str(js["data"]))
            expect(js["usage"] == {"prompt_tokens": 3, "total_tokens": 3}, str(js["usage"]))
            expect(last()["path"] == path_ and r.getheader("X-LLM-Model") == model, last()["path"])
        st, _, js, _ = svc.request("POST", "/v1/embeddings", {"model": "e-oll", "input": "solo"})
        expect(st == 200 and len(js["data"]) == 1 and last()["body"]["input"] == ["solo"] and
               last()["body"]["truncate"] is False, str(last()["body"]))

    @check("embeddings: base64 is the little-endian float32 bytes; dimensions passed and checked")
    def _():
        st, _, js, _ = svc.request("POST", "/v1/embeddings", {"model": "e-oll", "input": "b64",
                                                              "encoding_format": "base64"})
        raw = base64.b64decode(js["data"][0]["embedding"])
        got = struct.unpack("<8f", raw)
        expect(st == 200 and all(abs(a - b) < 1e-6 for a, b in zip(got, fake_vector("b64"))), str(got))
        st, _, js, _ = svc.request("POST", "/v1/embeddings", {"model": "e-oai", "input": "d", "dimensions": 4})
        expect(st == 200 and js["data"][0]["embedding"] == fake_vector("d", 4) and
               last()["body"]["dimensions"] == 4 and last()["body"]["encoding_format"] == "float", str(js))
        st, _, js, _ = svc.request("POST", "/v1/embeddings", {"model": "e-nodims", "input": "d", "dimensions": 4})
        expect(st == 502 and "dimensions" in js["detail"], f"{st} {js}")
        st, _, js, _ = svc.request("POST", "/v1/embeddings", {"model": "e-short", "input": ["a", "b"]})
        expect(st == 502 and "1 embeddings for 2 inputs" in js["detail"], f"{st} {js}")

    @check("embeddings are routed to embeddings models only, and counted in the token metrics")
    def _():
        def tokens():
            _, _, _, m = svc.request("GET", "/metrics")
            g = re.search(rb'ai_semble_llm_tokens_total\{backend="oai",model="e-oai",type="prompt"\} (\d+)', m)
            return int(g.group(1)) if g else 0
        before = tokens()
        st, _, js, _ = svc.request("POST", "/v1/embeddings", {"model": "auto", "input": "a b c d e"})
        expect(st == 200 and js["model"] == "e-oai" and tokens() == before + 5, f"{st} {js} {tokens()}")
        st, _, js, _ = svc.request("POST", "/v1/embeddings", {"model": "echo-oai", "input": "x"})
        expect(st == 422 and js["errors"][0]["field"] == "model" and "embeddings" in js["errors"][0]["message"],
               str(js))
        st, _, js, _ = chat({"model": "e-oai", "messages": user("x")})
        expect(st == 422 and js["errors"][0]["field"] == "model" and "/v1/embeddings" in js["errors"][0]["message"],
               str(js))
        for body, field in (({"model": "e-oai", "input": [1, 2]}, "input[0]"),
                            ({"model": "e-oai", "input": "x", "encoding_format": "hex"}, "encoding_format"),
                            ({"model": "e-oll", "input": "x", "user": "u"}, "user"),
                            ({"model": "e-oai"}, "input")):
            st, _, js, _ = svc.request("POST", "/v1/embeddings", body)
            expect(st == 422 and js["errors"][0]["field"] == field, f"{body}: {st} {js}")

    # -- Anthropic's Messages API inbound ---------------------------------------------------
    def messages(body):
        return svc.request("POST", "/v1/messages", dict({"max_tokens": 64}, **body),
                           headers={"anthropic-version": "2023-06-01", "x-api-key": "unused"})

    for b, kind in KINDS:
        @check(f"/v1/messages onto {kind}: a message object, system and stop_sequences mapped")
        def _(b=b, kind=kind):
            st, _, js, _ = messages({"model": f"echo-{b}", "system": "be brief",
                                     "messages": [{"role": "user", "content": [{"type": "text", "text": "hi there"}]}]})
            expect(st == 200 and js["type"] == "message" and js["role"] == "assistant" and
                   js["content"] == [{"type": "text", "text": "echo: hi there"}] and js["stop_reason"] == "end_turn",
                   f"{st} {js}")
            expect(js["usage"]["input_tokens"] > 0 and js["usage"]["output_tokens"] > 0, str(js["usage"]))
            sent = last()["body"]
            system = sent.get("system") if kind == "anthropic" else sent["messages"][0]["content"]
            expect(system == "be brief", str(sent))

        @check(f"/v1/messages streamed onto {kind}: Anthropic's event sequence")
        def _(b=b, kind=kind):
            st, r, _, raw = messages({"model": f"echo-{b}", "stream": True, "messages": user("a b c")})
            ev = anthropic_events(raw)
            names = [e for e, _ in ev]
            expect(st == 200 and r.getheader("Content-Type") == "text/event-stream", str(st))
            expect(names[0] == "message_start" and names[1] == "content_block_start" and
                   names[-3:] == ["content_block_stop", "message_delta", "message_stop"] and
                   set(names[2:-3]) == {"content_block_delta"}, str(names))
            text = "".join(d["delta"]["text"] for e, d in ev if e == "content_block_delta")
            expect(text == "echo: a b c" and ev[-2][1]["delta"]["stop_reason"] == "end_turn", text)

        @check(f"/v1/messages tools onto {kind}: tool_use blocks, streamed with input_json_delta, round trip")
        def _(b=b, kind=kind):
            tools = [{"name": "get_weather", "description": "d", "input_schema": WEATHER["function"]["parameters"]}]
            st, _, js, _ = messages({"model": f"tool-{b}", "messages": user("weather in Nice"), "tools": tools})
            expect(st == 200 and js["stop_reason"] == "tool_use", f"{st} {js}")
            use = [c for c in js["content"] if c["type"] == "tool_use"][0]
            expect(use["name"] == "get_weather" and use["input"] == {"text": "weather in Nice"}, str(use))
            st, _, _, raw = messages({"model": f"tool-{b}", "stream": True, "messages": user("weather in Nice"),
                                      "tools": tools})
            ev = anthropic_events(raw)
            start = [d for e, d in ev if e == "content_block_start" and d["content_block"]["type"] == "tool_use"]
            parts = "".join(d["delta"]["partial_json"] for e, d in ev
                            if e == "content_block_delta" and d["delta"]["type"] == "input_json_delta")
            expect(len(start) == 1 and json.loads(parts) == {"text": "weather in Nice"} and
                   [d for e, d in ev if e == "message_delta"][0]["delta"]["stop_reason"] == "tool_use",
                   raw.decode()[-400:])
            msgs = user("weather in Nice") + [
                {"role": "assistant", "content": [use]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"], "content": "windy"},
                                             {"type": "text", "text": "and so?"}]}]
            st, _, js, _ = messages({"model": f"tool-{b}", "messages": msgs, "tools": tools})
            expect(st == 200 and js["content"] == [{"type": "text", "text": "tool said: windy"}], f"{st} {js}")
            sent = last()["body"]["messages"]
            if kind == "anthropic":
                expect(sent[2]["content"] == [{"type": "tool_result", "tool_use_id": use["id"], "content": "windy"},
                                              {"type": "text", "text": "and so?"}], str(sent))
            else:
                expect(sent[2]["role"] == "tool" and sent[2]["tool_call_id"] == use["id"] and
                       sent[3] == {"role": "user", "content": "and so?"}, str(sent))

    @check("/v1/messages: tool_choice any/tool, disable_parallel_tool_use, output_config and metadata mapped")
    def _():
        tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
        st, _, js, _ = messages({"model": "tool-oai", "messages": user("x"), "tools": tools,
                                 "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
                                 "metadata": {"user_id": "u-9"}})
        body = last()["body"]
        expect(st == 200 and body["tool_choice"] == "required" and body["parallel_tool_calls"] is False and
               body["user"] == "u-9", f"{st} {body}")
        st, _, js, _ = messages({"model": "json-oll", "messages": user("x"),
                                 "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}})
        expect(st == 200 and json.loads(js["content"][0]["text"])["city"] == "x" and last()["body"]["format"] == SCHEMA,
               f"{st} {js}")

    @check("/v1/messages when the backend fails: an error event midway, a 502 before anything went out")
    def _():
        st, _, _, raw = messages({"model": "reset-oai", "stream": True, "messages": user("one two three four")})
        ev = anthropic_events(raw)
        expect(st == 200 and ev[0][0] == "message_start" and ev[-1][0] == "error" and
               ev[-1][1]["error"]["type"] == "api_error" and "broke" in ev[-1][1]["error"]["message"], str(ev[-2:]))
        expect("message_stop" not in [e for e, _ in ev], str([e for e, _ in ev]))
        st, _, js, _ = messages({"model": "reset-oai", "messages": user("one two three four")})
        expect(st == 502 and "broke" in js["detail"], f"{st} {js}")

    @check("/v1/messages validation: 422 naming the field")
    def _():
        for body, field in (({"model": "echo-oai", "messages": user("x"), "thinking": {"type": "enabled"}}, "thinking"),
                            ({"model": "echo-oai", "messages": [{"role": "system", "content": "x"}]},
                             "messages[0].role"),
                            ({"model": "echo-oai", "messages": [{"role": "user", "content": [
                                {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]}]},
                             "messages[0].content[0].source"),
                            ({"model": "echo-oai", "messages": [{"role": "user", "content": [
                                {"type": "tool_result", "tool_use_id": "t1", "content": "r"}]}]},
                             "messages[0].tool_call_id"),
                            ({"model": "echo-oll", "messages": user("x"), "metadata": {"user_id": "u"}},
                             "metadata.user_id"),
                            ({"model": "echo-oai", "messages": user("x"), "top_k": 5}, "top_k")):
            st, _, js, _ = messages(body)
            expect(st == 422 and field in [e["field"] for e in js["errors"]], f"{body}: {st} {js}")
        st, _, js, _ = svc.request("POST", "/v1/messages", {"model": "echo-oai", "messages": user("x")})
        expect(st == 422 and js["errors"][0]["field"] == "max_tokens", str(js))

    rc = svc.stop()

    @check("the service exits 0 on SIGTERM")
    def _():
        expect(rc == 0, f"exit {rc}")

    srv.shutdown()
    return summary("llm tools, structured output, embeddings, /v1/messages")


if __name__ == "__main__":
    sys.exit(main())
