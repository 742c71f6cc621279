# shellcheck shell=bash
# lib-pod.sh — what the benchmarks that load the running pod share (update-load.sh,
# saturate.sh, published.sh), sourced after scripts/lib/common.sh: wrk on a synchronous nlp
# task through the published port with an operator token (TOKEN, else one from deploy.sh
# token), every request past the result cache, and the reading of wrk's totals.

url=http://127.0.0.1:8080
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
token=${TOKEN:-$("$AI_SEMBLE_ROOT/scripts/deploy.sh" token --role operator --sub bench --ttl 1h)} ||
        die "no token: is the pod installed (./scripts/deploy.sh start)?"
curl -sf -m 5 "$url/health/ready" | jq -e '.status == "ready"' >/dev/null || die "the pod is not ready on $url"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The request, for the scripts that print wrk's figures their own way (published.sh).
cat >"$work/request.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"text":"The quick brown fox is happy today.","task":"sentiment"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Cache-Control"] = "no-cache" -- every request reaches nlp, none is a cache hit
LUA
# wrk -s "$work/req.lua" "$url/ai/nlp/process": prints a "requests" and a "latency" line.
cat "$work/request.lua" - >"$work/req.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("requests %d (%.0f/s), non-2xx %d, connect %d, read %d, write %d, over the timeout %d\n",
    summary.requests, summary.requests / (summary.duration / 1e6), e.status, e.connect, e.read, e.write, e.timeout))
  io.write(string.format("latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
LUA

# pod_wrk_ok FILE: wrk's output in FILE counts no failed request (non-2xx, a socket error,
# or one over its timeout).
pod_wrk_ok() {
        awk '/^requests/ { gsub(",", ""); bad = $5 + $7 + $9 + $11 + $15 } END { exit bad > 0 }' "$1"
}
