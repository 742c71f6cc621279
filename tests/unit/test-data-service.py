#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-data-service.py — the real ai-semble-data binary on an ephemeral port, checked
from outside with Python's standard library only: statistics against the `statistics`
module, CSV edge cases against the `csv` module, each refusal of the SQL guard, plots
that decode to the requested size, limits (413/400/422) and datasets that survive a
restart. Usage: test-data-service.py PATH-TO-ai-semble-data"""
import base64
import collections
import csv
import io
import json
import os
import random
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="test-data-service.")
ENV = dict(os.environ, DATA_LISTEN="127.0.0.1:0", DATA_DIR=f"{TMP}/datasets", DATA_PLOT_DIR=f"{TMP}/plots",
           DATA_MAX_UPLOAD="3M", DATA_MAX_JSON_BODY="512K", DATA_MAX_ROWS="60000", DATA_QUERY_TIMEOUT="500ms",
           DATA_MAX_STREAM_BYTES="4M", DATA_MAX_STREAM_ROWS="150000", HTTP_REQUEST_TIMEOUT="1s", LOG_LEVEL="info")
FAILURES = []
PROC = None
BASE = None


def start():
    """Starts the binary with its log in a file (a pipe nobody reads would block it)."""
    global PROC, BASE
    log = open(f"{TMP}/service.log", "a+")
    offset = log.tell()
    PROC = subprocess.Popen([BIN], env=ENV, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        log.seek(offset)
        m = re.search(r'listening on 127\.0\.0\.1:(\d+)', log.read())
        if m:
            BASE = f"http://127.0.0.1:{m.group(1)}"
            return
        if PROC.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit("the service did not start")


def stop():
    PROC.terminate()
    assert PROC.wait(10) == 0, "the service did not exit 0 on SIGTERM"


def request(method, path, body=None, content_type="application/json", headers=None):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None


def process(operation, data, options=None, headers=None):
    body = {"operation": operation, "data": data}
    if options is not None:
        body["options"] = options
    return request("POST", "/process", body, headers=headers)


def check(name, cond, detail=""):
    if cond:
        print(f"ok - {name}")
    else:
        print(f"not ok - {name} {detail}")
        FAILURES.append(name)


def close(a, b, rel=1e-9):
    return a is not None and b is not None and abs(a - b) <= rel * max(1.0, abs(a), abs(b))


# ---- statistics against Python's statistics module ----------------------------------
def t_analyze():
    rnd = random.Random(42)
    recs = []
    for i in range(2000):
        recs.append({
            "price": None if i % 17 == 0 else round(rnd.gauss(100, 15), 3),
            "qty": rnd.randint(0, 50),
            "city": rnd.choice(["tokyo", "osaka", "kyoto", "nagoya", "sapporo", "fukuoka"]),
        })
    st, r = process("analyze", {"records": recs}, {"top": 3})
    check("analyze 200", st == 200, r)
    cols = r["result"]["columns"]
    for name in ("price", "qty"):
        vals = [x[name] for x in recs if x[name] is not None]
        c = cols[name]
        q4 = statistics.quantiles(vals, n=4, method="inclusive")
        q20 = statistics.quantiles(vals, n=20, method="inclusive")
        want = {"count": len(vals), "nulls": len(recs) - len(vals), "distinct": len(set(vals)), "min": min(vals),
                "max": max(vals), "mean": statistics.fmean(vals), "median": statistics.median(vals),
                "stddev": statistics.stdev(vals), "p25": q4[0], "p75": q4[2], "p95": q20[18]}
        for k, v in want.items():
            check(f"analyze {name}.{k} = {v}", close(c.get(k), v), f"got {c.get(k)}")
    check("analyze price is real, qty integer", cols["price"]["type"] == "real" and cols["qty"]["type"] == "integer")
    top = collections.Counter(x["city"] for x in recs).most_common()
    top.sort(key=lambda kv: (-kv[1], kv[0]))
    check("analyze city top 3 = Counter", [(t["value"], t["count"]) for t in cols["city"]["top"]] == top[:3],
          cols["city"]["top"])
    check("analyze city distinct", cols["city"]["distinct"] == 6)
    check("analyze rows_processed", r["rows_processed"] == 2000)


def t_aggregate():
    rnd = random.Random(7)
    recs = [{"g": rnd.choice("abc"), "v": rnd.uniform(0, 1000)} for _ in range(500)]
    st, r = process("aggregate", {"records": recs},
                    {"group_by": "g", "aggregations": {"v": ["sum", "avg", "min", "max", "median", "p90", "stddev"],
                                                       "*": "count"}})
    check("aggregate 200", st == 200, r)
    by = collections.defaultdict(list)
    for x in recs:
        by[x["g"]].append(x["v"])
    for row in r["result"]["records"]:
        vals = by[row["g"]]
        check(f"aggregate {row['g']} sum/avg/median/p90/stddev/count",
              close(row["v_sum"], sum(vals)) and close(row["v_avg"], statistics.fmean(vals))
              and close(row["v_median"], statistics.median(vals))
              and close(row["v_p90"], statistics.quantiles(vals, n=10, method="inclusive")[8])
              and close(row["v_stddev"], statistics.stdev(vals)) and row["rows_count"] == len(vals)
              and row["v_min"] == min(vals) and row["v_max"] == max(vals), row)


# ---- CSV edge cases, compared with the csv module ------------------------------------
def t_csv_edges():
    text = '\ufeffname,note,n\r\n"Doe, J.","said ""hi""\nthen left",1\r\nplain,,2\r\n"x","multi\r\nline",3'
    st, r = process("convert", {"csv": text}, {"to": "json"})
    check("convert csv->json 200", st == 200, r)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    got = r["result"]["records"]
    want = [{"name": x["name"], "note": x["note"] or None, "n": int(x["n"])} for x in rows]
    check("BOM, CRLF, quotes, embedded newlines as the csv module reads them", got == want, f"{got} != {want}")
    st, r = process("convert", {"records": want}, {"to": "csv"})
    back = list(csv.DictReader(io.StringIO(r["result"]["csv"], newline="")))
    check("json->csv round trip", [dict(x) for x in back] == [dict(x) for x in rows], back)
    st, r = process("analyze", {"csv": 'a,b\n"unterminated,1\n'})
    check("unterminated quote 422 naming data.csv", st == 422 and r["errors"][0]["field"] == "data.csv", r)
    st, r = process("analyze", {"csv": "a,b\n1,2,3\n"})
    check("too many fields 422", st == 422 and "header" in r["detail"], r)
    # raw text/csv body, with ?operation=
    st, r = request("POST", "/process?operation=analyze", b"x\n1\n2\n3\n", "text/csv")
    check("raw text/csv body", st == 200 and r["result"]["columns"]["x"]["median"] == 2, r)


# ---- the guard ------------------------------------------------------------------------
def t_guard():
    data = {"csv": "a,b\n1,x\n2,y\n3,z\n"}
    cases = {
        "ATTACH DATABASE '/tmp/evil.db' AS evil": "no-attach",
        "PRAGMA table_info(records)": "no-pragma",
        "SELECT load_extension('/tmp/evil.so')": "no-load-extension",
        "DELETE FROM records": "no-write",
        "UPDATE records SET a = 0": "no-write",
        "INSERT INTO records VALUES (9, 'q')": "no-write",
        "DROP TABLE records": "no-write",
        "CREATE TABLE t (x)": "no-write",
        "SELECT * FROM sqlite_master": "records-only",
        "SELECT 1; DROP TABLE records": "one-statement",
        "BEGIN": "select-only",
    }
    for sql, rule in cases.items():
        st, r = process("query", data, {"sql": sql})
        check(f"query refused by {rule}: {sql}", st == 403 and rule in r["detail"]
              and r["errors"][0]["field"] == "options.sql", r)
    st, r = process("query", data, {"sql": "SELECT b, a * 10 AS t FROM records WHERE a >= :min ORDER BY a",
                                    "params": {"min": 2}})
    check("query with named params", st == 200 and r["result"]["records"] == [{"b": "y", "t": 20}, {"b": "z", "t": 30}],
          r)
    st, r = process("query", data, {"sql": "SELECT count(*) AS n FROM records WHERE b = ?", "params": ["x' OR '1'='1"]})
    check("bound parameters are values, not SQL", st == 200 and r["result"]["records"] == [{"n": 0}], r)
    t0 = time.time()
    st, r = process("query", data, {"sql": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                                           "SELECT count(*) FROM c"})
    check("runaway query stopped by DATA_QUERY_TIMEOUT", st == 422 and "DATA_QUERY_TIMEOUT" in r["detail"]
          and time.time() - t0 < 5, r)
    st, r = process("filter", data, {"where": "1) UNION SELECT * FROM sqlite_master --"})
    check("filter's where is guarded too", st in (403, 422), r)
    st, r = process("transform", data, {"derive": {"x": "(SELECT group_concat(sql) FROM sqlite_master)"}})
    check("transform's derive is guarded too", st == 403 and "records-only" in r["detail"], r)
    # Column names are user data: a hostile one is just a name.
    st, r = process("aggregate", {"csv": 'g,"v""); DROP TABLE records; --"\na,1\na,2\n'},
                    {"group_by": "g", "aggregations": {'v"); DROP TABLE records; --': "sum"}})
    check("hostile column names are quoted", st == 200 and r["result"]["records"][0]['v"); DROP TABLE records; --_sum'] == 3,
          r)


# ---- attacks: none crashes the service or outlives its answer --------------------------
def cpu_seconds():
    with open(f"/proc/{PROC.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def t_attacks():
    data = {"csv": "a\n1\n"}
    deep = "SELECT json(printf('%.*c', 5000, '[') || printf('%.*c', 5000, ']'))"
    chain = "WITH c0(v) AS (SELECT 1)" + "".join(f",c{i} AS (SELECT * FROM c{i - 1})" for i in range(1, 300))
    doubling = "WITH c0(v) AS (SELECT 1)" + "".join(f",c{i} AS (SELECT a.v FROM c{i - 1} a, c{i - 1} b)"
                                                    for i in range(1, 20))
    cases = [  # (operation, options, status, field, words in the detail)
        ("transform", {"derive": {"x": "printf('%.*c', 2000, 'a') LIKE '" + "%a" * 550 + "b'"}}, 422,
         "options.derive", "pattern too complex"),
        ("filter", {"where": "printf('%.*c', 2000, 'a') GLOB '" + "*a" * 600 + "b'"}, 422, "options.where",
         "pattern too complex"),
        ("query", {"sql": deep}, 422, "options.sql", "malformed JSON"),
        ("query", {"sql": doubling + " SELECT count(*) FROM c19"}, 422, "options.sql", ""),
        ("query", {"sql": "SELECT printf('%.*c', 2000000000, 'x')"}, 422, "options.sql", "limited to 100000"),
        ("query", {"sql": "SELECT fts3_tokenizer('simple')"}, 403, "options.sql", "allowed-functions"),
        ("query", {"sql": "SELECT json_patch('{}', '{}')"}, 403, "options.sql", "allowed-functions"),
        ("query", {"sql": "REINDEX"}, 403, "options.sql", "select-only"),
    ]
    for operation, options, status, field, words in cases:
        st, r = process(operation, data, options)
        check(f"attack {operation} {str(options)[:60]}: {status} naming {field}",
              st == status and r["errors"][0]["field"] == field and words in r["detail"], (st, r))
        check("the service is still up", PROC.poll() is None and request("GET", "/health/live")[0] == 200)
    # CPU of the service, not the wall clock: the machine may be busy.
    c0 = cpu_seconds()
    st, r = process("validate", {"csv": "v\naaa\n"}, {"patterns": {"v": "(((a{1,100}){1,100}){1,100})"}})
    check("a pattern of nested counted repeats is refused at once", st == 422 and cpu_seconds() - c0 < 1
          and r["errors"][0]["field"] == "options.patterns.v" and "too large" in r["detail"], r)
    st, r = process("query", data, {"sql": "SELECT json_valid(printf('%.*c', 100000, '[')) AS v"})
    check("json_valid of 100,000 '[' answers 0", st == 200 and r["result"]["records"] == [{"v": 0}], r)
    st, r = process("query", data, {"sql": chain + " SELECT v FROM c299"})
    check("300 chained CTEs answer", st == 200 and r["result"]["records"] == [{"v": 1}], r)
    # Work stops with its answer: each row of these costs a long function call.
    for name, sql in (("printf", "SELECT max(length(printf('%.*c', 100000, 'x') || i)) FROM r"),
                      ("LIKE", "SELECT max(hex(zeroblob(2000000)) || i LIKE '%' || hex(zeroblob(49)) || '1') FROM r")):
        c0 = cpu_seconds()
        st, r = process("query", data, {"sql": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) " + sql})
        took = cpu_seconds() - c0
        check(f"{name} bomb stopped by DATA_QUERY_TIMEOUT (500 ms) after {took:.2f} s of CPU",
              st == 422 and "DATA_QUERY_TIMEOUT" in r["detail"] and took < 2.5, r)
        before = cpu_seconds()
        time.sleep(1)
        spent = cpu_seconds() - before
        check(f"no CPU spent after the {name} bomb's answer ({spent:.2f} s in 1 s)", spent < 0.1)


# ---- operations' options ----------------------------------------------------------------
def t_operations():
    recs = [{"name": "ann", "age": 31, "email": "ann@example.org"},
            {"name": "bob", "age": -4, "email": "bob-at-example"},
            {"name": None, "age": 150, "email": "c@example.org"}]
    st, r = process("validate", {"records": recs}, {"required": ["name"], "types": {"age": "integer"},
                                                     "ranges": {"age": {"min": 0, "max": 120}},
                                                     "patterns": {"email": "[^@ ]+@[^@ ]+\\.[a-z]+"}})
    got = sorted((e["row"], e["column"], e["rule"]) for e in r["result"]["errors"])
    check("validate per-row errors", st == 200 and got == [(2, "age", "range"), (2, "email", "pattern"),
                                                          (3, "age", "range"), (3, "name", "required")]
          and r["result"]["invalid_rows"] == 2 and not r["result"]["valid"], r)
    st, r = process("transform", {"records": recs}, {"select": ["name", "age"], "rename": {"age": "years"},
                                                      "cast": {"age": "text"}, "derive": {"older": "age + 1"}})
    check("transform select/rename/cast/derive", st == 200 and r["result"]["records"][0] ==
          {"name": "ann", "years": "31", "older": 32}, r)
    st, r = process("filter", {"records": recs}, {"conditions": [{"column": "age", "op": ">", "value": 0},
                                                                 {"column": "email", "op": "contains", "value": "@"}]})
    check("filter conditions", st == 200 and [x["age"] for x in r["result"]["records"]] == [31, 150], r)
    st, r = process("filter", {"records": recs}, {"conditions": [{"column": "age", "op": "~", "value": 1}]})
    check("bad filter op: 422 naming options.conditions[0]", st == 422 and r["errors"][0]["field"] ==
          "options.conditions[0]", r)
    st, r = process("transform", {"records": recs}, {"select": ["nope"]})
    check("unknown column: 422 naming options.select[0]", st == 422 and r["errors"][0]["field"] == "options.select[0]",
          r)
    st, r = process("query", {"records": recs}, {"sql": "SELECT * FROM records", "limit": 0})
    check("limit out of range: 422 naming options.limit", st == 422 and r["errors"][0]["field"] == "limit", r)
    st, r = process("query", {"records": recs}, {"sql": "SELECT * FROM records", "limit": 2})
    check("limit truncates", st == 200 and r["result"]["count"] == 2 and r["result"]["truncated"], r)
    st, r = process("aggregate", {"records": recs})
    check("seed-style aggregate without options summarises numeric columns",
          st == 200 and r["result"]["records"] == [{"age_sum": 177, "age_avg": 59.0, "age_min": -4, "age_max": 150,
                                                    "rows_count": 3}], r)
    st, r = process("transform", {"records": recs})
    check("seed-style transform without options returns the rows", st == 200 and r["result"]["count"] == 3, r)
    st, r = process("frobnicate", {"records": recs})
    check("unknown operation 400", st == 400 and "frobnicate" in r["detail"], r)
    # GET /tasks is what the orchestrator routes by: every operation the 400 names, each on
    # POST /process selected by "operation", and each one known to /process.
    st, t = request("GET", "/tasks")
    names = [x["name"] for x in t["tasks"]]
    check("GET /tasks lists the operations /process knows", st == 200 and t["service"] == "data" and
          ", ".join(names) in r["detail"] and all(x["path"] == "/process" and x["field"] == "operation" and
                                                  x["idempotent"] for x in t["tasks"]), t)
    for name in names:
        st, r = process(name, {"records": recs})
        check(f"listed operation {name} is known", not (st == 400 and "unknown operation" in r.get("detail", "")),
              r)
    st, r = request("POST", "/process", b'{"operation": "analyze", "data": ', "application/json")
    check("malformed JSON 400", st == 400, r)
    st, r = process("analyze", {"records": recs, "csv": "a\n1\n"})
    check("two data sources: 422 naming data", st == 422 and r["errors"][0]["field"] == "data", r)
    st, r = process("analyze", {"records": [1, 2]})
    check("non-object record: 422 naming data.records[0]", st == 422 and r["errors"][0]["field"] == "data.records[0]", r)


# ---- plots -------------------------------------------------------------------------------
def png_size(blob):
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", blob[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", blob[16:24])


def svg_size(blob):
    m = re.search(rb'<svg[^>]*\swidth="([\d.]+)(?:px)?"[^>]*\sheight="([\d.]+)(?:px)?"', blob)
    return (float(m.group(1)), float(m.group(2))) if m else None


def t_plots():
    rnd = random.Random(3)
    recs = [{"t": i, "v": rnd.gauss(0, 1), "cat": rnd.choice("xyz")} for i in range(300)]
    for kind, extra in (("line", {"y": "v"}), ("scatter", {"y": "v"}), ("histogram", {"bins": 15}), ("bar", {})):
        x = "cat" if kind == "bar" else ("v" if kind == "histogram" else "t")
        for fmt, w, h in (("png", 640, 360), ("svg", 500, 300)):
            st, r = process("plot", {"records": recs}, dict(kind=kind, x=x, format=fmt, width=w, height=h,
                                                            title=f"{kind} chart", **extra))
            if st != 200:
                check(f"plot {kind} {fmt}", False, r)
                continue
            blob = base64.b64decode(r["result"]["data_base64"])
            size = png_size(blob) if fmt == "png" else svg_size(blob)
            check(f"plot {kind} {fmt} decodes at {w}x{h}", tuple(size) == (w, h) and r["result"]["bytes"] == len(blob),
                  size)
    st, r = process("plot", {"records": recs}, {"kind": "line", "x": "t", "y": "v", "output": "file", "name": "trend",
                                                "width": 300, "height": 200})
    path = r.get("result", {}).get("path") if st == 200 else None
    check("plot written to DATA_PLOT_DIR", path == f"{TMP}/plots/trend.png" and png_size(open(path, "rb").read()) ==
          (300, 200), r)
    st, r = process("plot", {"records": recs}, {"kind": "pie", "x": "t"})
    check("bad plot kind: 422 naming options.kind", st == 422 and r["errors"][0]["field"] == "options.kind", r)
    st, r = process("plot", {"records": recs}, {"kind": "line", "x": "t"})
    check("line without y: 422 naming options.y", st == 422 and r["errors"][0]["field"] == "options.y", r)
    st, r = process("plot", {"records": recs}, {"kind": "line", "x": "t", "y": "v", "width": 100000})
    check("width out of range: 422 naming width", st == 422 and r["errors"][0]["field"] == "width", r)
    st, r = process("plot", {"records": recs}, {"kind": "bar", "x": "t", "output": "file", "name": "../etc/x"})
    check("plot file names cannot traverse", st == 422 and r["errors"][0]["field"] == "options.name", r)


# ---- datasets and limits -------------------------------------------------------------------
def big_csv(rows):
    out = io.StringIO()
    out.write("id,value,label\n")
    rnd = random.Random(9)
    for i in range(rows):
        out.write(f"{i},{rnd.uniform(0, 100):.6f},item-{i % 97}\n")
    return out.getvalue().encode()


def raw_upload(path, body, chunked=False, piece=65536, stop_after=None, content_type="text/csv"):
    """POSTs text/csv over a raw socket, Content-Length or chunked, in pieces; keeps reading
    the answer when the server stops reading early. stop_after: close after that many bytes."""
    host, port = BASE[len("http://"):].split(":")
    s = socket.create_connection((host, int(port)), timeout=30)
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: {content_type}\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {len(body)}\r\n\r\n"
    try:
        s.sendall(head.encode())
        for i in range(0, len(body), piece):
            if stop_after is not None and i >= stop_after:
                s.close()
                return None, None
            part = body[i:i + piece]
            s.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n" if chunked else part)
        if chunked:
            s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused mid-body: the answer is already waiting
    raw = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            raw += b
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    m = re.match(rb"HTTP/1\.1 (\d+)", raw)
    body_start = raw.find(b"\r\n\r\n")
    return (int(m.group(1)) if m else 0), (json.loads(raw[body_start + 4:]) if body_start > 0 else raw)


def dataset_files():
    return sorted(os.listdir(f"{TMP}/datasets"))


def t_stream():
    """text/csv uploads stream: larger than DATA_MAX_UPLOAD, chunked or not, and a failed
    upload leaves nothing behind (nor replaces what was there)."""
    body = big_csv(140000)  # 3.2 MB: over DATA_MAX_UPLOAD (3M), under DATA_MAX_STREAM_BYTES (4M)
    check("streamed upload is bigger than DATA_MAX_UPLOAD", len(body) > 3 * 1024 * 1024)
    st, r = raw_upload("/datasets?name=big", body, piece=1000)
    check("streamed upload (Content-Length, small pieces) 201", st == 201 and r["rows"] == 140000 and
          [c["type"] for c in r["columns"]] == ["integer", "real", "text"], r)
    st, r = raw_upload("/datasets?name=bigc", body, chunked=True, piece=7777)
    check("streamed upload (chunked) 201", st == 201 and r["rows"] == 140000, r)
    st, r = process("aggregate", {"dataset": "bigc"}, {"aggregations": {"id": ["sum", "max"], "*": "count"}})
    check("streamed dataset holds every row", st == 200 and r["result"]["records"] ==
          [{"id_sum": 140000 * 139999 // 2, "id_max": 139999, "rows_count": 140000}], r)
    before = dataset_files()

    wide = b"a,b\n" + (b"1," + b"x" * 1000 + b"\n") * 5000  # 5 MB in 5000 rows
    st, r = raw_upload("/datasets?name=huge", wide)
    check("streamed upload over DATA_MAX_STREAM_BYTES 413 naming it",
          st == 413 and "DATA_MAX_STREAM_BYTES" in r["detail"], r)
    st, r = raw_upload("/datasets?name=huge", wide, chunked=True)
    check("chunked upload over DATA_MAX_STREAM_BYTES 413 naming it",
          st == 413 and "DATA_MAX_STREAM_BYTES" in r["detail"], r)
    st, r = raw_upload("/datasets?name=many", big_csv(160000))
    check("streamed rows over DATA_MAX_STREAM_ROWS 413 naming it",
          st == 413 and "DATA_MAX_STREAM_ROWS" in r["detail"], r)
    bad = body.replace(b"\n50000,", b'\n50000,"x"y', 1)
    st, r = raw_upload("/datasets?name=big&replace=true", bad)
    check("malformed CSV mid-upload 422 naming line and field",
          st == 422 and "line 50002, field 2" in r["detail"] and r["errors"][0]["field"] == "body", r)
    st, r = raw_upload("/datasets?name=ragged", b"a,b\n1,2\n1,2,3\n")
    check("ragged row 422", st == 422 and "row 2 has 3 fields" in r["detail"], r)
    st, r = raw_upload("/datasets?name=gone", body, stop_after=1024 * 1024)
    st, r = raw_upload("/datasets?name=gonec", body, chunked=True, stop_after=1024 * 1024)
    time.sleep(1.5)  # HTTP_REQUEST_TIMEOUT 1s: the server notices the short body
    check("failed uploads leave no file and replace nothing", dataset_files() == before, dataset_files())
    st, r = request("GET", "/datasets/big")
    check("a failed replace keeps the old dataset", st == 200 and r["rows"] == 140000, r)
    st, r = raw_upload("/datasets?name=big&replace=true", b"x,y\n1,2\n", chunked=True)
    check("a successful replace swaps it", st == 201 and r["rows"] == 1, r)
    st, r = raw_upload("/datasets?name=big", b"x,y\n1,2\n")
    check("409 before the body is read", st == 409, r)
    for n in ("big", "bigc"):
        request("DELETE", f"/datasets/{n}")


def t_datasets():
    body = big_csv(50000)  # ~1.3 MB: over HTTP_MAX_BODY's 1 MiB default, under DATA_MAX_UPLOAD
    check("upload is bigger than the common 1 MiB cap", len(body) > 1024 * 1024)
    st, r = request("POST", "/datasets?name=sales", body, "text/csv")
    check("upload CSV dataset 201", st == 201 and r["rows"] == 50000 and [c["type"] for c in r["columns"]] ==
          ["integer", "real", "text"], r)
    st, r = request("POST", "/datasets?name=sales", b"a\n1\n", "text/csv")
    check("existing dataset 409 without replace", st == 409, r)
    st, r = request("POST", "/datasets", {"name": "people", "records": [{"n": "a", "age": 3}, {"n": "b", "age": 5}]})
    check("upload JSON dataset 201", st == 201 and r["rows"] == 2, r)
    st, r = request("POST", "/datasets", {"name": "../evil", "records": [{"a": 1}]})
    check("bad dataset name 422 naming name", st == 422 and r["errors"][0]["field"] == "name", r)
    st, r = process("analyze", {"dataset": "sales"}, {"columns": ["value"]})
    vals = [float(line.split(b",")[1]) for line in body.splitlines()[1:]]
    check("analyze a stored dataset", st == 200 and r["rows_processed"] == 50000 and
          close(r["result"]["columns"]["value"]["mean"], statistics.fmean(vals)) and
          close(r["result"]["columns"]["value"]["median"], statistics.median(vals)), r)
    st, r = process("query", {"dataset": "sales"}, {"sql": "DELETE FROM records"})
    check("datasets are read-only to query", st == 403, r)
    st, r = process("analyze", {"dataset": "missing"})
    check("unknown dataset 404 naming data.dataset", st == 404 and r["errors"][0]["field"] == "data.dataset", r)

    stop()
    leftover = f"{TMP}/datasets/.crashed.4242.7.tmp"  # what a crash mid-insert leaves
    with open(leftover, "wb") as f:
        f.write(b"SQLite format 3\0")
    start()
    check("an unfinished upload left by a crash is removed at start", not os.path.exists(leftover))
    st, r = request("GET", "/datasets")
    names = sorted(d["name"] for d in r["datasets"])
    check("datasets survive a restart", st == 200 and names == ["people", "sales"], r)
    st, r = process("aggregate", {"dataset": "people"}, {"aggregations": {"age": "sum"}})
    check("query a dataset after restart", st == 200 and r["result"]["records"] == [{"age_sum": 8}], r)
    st, r = request("GET", "/datasets/sales")
    check("GET /datasets/{name}", st == 200 and r["rows"] == 50000, r)
    st, _ = request("DELETE", "/datasets/people")
    st2, _ = request("GET", "/datasets/people")
    check("DELETE then 404", st == 200 and st2 == 404, (st, st2))

    st, r = raw_upload("/process?operation=analyze", big_csv(140000))
    check("raw /process body over DATA_MAX_UPLOAD 413", st == 413 and "3145728 bytes" in r["detail"], r)
    st, r = request("POST", "/process?operation=analyze",
                    big_csv(61000)[:3 * 1024 * 1024 - 10].rsplit(b"\n", 1)[0], "text/csv")
    check("rows over DATA_MAX_ROWS 413", st == 413 and "DATA_MAX_ROWS" in r["detail"], r)
    # Refused on its Content-Length, before it is read: a raw socket reads the answer anyway.
    st, r = raw_upload("/datasets", json.dumps({"name": "j", "records": [{"a": "x" * 1000}] * 600}).encode(),
                       content_type="application/json")
    check("JSON dataset over DATA_MAX_JSON_BODY 413", st == 413 and "DATA_MAX_JSON_BODY" in r["detail"], r)
    st, r = process("analyze", {"records": [{"a": "x" * 1000}] * 600})
    check("JSON over DATA_MAX_JSON_BODY 413", st == 413 and "DATA_MAX_JSON_BODY" in r["detail"], r)
    st, r = request("GET", "/health/live")
    check("other routes keep the small common body cap", st == 200)


def t_dataset_owners():
    """X-Dataset-Owner gives each principal its own names: one owner's dataset is invisible
    to another and to a call without the header, and a crash's leftovers are swept there too."""
    a, b = {"X-Dataset-Owner": "a1" * 16}, {"X-Dataset-Owner": "b2" * 16}
    st, r = request("POST", "/datasets?name=mine", b"k,v\n1,10\n2,20\n", "text/csv", headers=a)
    check("owner a uploads 'mine'", st == 201 and r["rows"] == 2, r)
    st, r = request("POST", "/datasets", {"name": "mine", "records": [{"k": 7}]}, headers=b)
    check("owner b has its own 'mine'", st == 201 and r["rows"] == 1, r)
    st, r = process("aggregate", {"dataset": "mine"}, {"aggregations": {"v": "sum"}}, headers=a)
    check("owner a's operation reads a's dataset", st == 200 and r["result"]["records"] == [{"v_sum": 30}], r)
    st, r = process("analyze", {"dataset": "mine"})
    check("no owner: 404 naming data.dataset", st == 404 and r["errors"][0]["field"] == "data.dataset", r)
    st, r = request("GET", "/datasets", headers=b)
    check("owner b lists only its own", st == 200 and [(d["name"], d["rows"]) for d in r["datasets"]] == [("mine", 1)], r)
    st, r = request("GET", "/datasets")
    check("no owner lists none of theirs", st == 200 and "mine" not in [d["name"] for d in r["datasets"]], r)
    st, _ = request("DELETE", "/datasets/mine", headers=b)
    st2, r = request("GET", "/datasets/mine", headers=a)
    check("b's delete leaves a's", st == 200 and st2 == 200 and r["rows"] == 2, (st, st2, r))
    st, r = request("GET", "/datasets", headers={"X-Dataset-Owner": "../x"})
    check("a bad owner is a 400 naming the header", st == 400 and r["errors"][0]["field"] == "X-Dataset-Owner", r)
    stop()
    leftover = f"{TMP}/datasets/{'a1' * 16}/.crashed.4242.8.tmp"
    with open(leftover, "wb") as f:
        f.write(b"SQLite format 3\0")
    start()
    check("an owner's crash leftover is removed at start", not os.path.exists(leftover))
    st, _ = request("DELETE", "/datasets/mine", headers=a)
    check("owner a deletes its own", st == 200, st)


def main():
    start()
    try:
        for t in (t_analyze, t_aggregate, t_csv_edges, t_guard, t_attacks, t_operations, t_plots, t_datasets, t_dataset_owners, t_stream):
            try:
                t()
            except Exception as e:  # a crash in one group should not hide the others
                check(f"{t.__name__} ran", False, repr(e))
    finally:
        stop()
        shutil.rmtree(TMP, ignore_errors=True)
    print(f"{len(FAILURES)} failed" if FAILURES else "all passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
