#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Hybrid mode "first": how fast the answer comes and how fast the loser's connection is
closed, against the fake backends (fake_backend.py) on ephemeral 127.0.0.1 ports.

Usage: bench_hybrid.py /path/to/ai-semble-llm [runs]   (prints medians)
"""
import http.client
import json
import os
import statistics
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_backend  # noqa: E402
from test_gateway import Service, reset, stats  # noqa: E402


def main():
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    srv = fake_backend.start(0)
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    cfg = {"backends": [
        {"name": "oai", "kind": "openai", "base_url": base + "/v1", "models": [{"name": "slow-start-a"}]},
        {"name": "oll", "kind": "ollama", "base_url": base, "models": [{"name": "echo-o"}]}]}
    path = os.path.join(tempfile.mkdtemp(prefix="llm-bench-hybrid-"), "backends.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    svc = Service({"LLM_BACKENDS_FILE": path})
    ans, gone = [], []
    for _ in range(runs):
        reset(srv.server_address[1])
        t0 = time.perf_counter()
        c = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=10)
        c.request("POST", "/completion", body=json.dumps(
            {"prompt": "hello there", "hybrid": {"mode": "first", "models": ["slow-start-a", "echo-o"]}}),
            headers={"Content-Type": "application/json"})
        c.getresponse().read()
        c.close()
        ans.append((time.perf_counter() - t0) * 1000)
        while stats(srv.server_address[1])["cancelled"] != 1:
            time.sleep(0.002)
        gone.append((time.perf_counter() - t0) * 1000)
    svc.stop()
    srv.shutdown()
    print(f"hybrid first, {runs} runs: answer median {statistics.median(ans):.1f} ms (max {max(ans):.1f}); "
          f"loser's disconnect seen by the backend median {statistics.median(gone):.0f} ms (max {max(gone):.0f})")


if __name__ == "__main__":
    main()
