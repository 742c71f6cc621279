# SPDX-License-Identifier: MIT
"""hostrun.py — what the unit tests that run the real service binaries on the host share
(test-schedules-host.py, test-scale-out.py): start a binary with its log in a directory
and wait until GET /health/live answers on its port, or fail with the log's tail."""
import os
import subprocess
import time
import urllib.error
import urllib.request


def start(procs, tmp, name, argv, env, port, timeout=20):
    """Starts argv as procs[name], its output in tmp/name.log, until /health/live answers."""
    log = open(f"{tmp}/{name}.log", "a")
    procs[name] = subprocess.Popen([argv], env=dict(os.environ, **env), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=1).read()
            return
        except (urllib.error.URLError, ConnectionError):
            if procs[name].poll() is not None:
                break
            time.sleep(0.05)
    raise SystemExit(f"{name} did not start: {open(f'{tmp}/{name}.log').read()[-3000:]}")
