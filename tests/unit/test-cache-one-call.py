#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-cache-one-call.py — the result cache on the host with the real binaries: the
orchestrator in front of the real vision service, each on an ephemeral loopback port.
1,000 identical OCR requests (extract_text) through the orchestrator cost the vision
service ONE request, counted by its own vision_requests_total; the first answer says
X-Cache: miss, the 999 others (four clients at once) hit, and the orchestrator's
orch_cache_* metrics agree; one request with Cache-Control: no-cache then costs one more.

Usage: test-cache-one-call.py ORCHESTRATOR VISION [N]   (N = 1000)
"""
import base64
import http.client
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

ORCH, VISION = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
TMP = tempfile.mkdtemp(prefix="test-cache-one-call.")
PROCS = []


def png(width, height):
    """A white image with a black bar: a real PNG for Tesseract, made without a library."""
    rows = b""
    for y in range(height):
        row = bytes([0 if height // 3 <= y < 2 * height // 3 and 4 <= x < width - 4 else 255 for x in range(width)])
        rows += b"\x00" + row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def start(binary, name, env):
    """Starts a service on port 0 and returns the port it says it listens on."""
    log = open(f"{TMP}/{name}.log", "a+")
    proc = subprocess.Popen([binary], env=dict(os.environ, LOG_LEVEL="info", **env), stdout=log,
                            stderr=subprocess.STDOUT)
    PROCS.append(proc)
    deadline = time.time() + 20
    while time.time() < deadline:
        log.seek(0)
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read())
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    log.seek(0)
    raise SystemExit(f"{name} did not start:\n{log.read()[-2000:]}")


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    assert r.status == 200, f"GET {path}: {r.status} {body[:300]}"
    return body


def metric(text, name, labels=""):
    """The sum of a metric's samples whose labels contain the given text."""
    total = 0.0
    for line in text.splitlines():
        m = re.match(rf"{name}(\{{[^}}]*\}})? (\S+)$", line)
        if m and labels in (m.group(1) or ""):
            total += float(m.group(2))
    return total


def ocr_calls(port):
    return metric(get(port, "/metrics"), "vision_requests_total", 'task="extract_text"')


def main():
    vision_port = start(VISION, "vision", {"VISION_LISTEN": "127.0.0.1:0"})
    orch_port = start(ORCH, "orchestrator", {
        "ORCHESTRATOR_LISTEN": "127.0.0.1:0", "ORCH_AUTH": "off", "ORCH_DB_PATH": f"{TMP}/orch.db",
        "VISION_SERVICE_URL": f"http://127.0.0.1:{vision_port}",
        # Nothing listens on port 1: the other services are not part of this test.
        "LLM_SERVICE_URL": "http://127.0.0.1:1", "NLP_SERVICE_URL": "http://127.0.0.1:1",
        "DATA_PROCESSOR_URL": "http://127.0.0.1:1",
        "ORCH_CACHE_MAX_BYTES": "16M", "ORCH_CACHE_TTL": "10m"})
    body = ('{"task":"extract_text","image_base64":"%s"}' % base64.b64encode(png(64, 32)).decode()).encode()
    before = ocr_calls(vision_port)
    seen = {}
    lock = threading.Lock()
    errors = []

    def send(count):
        c = http.client.HTTPConnection("127.0.0.1", orch_port, timeout=60)
        for _ in range(count):
            c.request("POST", "/ai/vision/analyze", body, {"Content-Type": "application/json"})
            r = c.getresponse()
            text = r.read()
            with lock:
                if r.status != 200:
                    errors.append(f"HTTP {r.status}: {text[:300]!r}")
                seen[r.getheader("X-Cache")] = seen.get(r.getheader("X-Cache"), 0) + 1
        c.close()

    send(1)  # the miss, alone: hits cannot race it
    assert seen == {"miss": 1}, f"first answer: {seen} {errors}"
    clients = 4
    threads = [threading.Thread(target=send, args=((N - 1) // clients + (i < (N - 1) % clients),))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert seen == {"miss": 1, "hit": N - 1}, seen
    calls = ocr_calls(vision_port) - before
    assert calls == 1, f"{N} requests cost the vision service {calls} OCR requests"
    m = get(orch_port, "/metrics")
    assert metric(m, "orch_cache_hits_total") == N - 1, metric(m, "orch_cache_hits_total")
    assert metric(m, "orch_cache_misses_total") == 1, metric(m, "orch_cache_misses_total")
    assert metric(m, "orch_cache_entries") == 1, metric(m, "orch_cache_entries")
    # The counter does count what passes the orchestrator: a bypass is one more OCR.
    c = http.client.HTTPConnection("127.0.0.1", orch_port, timeout=60)
    c.request("POST", "/ai/vision/analyze", body, {"Content-Type": "application/json", "Cache-Control": "no-cache"})
    r = c.getresponse()
    r.read()
    assert (r.status, r.getheader("X-Cache")) == (200, "bypass"), (r.status, r.getheader("X-Cache"))
    assert ocr_calls(vision_port) - before == 2, ocr_calls(vision_port) - before
    print(f"ok: {N} identical OCR requests through the orchestrator, 1 OCR request on the vision service "
          f"(X-Cache: {seen})")


try:
    main()
finally:
    for p in PROCS:
        p.terminate()
    for p in PROCS:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
    subprocess.run(["rm", "-rf", TMP], check=False)
