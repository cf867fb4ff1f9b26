#!/usr/bin/env python3
# The source of deploy/kibana/ferry.ndjson, the Kibana saved objects for ferry's logs.
# Edit here, then run `python3 deploy/kibana/generate.py` from the repository root (or from
# this directory) and commit both files. Checks that every reference resolves; with
# --check (CI, scripts/ci/deploy.sh) it writes nothing and fails unless ferry.ndjson is
# exactly what it makes.
import json
import os
import sys

DV = "ferry-logs"
IDX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"

def search_source(query):
    return json.dumps({"query": {"query": query, "language": "kuery"}, "filter": [], "indexRefName": IDX_REF})

def refs():
    return [{"name": IDX_REF, "type": "index-pattern", "id": DV}]

objects = []
objects.append({
    "id": DV, "type": "index-pattern",
    "attributes": {
        "title": "logs-ferry-*", "name": "ferry logs", "timeFieldName": "@timestamp",
        "fieldFormatMap": json.dumps({"event.duration": {"id": "duration", "params": {
            "inputFormat": "nanoseconds", "outputFormat": "asMilliseconds", "outputPrecision": 1}}}),
    },
    "references": [],
})

def saved_search(id_, title, description, query, columns, sort):
    objects.append({
        "id": id_, "type": "search",
        "attributes": {
            "title": title, "description": description, "columns": columns, "sort": sort,
            "kibanaSavedObjectMeta": {"searchSourceJSON": search_source(query)},
        },
        "references": refs(),
    })

saved_search("ferry-failures", "ferry: failures per subscription",
    "Retries, dead letters and failed settles. Add a filter on ferry.subscription, or break down by it in the dashboard.",
    'event.outcome : "failure" and ferry.subscription : *',
    ["ferry.subscription", "ferry.realm", "event.action", "ferry.message_id", "ferry.attempt", "error.message"],
    [["@timestamp", "desc"]])
saved_search("ferry-dead-letters", "ferry: dead letters",
    "Messages moved to their error queue, with the reason and the last error.",
    'event.action : "message.dead_lettered"',
    ["ferry.subscription", "ferry.realm", "ferry.message_id", "ferry.attempt", "ferry.dead_letter_reason", "error.message", "ferry.error_queue"],
    [["@timestamp", "desc"]])
saved_search("ferry-message-story", "ferry: one message's story",
    "Every event about one message in order: replace the id in the query (or use `ferry logs --message ID`).",
    'ferry.message_id : "PASTE-MESSAGE-ID" or ferry.published_id : "PASTE-MESSAGE-ID"',
    ["event.action", "ferry.attempt", "log.level", "message", "error.message", "ferry.published_id"],
    [["@timestamp", "asc"], ["event.sequence", "asc"]])

def bar_params(title):
    return {
        "type": "histogram", "grid": {"categoryLines": False},
        "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True,
                          "style": {}, "scale": {"type": "linear"},
                          "labels": {"show": True, "filter": True, "truncate": 100}, "title": {}}],
        "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left",
                       "show": True, "style": {}, "scale": {"type": "linear", "mode": "normal"},
                       "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                       "title": {"text": title}}],
        "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked",
                          "data": {"label": title, "id": "1"}, "valueAxis": "ValueAxis-1",
                          "drawLinesBetweenPoints": True, "lineWidth": 2, "showCircles": True}],
        "addTooltip": True, "addLegend": True, "legendPosition": "right", "times": [],
        "addTimeMarker": False, "labels": {"show": False},
        "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
    }

def table_params():
    return {"perPage": 20, "showPartialRows": False, "showMetricsAtAllLevels": False,
            "showTotal": True, "totalFunc": "sum", "percentageCol": ""}

def count(id_="1"):
    return {"id": id_, "enabled": True, "type": "count", "schema": "metric", "params": {}}

def terms(id_, field, schema, size=20, order_by="1"):
    return {"id": id_, "enabled": True, "type": "terms", "schema": schema,
            "params": {"field": field, "size": size, "order": "desc", "orderBy": order_by,
                       "otherBucket": True, "missingBucket": True, "missingBucketLabel": "(none)"}}

def date_hist(id_):
    return {"id": id_, "enabled": True, "type": "date_histogram", "schema": "segment",
            "params": {"field": "@timestamp", "useNormalizedEsInterval": True, "interval": "auto",
                       "drop_partials": False, "min_doc_count": 1, "extended_bounds": {}}}

def metric(id_, type_, field, extra=None):
    p = {"field": field}
    p.update(extra or {})
    return {"id": id_, "enabled": True, "type": type_, "schema": "metric", "params": p}

def vis(id_, title, type_, params, aggs, query):
    objects.append({
        "id": id_, "type": "visualization",
        "attributes": {
            "title": title, "description": "", "uiStateJSON": "{}", "version": 1,
            "visState": json.dumps({"title": title, "type": type_, "params": params, "aggs": aggs}),
            "kibanaSavedObjectMeta": {"searchSourceJSON": search_source(query)},
        },
        "references": refs(),
    })

vis("ferry-throughput", "ferry: messages done per subscription", "histogram", bar_params("Messages done"),
    [count(), date_hist("2"), terms("3", "ferry.subscription", "group", 10)], 'event.action : "message.done"')
vis("ferry-failures-over-time", "ferry: failures per subscription", "histogram", bar_params("Failures"),
    [count(), date_hist("2"), terms("3", "ferry.subscription", "group", 10)],
    'event.action : ("message.retried" or "message.dead_lettered" or "message.settle_failed")')
vis("ferry-by-subscription", "ferry: handling time per subscription", "table", table_params(),
    [count(), metric("2", "avg", "event.duration"),
     metric("3", "percentiles", "event.duration", {"percents": [95]}),
     metric("4", "sum", "event.duration"), terms("5", "ferry.subscription", "bucket", 50)],
    'event.action : ("message.done" or "message.retried")')
vis("ferry-by-realm", "ferry: which realm consumes most", "table", table_params(),
    [count(), metric("2", "sum", "event.duration"), metric("3", "avg", "event.duration"),
     terms("4", "ferry.realm", "bucket", 50, "2"), terms("5", "ferry.subscription", "bucket", 10, "2")],
    'event.action : ("message.done" or "message.retried")')
vis("ferry-failures-by-realm", "ferry: failures per subscription and realm", "table", table_params(),
    [count(), terms("2", "ferry.subscription", "bucket", 20), terms("3", "ferry.realm", "bucket", 20),
     terms("4", "event.action", "bucket", 5)],
    'event.outcome : "failure" and ferry.message_id : *')

panels = [
    ("visualization", "ferry-throughput", 0, 0, 24, 12),
    ("visualization", "ferry-failures-over-time", 24, 0, 24, 12),
    ("visualization", "ferry-by-subscription", 0, 12, 24, 14),
    ("visualization", "ferry-by-realm", 24, 12, 24, 14),
    ("visualization", "ferry-failures-by-realm", 0, 26, 24, 14),
    ("search", "ferry-dead-letters", 24, 26, 24, 14),
]
panels_json, panel_refs = [], []
for i, (type_, id_, x, y, w, h) in enumerate(panels):
    panels_json.append({"version": "8.0.0", "type": type_, "panelIndex": str(i + 1),
                        "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(i + 1)},
                        "embeddableConfig": {}, "panelRefName": f"panel_{i}"})
    panel_refs.append({"name": f"panel_{i}", "type": type_, "id": id_})
objects.append({
    "id": "ferry-overview", "type": "dashboard",
    "attributes": {
        "title": "ferry: throughput, failures and handling time",
        "description": "Per subscription and per realm (which client consumes most), from ferry's log events.",
        "panelsJSON": json.dumps(panels_json),
        "optionsJSON": json.dumps({"useMargins": True, "syncColors": False, "hidePanelTitles": False}),
        "timeRestore": True, "timeFrom": "now-24h", "timeTo": "now",
        "refreshInterval": {"pause": False, "value": 60000},
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"}, "filter": []})},
    },
    "references": panel_refs,
})

# Consistency: every reference resolves to an object in the file.
ids = {(o["type"], o["id"]) for o in objects}
for o in objects:
    for r in o["references"]:
        if (r["type"], r["id"]) not in ids:
            sys.exit(f"{o['type']} {o['id']}: reference {r} does not resolve")

text = "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in objects)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ferry.ndjson")
if sys.argv[1:] == ["--check"]:
    # CI: the committed file is what this script makes, line for line valid JSON.
    with open(path) as f:
        committed = f.read()
    for n, line in enumerate(committed.splitlines(), 1):
        json.loads(line)
    if committed != text:
        sys.exit("deploy/kibana/ferry.ndjson is not what generate.py makes: run it and commit")
    print(len(objects), "objects, references resolve, ferry.ndjson up to date")
else:
    with open(path, "w") as out:
        out.write(text)
    print(len(objects), "objects")
