# shellcheck shell=bash
# service-door.sh — the one public door (issue 17) in the real pod (sourced by run.sh):
# what each service describes on its own GET /tasks is what the orchestrator routes on the
# published port, an unknown task is a 422 naming the real ones, and the data service's
# datasets are stored, listed, queried, deleted and audited through 8080.

DOOR_CSV=$'city,sales\nOsaka,12\nKyoto,7\nOsaka,5\n'

t_door_tasks() {
        local s n
        api_expect 200 GET /tasks || return 1
        for s in llm vision nlp data; do
                n=$(jq -r --arg s "$s" 'if .[$s].status == "known" then (.[$s].tasks | length) else 0 end' <<<"$API_BODY")
                echo "$s: $n tasks"
                [ "$n" -gt 0 ] || { echo "$s: $(jq -c --arg s "$s" '.[$s]' <<<"$API_BODY")"; return 1; }
        done
        # the same list the service gives inside the pod
        expect_eq "nlp's tasks" "$(in_pod_net curl -sf http://127.0.0.1:8083/tasks | jq -c '[.tasks[].name] | sort')" \
                "$(jq -c '[.nlp.tasks[].name] | sort' <<<"$API_BODY")"
}
check "door: GET /tasks on 8080 lists every service's tasks as the service itself describes them" t_door_tasks

t_door_unknown_task() {
        api_expect 422 POST /dispatch '{"service":"nlp","task":"levitate","payload":{"text":"x"}}' || return 1
        jq -e '[.. | objects | select(.field? == "task") | .message | contains("sentiment")] | any' \
                <<<"$API_BODY" >/dev/null || { echo "no error on field task naming sentiment: $API_BODY"; return 1; }
}
check "door: /dispatch of an unknown task is a 422 that names the task field and the service's tasks" t_door_unknown_task

t_door_datasets() {
        local since
        since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        sleep 1
        api DELETE /data/datasets/it-door >/dev/null
        api_expect 201 POST '/data/datasets?name=it-door' "" -H 'Content-Type: text/csv' --data-binary "$DOOR_CSV" ||
                return 1
        jq -e '.name == "it-door" and .rows == 3' <<<"$API_BODY" >/dev/null || { echo "$API_BODY"; return 1; }
        api_expect 200 GET /data/datasets || return 1
        jq -e '[.datasets[] | select(.name == "it-door")] | length == 1' <<<"$API_BODY" >/dev/null ||
                { echo "not listed: $API_BODY"; return 1; }
        api_expect 200 POST /data/process \
                '{"operation":"aggregate","data":{"dataset":"it-door"},"options":{"group_by":"city","aggregations":{"sales":"sum"}}}' ||
                return 1
        jq -e '[.. | objects | select(.city? == "Osaka") | .sales_sum] == [17]' <<<"$API_BODY" >/dev/null ||
                { echo "Osaka's sales_sum is not 17: $API_BODY"; return 1; }
        api_expect 200 DELETE /data/datasets/it-door || return 1
        api_expect 404 GET /data/datasets/it-door || return 1
        api_expect 200 GET "/audit?since=$since&limit=50" || return 1
        jq -e '[.records[] | select(.target == "it-door" and (.action == "dataset.upload" or .action == "dataset.delete"))] | length >= 2' \
                <<<"$API_BODY" >/dev/null || { echo "not audited: $API_BODY"; return 1; }
}
check "door: a CSV dataset uploaded, listed, aggregated, deleted and audited through 8080" t_door_datasets

# Each principal has its own dataset names: the same name is two datasets, and one
# principal's upload is not listed, read, queried or deleted by another.
t_door_datasets_scoped() {
        local otto bob
        otto=$("$DEPLOY" token --role operator --sub it-otto --ttl 10m) &&
                bob=$("$DEPLOY" token --role operator --sub it-bob --ttl 10m) || return 1
        IT_TOKEN=$otto api DELETE /data/datasets/it-scope >/dev/null
        IT_TOKEN=$bob api DELETE /data/datasets/it-scope >/dev/null
        IT_TOKEN=$otto api_expect 201 POST '/data/datasets?name=it-scope' "" -H 'Content-Type: text/csv' \
                --data-binary $'k,v\n1,10\n2,20\n' || return 1
        IT_TOKEN=$bob api_expect 201 POST /data/datasets '{"name":"it-scope","records":[{"k":7,"v":7}]}' || return 1
        IT_TOKEN=$otto api_expect 200 POST /data/process \
                '{"operation":"aggregate","data":{"dataset":"it-scope"},"options":{"aggregations":{"v":"sum"}}}' || return 1
        expect_eq "otto's job reads otto's dataset" 30 "$(jq -c '[.. | objects | .v_sum? // empty][0]' <<<"$API_BODY")" ||
                return 1
        IT_TOKEN=$bob api_expect 200 GET /data/datasets || return 1
        expect_eq "bob lists his own only" '[["it-scope",1]]' \
                "$(jq -c '[.datasets[] | select(.name == "it-scope") | [.name, .rows]]' <<<"$API_BODY")" || return 1
        api_expect 404 GET /data/datasets/it-scope || return 1
        api_expect 404 POST /data/process '{"operation":"analyze","data":{"dataset":"it-scope"}}' || return 1
        IT_TOKEN=$bob api_expect 200 DELETE /data/datasets/it-scope || return 1
        IT_TOKEN=$otto api_expect 200 GET /data/datasets/it-scope || return 1
        expect_eq "bob's delete left otto's" 2 "$(jq -r .rows <<<"$API_BODY")" || return 1
        IT_TOKEN=$otto api_expect 200 DELETE /data/datasets/it-scope
}
check "door: datasets are per principal: same name, separate data, invisible to others" t_door_datasets_scoped
