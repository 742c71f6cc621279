#!/usr/bin/python3
"""sink_receiver.py PORT SECRET_FILE LOG — a webhook receiver on 127.0.0.1 for the
supervisor's integration test: /webhook checks the X-Signature (HMAC-SHA256 over
"<ts>.<body>") and the alert JSON, /slack checks the Slack attachment payload. Each
request appends one line to LOG: "ok webhook LEVEL KEY", "ok slack COLOR", or "bad ..."."""
import hashlib
import hmac
import http.server
import json
import sys
import time

PORT, SECRET_FILE, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(SECRET_FILE, "rb") as f:
    SECRET = f.read().strip()
COLORS = {"INFO": "#36a64f", "WARNING": "#ff9900", "ERROR": "#ff0000", "CRITICAL": "#990000"}


def note(line):
    with open(LOG, "a") as f:
        f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            if self.path == "/webhook":
                sig = self.headers.get("X-Signature", "")
                parts = dict(p.split("=", 1) for p in sig.split(","))
                ts = parts["t"]
                want = hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(want, parts["v1"]):
                    raise ValueError("signature mismatch")
                if abs(time.time() - int(ts)) > 300:
                    raise ValueError("stale timestamp")
                a = json.loads(body)
                for k in ("id", "level", "message", "key", "timestamp", "count"):
                    if k not in a:
                        raise ValueError("missing " + k)
                note("ok webhook %s %s" % (a["level"], a["key"]))
            elif self.path == "/slack":
                p = json.loads(body)
                att = p["attachments"][0]
                level = att["title"].split("]")[0].lstrip("[")
                if att["color"] != COLORS[level] or not att["text"] or not isinstance(att["ts"], int):
                    raise ValueError("bad attachment %r" % att)
                note("ok slack %s %s" % (level, att["color"]))
            else:
                raise ValueError("unknown path " + self.path)
            self.send_response(204)
        except Exception as e:  # noqa: BLE001 — every failure is a test failure
            note("bad %s %s" % (self.path, e))
            self.send_response(400)
        self.end_headers()


http.server.HTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
