# shellcheck shell=bash
# service-data.sh — the data processor inside the running pod (sourced by run.sh, which
# provides check, expect_*, in_pod_net and DEPLOY). The service is not published: every
# request goes through the pod's network namespace to 127.0.0.1:8084.

data_url=http://127.0.0.1:8084

data_post() { # path json
        in_pod_net curl -s -H 'Content-Type: application/json' -d "$2" "$data_url$1"
}

t_data_analyze() {
        local out
        out=$(data_post /process '{"operation":"analyze","data":{"records":[{"v":1},{"v":2},{"v":3},{"v":4}]}}') || return 1
        jq -e '.status == "completed" and .rows_processed == 4 and .result.columns.v.median == 2.5
                and (.result.columns.v.stddev * 1e9 | round) == 1290994449' <<<"$out" >/dev/null || {
                echo "$out"
                return 1
        }
}
check "data: analyze computes exact statistics in the pod" t_data_analyze

t_data_guard() {
        local out
        out=$(data_post /process '{"operation":"query","data":{"csv":"a\n1\n"},"options":{"sql":"ATTACH DATABASE '"'/data/x.db'"' AS x"}}') ||
                return 1
        jq -e '.status == 403 and (.detail | test("no-attach"))' <<<"$out" >/dev/null || {
                echo "$out"
                return 1
        }
}
check "data: ATTACH is refused by the no-attach rule" t_data_guard

t_data_plot() {
        local out
        out=$(data_post /process '{"operation":"plot","data":{"records":[{"x":1,"y":2},{"x":2,"y":3}]},
                "options":{"kind":"line","x":"x","y":"y","width":320,"height":240}}') || return 1
        jq -r .result.data_base64 <<<"$out" | base64 -d | python3 -c '
import struct, sys
b = sys.stdin.buffer.read()
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", "not a PNG"
assert struct.unpack(">II", b[16:24]) == (320, 240), struct.unpack(">II", b[16:24])'
}
check "data: a PNG plot drawn in the read-only container decodes at 320x240" t_data_plot

t_data_dataset_restart() {
        api_expect 201 POST /data/datasets '{"name":"it-survives","replace":true,"csv":"k,v\na,1\nb,2\n"}' ||
                return 1
        expect_eq "rows uploaded" 2 "$(jq -r .rows <<<"$API_BODY")" || return 1
        "$DEPLOY" restart data >/dev/null || return 1
        # read back through the published port, as a stored job
        api_expect 200 POST /data/process '{"operation":"aggregate","data":{"dataset":"it-survives"},"options":{"aggregations":{"v":"sum"}}}' ||
                return 1
        jq -e '.status == "completed" and .result.records[0].v_sum == 3 and (.job_id | length > 0)' <<<"$API_BODY" >/dev/null || {
                echo "after restart: $API_BODY"
                return 1
        }
        api_expect 200 DELETE /data/datasets/it-survives
}
check "data: a dataset on the ai-semble-data volume survives a restart and is queried through the door" t_data_dataset_restart
