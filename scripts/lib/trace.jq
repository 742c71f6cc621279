# trace.jq — the waterfall of one trace from span lines (services/common/trace.c): reads
# journal entries (journalctl -o json: the line is MESSAGE, as conmon stores a container's
# stderr) or the services' JSON lines themselves. Run with jq -n -r --arg tid TRACE_ID
# --arg format text|json -f trace.jq. json: one object per span, parents before their
# children, each with its depth; text: one line per span, indented under its parent.

def line:
        (if type == "object" and has("MESSAGE") then .MESSAGE else . end)
        | (if type == "array" then implode else . end)
        | (if type == "string" then (try fromjson catch null) else . end);

def lpad($n): tostring | (" " * ([$n - length, 0] | max)) + .;
def rpad($n): tostring | . + (" " * ([$n - length, 0] | max));
def ms: . * 10 | round / 10;
def indent: if . > 0 then "  " * . else "" end; # "s" * 0 is null

[inputs | line | select(type == "object" and .trace_id == $tid and .span_name != null)
        | {service, name: .span_name, kind: .span_kind, span: .span_id, parent: .parent_span_id,
           start_us: (.start_us | tonumber), duration_ms: (.duration_ms | tonumber), outcome,
           status: (.status // null)}]
| sort_by(.start_us) as $spans
| ($spans | map(.span)) as $ids
| ($spans[0].start_us // 0) as $t0
# A root: the door's span (its parent, if any, is the client's) or a span whose parent never
# logged a line; more than one root means a hop is missing from the journal.
| def under($p; $d): $spans[] | select(.parent == $p) | (. + {depth: $d}), under(.span; $d + 1);
[$spans[] | select(.parent == null or (.parent as $p | $ids | index($p) | not))
        | (. + {depth: 0}), under(.span; 1)]
| map(. + {offset_ms: ((.start_us - $t0) / 1000 | ms)} | del(.start_us))
| if $format == "json" then .[]
  else
        "trace \($tid): \(length) spans, roots \(map(select(.depth == 0)) | length)",
        (.[] | "\("+\(.offset_ms) ms" | lpad(12)) \("\(.duration_ms | ms) ms" | lpad(12))  \(.outcome | rpad(10))"
                + "\(.depth | indent)\(.service): \(.name) (\(.kind))  span \(.span)"
                + (if .parent then " ← \(.parent)" else "" end))
  end
