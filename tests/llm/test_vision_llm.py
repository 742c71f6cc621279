#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The vision service's neural tasks (detect_objects, classify, face_detection) against the
real llm service and a protocol-faithful fake OpenAI backend (fake_backend.py, model
"scripted" answers what each test scripts): good, fenced, malformed and out-of-range
replies, an llm without a vision model (503), a model too slow (504), VISION_LLM_URL unset
(501), and that the fake received the image as a data: URL.

Usage: test_vision_llm.py /path/to/ai-semble-vision /path/to/ai-semble-llm
"""
import http.client
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_backend  # noqa: E402
from tap import check, expect, summary  # noqa: E402

VISION = sys.argv[1] if len(sys.argv) > 1 else "ai-semble-vision"
LLM = sys.argv[2] if len(sys.argv) > 2 else "ai-semble-llm"


def png(width, height):
    """An RGB PNG of width × height (a red left half, blue right half), stdlib only."""
    row = b"".join(b"\xff\x00\x00" if x < width // 2 else b"\x00\x00\xff" for x in range(width))
    raw = b"".join(b"\x00" + row for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Service:
    def __init__(self, binary, listen_env, env):
        e = dict(os.environ)
        e.update(env)
        e[listen_env] = "127.0.0.1:0"
        e.pop("JOURNAL_STREAM", None)
        self.p = subprocess.Popen([binary], env=e, stderr=subprocess.PIPE, text=True)
        self.port = None
        deadline = time.time() + 15
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
            raise RuntimeError(f"{binary} did not start")
        threading.Thread(target=self.p.stderr.read, daemon=True).start()

    def stop(self):
        self.p.terminate()
        return self.p.wait(timeout=15)

    def request(self, method, path, body=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request(method, path, body=None if body is None else json.dumps(body),
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        raw = r.read()
        c.close()
        try:
            js = json.loads(raw) if raw else None
        except ValueError:
            js = None
        return r.status, js


def fake_call(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path, body=None if body is None else json.dumps(body))
    out = json.loads(c.getresponse().read())
    c.close()
    return out


def main():
    import base64
    import socket

    srv = fake_backend.start(0)
    fake = srv.server_address[1]
    tmp = tempfile.mkdtemp(prefix="vision-llm-test-")
    base = f"http://127.0.0.1:{fake}"
    with_vision = os.path.join(tmp, "vision.json")
    with open(with_vision, "w") as f:
        json.dump({"backends": [{"name": "oai", "kind": "openai", "base_url": base + "/v1", "retries": 0,
                                 "first_byte_timeout_ms": 20000,
                                 "models": [{"name": "echo-text", "quality": 9},
                                            {"name": "scripted", "vision": True, "quality": 1}]}]}, f)
    without = os.path.join(tmp, "novision.json")
    with open(without, "w") as f:
        json.dump({"backends": [{"name": "oai", "kind": "openai", "base_url": base + "/v1",
                                 "models": [{"name": "echo-text"}]}]}, f)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()

    llm = Service(LLM, "LLM_LISTEN", {"LLM_BACKENDS_FILE": with_vision, "HTTP_MAX_BODY": "8M"})
    llm_plain = Service(LLM, "LLM_LISTEN", {"LLM_BACKENDS_FILE": without, "HTTP_MAX_BODY": "8M"})
    common = {"VISION_CONCURRENCY": "2", "HTTP_MAX_BODY": "8M"}
    vis = Service(VISION, "VISION_LISTEN", dict(common, VISION_LLM_URL=f"http://127.0.0.1:{llm.port}/",
                                                VISION_LLM_TIMEOUT="2s"))
    vis_plain = Service(VISION, "VISION_LISTEN", dict(common, VISION_LLM_URL=f"http://127.0.0.1:{llm_plain.port}"))
    vis_dead = Service(VISION, "VISION_LISTEN", dict(common, VISION_LLM_URL=f"http://127.0.0.1:{dead}"))
    vis_off = Service(VISION, "VISION_LISTEN", dict(common))

    img = base64.b64encode(png(200, 100)).decode()

    def analyze(svc, task, script=None, image=img):
        if script is not None:
            fake_call(fake, "POST", "/_script", script)
        return svc.request("POST", "/analyze", {"task": task, "image_base64": image})

    @check("detect_objects: the model's boxes come back normalized and in pixels, method llm:<model>")
    def _():
        fake_call(fake, "POST", "/_reset", {})
        st, js = analyze(vis, "detect_objects",
                         {"text": '[{"label": "cat", "confidence": 0.9, "box": [0.5, 0.5, 0.25, 0.5]},'
                                  ' {"label": "dog", "confidence": 0.4, "box": [0, 0, 1, 1]}]'})
        expect(st == 200, f"{st} {js}")
        expect(js["analysis_type"] == "detect_objects" and js["confidence"] == 0.9, str(js))
        res = js["results"]
        expect(res["method"] == "llm:scripted" and res["count"] == 2, str(res))
        expect(res["width"] == 200 and res["height"] == 100, str(res))
        o = res["objects"][0]
        expect(o["label"] == "cat" and o["box"] == [0.5, 0.5, 0.25, 0.5], str(o))
        expect(o["box_pixels"] == {"x": 100, "y": 50, "width": 50, "height": 50}, str(o))
        expect(isinstance(js["processing_time"], float), str(js))
        st_ = fake_call(fake, "GET", "/_stats")
        expect(st_["images"] and st_["images"][0][0] == "image/jpeg", "the fake got a data:image/jpeg URL")
        jpeg = base64.b64decode(st_["images"][0][1])
        expect(jpeg[:3] == b"\xff\xd8\xff", "the image is a JPEG")
        body = st_["last"]["body"]
        expect(body["temperature"] == 0, str(body.get("temperature")))
        url = body["messages"][-1]["content"][1]["image_url"]["url"]
        expect(url.startswith("data:image/jpeg;base64,"), url[:40])

    @check("classify: a reply in a ```json fence is accepted; face_detection: boxes and confidence")
    def _():
        st, js = analyze(vis, "classify", {"text": '```json\n[{"label": "flag", "confidence": 0.8},'
                                                    ' {"label": "art", "confidence": 0.1}]\n```'})
        expect(st == 200 and js["results"]["labels"][0] == {"label": "flag", "confidence": 0.8}, f"{st} {js}")
        expect(js["confidence"] == 0.8 and js["results"]["method"] == "llm:scripted", str(js))
        st, js = analyze(vis, "face_detection", {"text": '[{"box": [0.1, 0.2, 0.3, 0.4], "confidence": 0.7}]'})
        expect(st == 200 and js["results"]["faces"][0]["box_pixels"] == {"x": 20, "y": 20, "width": 60,
                                                                          "height": 40}, f"{st} {js}")
        st, js = analyze(vis, "face_detection", {"text": "[]"})
        expect(st == 200 and js["results"]["faces"] == [] and js["confidence"] == 0, f"{st} {js}")

    @check("a reply that does not validate is a 502 naming what was wrong, never a label")
    def _():
        for task, text, word in (
                ("classify", "I think this is a cat.", "not JSON"),
                ("classify", '{"label": "cat", "confidence": 0.9}', "not a JSON array"),
                ("classify", '[{"label": "cat", "confidence": 1.5}]', "reply[0].confidence"),
                ("classify", '[{"confidence": 0.5}]', "reply[0].label"),
                ("classify", json.dumps([{"label": f"l{i}", "confidence": 0.1} for i in range(11)]), "more than 10"),
                ("detect_objects", '[{"label": "cat", "confidence": 0.5, "box": [0.9, 0, 0.5, 0.5]}]',
                 "inside the image"),
                ("detect_objects", '[{"label": "cat", "confidence": 0.5, "box": [0.1, 0.1, 0.2]}]', "reply[0].box"),
                ("face_detection", '[{"box": [0.1, "0.1", 0.2, 0.2], "confidence": 0.5}]', "reply[0].box[1]")):
            st, js = analyze(vis, task, {"text": text})
            expect(st == 502 and word in js["detail"], f"{task} {text!r}: {st} {js}")
            expect("labels" not in js and "results" not in js, str(js))

    @check("llm without a vision model: 503 with the llm's detail")
    def _():
        st, js = analyze(vis_plain, "classify")
        expect(st == 503 and '"vision"' in js["detail"] and "LLM_BACKENDS_FILE" in js["detail"], f"{st} {js}")

    @check("a model slower than VISION_LLM_TIMEOUT: 504")
    def _():
        t = time.time()
        st, js = analyze(vis, "classify", {"sleep": 4, "text": "[]"})
        expect(st == 504 and "VISION_LLM_TIMEOUT" in js["detail"], f"{st} {js}")
        expect(time.time() - t < 3.5, "answered at the timeout")

    @check("llm unreachable: 502 naming VISION_LLM_URL; readiness does not depend on the llm")
    def _():
        st, js = analyze(vis_dead, "detect_objects")
        expect(st == 502 and "VISION_LLM_URL" in js["detail"], f"{st} {js}")
        st, js = vis_dead.request("GET", "/health/ready")
        expect(st == 200, f"{st} {js}")

    @check("the image is checked as for every task before the llm is asked (415, 422)")
    def _():
        fake_call(fake, "POST", "/_reset", {})
        st, js = analyze(vis, "classify", {"text": "[]"}, image=base64.b64encode(b"not an image at all").decode())
        expect(st == 415, f"{st} {js}")
        st, js = analyze(vis, "classify", {"text": "[]"}, image=base64.b64encode(png(64, 64)[:60]).decode())
        expect(st == 422, f"{st} {js}")
        expect(fake_call(fake, "GET", "/_stats")["calls"] == {}, "no call reached the model")

    @check("VISION_LLM_URL unset: 501 naming VISION_LLM_URL")
    def _():
        for task in ("detect_objects", "classify", "face_detection"):
            st, js = analyze(vis_off, task)
            expect(st == 501 and "VISION_LLM_URL" in js["detail"] and js["errors"][0]["field"] == "task",
                   f"{task}: {st} {js}")

    rcs = [s_.stop() for s_ in (vis, vis_plain, vis_dead, vis_off, llm, llm_plain)]

    @check("every service drains and exits 0 on SIGTERM")
    def _():
        expect(rcs == [0] * 6, str(rcs))

    srv.shutdown()
    return summary("vision through llm")


if __name__ == "__main__":
    sys.exit(main())
