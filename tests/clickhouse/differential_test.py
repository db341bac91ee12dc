#!/usr/bin/env python3
"""Differential test: the same OTLP traces into a SQLite-backed teletrace and one on another
backend (ClickHouse, OpenSearch or Elasticsearch); every v1 endpoint must answer identically for
queries covering every operator and key level.

  tests/clickhouse/differential_test.py --bin build/release/teletrace
      [--engine server|chdb|opensearch|elasticsearch]

Starts its own engine: with --engine server (the default) the installed clickhouse-server
(tests/clickhouse/clickhouse_server.sh, or TELETRACE_CLICKHOUSE_URL when set), with --engine chdb a
current ClickHouse release through chdb (tests/clickhouse/chdb_server.sh; TELETRACE_CHDB_VERSION
picks it), with opensearch/elasticsearch a node from Maven jars (tests/elasticsearch/search_node.sh);
and both teletrace processes on free loopback ports; stops them all at the end. Only
ingestionTimeUnixNano (stamped by each server at arrival) and the systemId (one per store) may
differ. Exit status 0 when every answer matched. Python standard library only.
"""

import argparse
import base64
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from ports import free_port  # noqa: E402,F401 - re-exported to the other test scripts


def request(method, url, body=None, timeout=60):
    data = None
    headers = {}
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            status = resp.status
            ctype = resp.headers.get("content-type", "")
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
        ctype = e.headers.get("content-type", "")
    text = raw.decode("utf-8", "replace")
    parsed = None
    if "json" in ctype:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
    return status, parsed if parsed is not None else text


class Teletrace:
    def __init__(self, binary, name, storage_flags, workdir):
        self.name = name
        self.http = free_port()
        self.grpc = free_port()
        self.otlp = free_port()
        self.log = open(os.path.join(workdir, f"{name}.log"), "w")
        args = [binary, f"--server.http_port={self.http}", f"--server.otlp_grpc_port={self.grpc}",
                f"--server.otlp_http_port={self.otlp}", "--log.level=warn"] + storage_flags
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=workdir)
        self.base = f"http://127.0.0.1:{self.http}"
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                status, _ = request("GET", self.base + "/v1/ping", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer /v1/ping within 60 s")

    def export(self, payload):
        data = json.dumps(payload).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.otlp}/v1/traces", data=data,
                                     method="POST",
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = json.loads(resp.read() or b"{}")
        if body.get("partialSuccess", {}).get("rejectedSpans"):
            raise RuntimeError(f"{self.name} rejected spans: {body}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------------------------------------
# The data: deterministic, every attribute type at every level, events, links, ties.

def any_value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, bytes):
        return {"bytesValue": base64.b64encode(v).decode()}
    if isinstance(v, list):
        return {"arrayValue": {"values": [any_value(x) for x in v]}}
    if isinstance(v, dict):
        return {"kvlistValue": {"values": [{"key": k, "value": any_value(x)} for k, x in v.items()]}}
    return {"stringValue": v}


def attributes(d):
    return [{"key": k, "value": any_value(v)} for k, v in d.items()]


def build_payloads(base_ns):
    rng = random.Random(4242)
    services = ["frontend", "checkout", "payments", "db"]
    payloads = []
    span_counter = 0
    for batch in range(6):
        resource_spans = []
        for si, service in enumerate(services):
            res_attrs = {"service.name": service, "host.cpus": 2 + si * 2,
                         "deployment.environment": "prod" if si % 2 == 0 else "staging",
                         "cloud.zone": ["a", "b"][si % 2]}
            if si == 3:
                del res_attrs["deployment.environment"]
            spans = []
            for _ in range(12):
                span_counter += 1
                n = span_counter
                trace = rng.randrange(1, 25)
                start = base_ns + rng.randrange(0, 600) * 1_000_000 + (n % 3) * 7
                duration = rng.choice([0, 1500, 250_000, 3_000_000, 3_000_000, 12_345_678])
                attrs = {"http.method": rng.choice(["GET", "POST", "PUT", "get"]),
                         "http.status_code": rng.choice([200, 200, 201, 404, 500]),
                         "ratio": rng.choice([0.5, 1.0, 2.25, -0.0, 1e-3]),
                         "cached": rng.choice([True, False]),
                         "retries": rng.randrange(0, 4)}
                if n % 5 == 0:
                    attrs["tags"] = ["x", rng.choice(["y", "z"]), 7]
                if n % 7 == 0:
                    attrs["payload"] = b"\x00\xffbin"
                if n % 11 == 0:
                    attrs["nested"] = {"a": 1, "b": "two"}
                if n % 4 == 0:
                    del attrs["http.method"]
                if n % 6 == 0:
                    attrs["mixed"] = rng.choice(["7", 7, 7.0, True])
                events = []
                for e in range(n % 3):
                    events.append({"timeUnixNano": str(start + e), "name": ["exception", "retry"][e],
                                   "attributes": attributes({"exception.type": rng.choice(
                                       ["Timeout", "IOError"]), "attempt": e + 1})})
                links = []
                if n % 4 == 1:
                    links.append({"traceId": f"{rng.randrange(1, 25):032x}",
                                  "spanId": f"{rng.randrange(1, 500):016x}",
                                  "attributes": attributes({"link.kind": rng.choice(
                                      ["follows", "child"])})})
                span = {"traceId": f"{trace:032x}", "spanId": f"{n:016x}",
                        "name": rng.choice(["GET /home", "GET /cart", "POST /pay", "SELECT"]),
                        "kind": rng.randrange(0, 6),
                        "startTimeUnixNano": str(start),
                        "endTimeUnixNano": str(start + duration),
                        "attributes": attributes(attrs), "events": events, "links": links,
                        "status": {"code": rng.randrange(0, 3),
                                   "message": "boom" if n % 9 == 0 else ""}}
                if n % 3 != 0:
                    span["parentSpanId"] = f"{max(1, n - 1):016x}"
                if n % 10 == 0:
                    span["traceState"] = "v=1"
                spans.append(span)
            scope = {"name": ["http", "db"][si % 2], "version": ["1.0", "2.1"][si % 2],
                     "attributes": attributes({"lib.lang": "cpp"}) if si % 2 == 0 else []}
            resource_spans.append({"resource": {"attributes": attributes(res_attrs)},
                                   "scopeSpans": [{"scope": scope, "spans": spans}]})
        payloads.append({"resourceSpans": resource_spans})
    # A retry of the first batch: both stores must keep the first copies only.
    payloads.append(payloads[0])
    return payloads, span_counter


# ---------------------------------------------------------------------------------------------
# The queries.

def filter_cases(base_ns):
    def f(key, op, value=None):
        flt = {"key": key, "operator": op}
        if value is not None:
            flt["value"] = value
        return [{"keyValueFilter": flt}]

    cases = []
    ops_for_strings = [("equals", "GET"), ("not_equals", "GET"), ("in", ["GET", "PUT"]),
                       ("not_in", ["GET", "PUT"]), ("contains", "E"), ("not_contains", "E"),
                       ("exists", None), ("not_exists", None)]
    numeric_ops = [("equals", 200), ("not_equals", 200), ("in", [200, 500]), ("not_in", [404]),
                   ("gt", 200), ("gte", 201), ("lt", 404), ("lte", 200.5), ("gt", 1e300),
                   ("exists", None), ("not_exists", None)]
    for op, v in ops_for_strings:
        cases.append(f("span.attributes.http.method", op, v))
    for op, v in numeric_ops:
        cases.append(f("span.attributes.http.status_code", op, v))
    for op, v in [("gt", 0.5), ("gte", 0.5), ("lt", 1), ("lte", 0), ("equals", 0), ("equals", 1)]:
        cases.append(f("span.attributes.ratio", op, v))
    for op, v in [("equals", True), ("not_equals", False), ("equals", "true")]:
        cases.append(f("span.attributes.cached", op, v))
    for op, v in [("equals", "x"), ("equals", 7), ("contains", "y"), ("not_equals", "z"),
                  ("gte", 7), ("exists", None)]:
        cases.append(f("span.attributes.tags", op, v))
    for op, v in [("equals", "7"), ("equals", 7), ("equals", 7.0), ("equals", True),
                  ("gt", 6.5), ("not_exists", None)]:
        cases.append(f("span.attributes.mixed", op, v))
    cases.append(f("span.attributes.payload", "exists"))
    cases.append(f("span.attributes.nested", "exists"))
    cases.append(f("span.attributes.nested", "equals", "two"))
    # Resource and scope attributes.
    for op, v in [("equals", "checkout"), ("not_in", ["db", "frontend"]), ("contains", "pay")]:
        cases.append(f("resource.attributes.service.name", op, v))
    for op, v in [("gt", 4), ("lte", 4), ("equals", 8.0)]:
        cases.append(f("resource.attributes.host.cpus", op, v))
    cases.append(f("resource.attributes.deployment.environment", "not_exists"))
    cases.append(f("resource.attributes.deployment.environment", "not_equals", "prod"))
    cases.append(f("scope.attributes.lib.lang", "equals", "cpp"))
    cases.append(f("scope.attributes.lib.lang", "not_exists"))
    # Events and links.
    for op, v in [("equals", "Timeout"), ("not_equals", "Timeout"), ("exists", None),
                  ("not_exists", None), ("contains", "IO")]:
        cases.append(f("span.events.attributes.exception.type", op, v))
    for op, v in [("gte", 2), ("lt", 2), ("equals", 1)]:
        cases.append(f("span.events.attributes.attempt", op, v))
    for op, v in [("equals", "follows"), ("not_exists", None), ("in", ["child"])]:
        cases.append(f("span.links.attributes.link.kind", op, v))
    # Intrinsics.
    for op, v in [("equals", "GET /home"), ("not_equals", "SELECT"), ("in", ["SELECT", "POST /pay"]),
                  ("contains", "GET"), ("not_contains", "/")]:
        cases.append(f("span.name", op, v))
    for op, v in [("equals", "Server"), ("not_equals", "Client"), ("in", ["Producer", 5]),
                  ("equals", 0)]:
        cases.append(f("span.kind", op, v))
    for op, v in [("equals", "Error"), ("not_in", ["Ok"]), ("equals", "STATUS_CODE_OK")]:
        cases.append(f("span.status.code", op, v))
    cases.append(f("span.status.message", "equals", "boom"))
    cases.append(f("span.traceState", "exists"))
    cases.append(f("span.traceState", "equals", "v=1"))
    for op, v in [("equals", f"{3:032x}"), ("not_equals", f"{3:032x}"), ("contains", "0a")]:
        cases.append(f("span.traceId", op, v))
    cases.append(f("span.spanId", "in", [f"{5:016x}", f"{9:016x}"]))
    cases.append(f("span.parentSpanId", "equals", ""))
    cases.append(f("span.parentSpanId", "not_equals", ""))
    cases.append(f("scope.name", "equals", "db"))
    cases.append(f("scope.version", "in", ["1.0"]))
    cases.append(f("span.events.name", "equals", "retry"))
    cases.append(f("span.events.name", "not_exists"))
    cases.append(f("span.links.traceId", "exists"))
    cases.append(f("span.links.spanId", "contains", "1"))
    for op, v in [("gt", 250_000), ("gte", 3_000_000), ("lt", 1500), ("lte", 1500.0),
                  ("equals", 0), ("not_in", [3_000_000])]:
        cases.append(f("externalFields.durationNano", op, v))
    cases.append(f("span.startTimeUnixNano", "gte", base_ns + 300_000_000))
    cases.append(f("span.endTimeUnixNano", "lt", base_ns + 200_000_000))
    # ANDed filters.
    cases.append(f("span.attributes.http.method", "equals", "GET")
                 + f("resource.attributes.service.name", "not_equals", "db")
                 + f("externalFields.durationNano", "gt", 0))
    return cases


def strip_volatile(value):
    """Removes the fields that legitimately differ between two stores."""
    if isinstance(value, dict):
        return {k: strip_volatile(v) for k, v in value.items()
                if k not in ("ingestionTimeUnixNano", "systemId")}
    if isinstance(value, list):
        return [strip_volatile(v) for v in value]
    return value


def equal(a, b, key=None):
    """Deep equality, except that "sum" and "avg" statistics may differ in the last bits: the
    backends add doubles in different orders (neither order is specified), and floating-point
    addition is not associative."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k], k) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if key in ("sum", "avg") and isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    return type(a) is type(b) and a == b


class Comparison:
    def __init__(self, a, b):
        self.a, self.b = a, b
        self.checks = 0
        self.failures = []

    def same(self, what, method, path, body=None):
        sa, ra = request(method, self.a.base + path, body)
        sb, rb = request(method, self.b.base + path, body)
        self.checks += 1
        if sa != sb or not equal(strip_volatile(ra), strip_volatile(rb)):
            self.failures.append((what, path, body, (sa, ra), (sb, rb)))
        return sa, ra

    def within_one_percent(self, what, path, body):
        """Percentiles asked with "approximate": true of b against a's exact answer: every number
        within 1% (the documented bound), every other part of the answer equal."""
        sa, ra = request("POST", self.a.base + path, dict(body, approximate=False))
        sb, rb = request("POST", self.b.base + path, dict(body, approximate=True))
        self.checks += 1

        def close(x, y):
            if isinstance(x, dict) and isinstance(y, dict):
                return x.keys() == y.keys() and all(close(x[k], y[k]) for k in x)
            if isinstance(x, list) and isinstance(y, list):
                return len(x) == len(y) and all(close(u, v) for u, v in zip(x, y))
            if isinstance(x, (int, float)) and isinstance(y, (int, float)):
                return abs(x - y) <= 0.01 * abs(x)
            return x == y

        if sa != 200 or sa != sb or not close(ra, rb):
            self.failures.append((what, path, body, (sa, ra), (sb, rb)))

    def search_all(self, what, body, page_size):
        body = dict(body, pageSize=page_size)
        pages = 0
        while True:
            status, result = self.same(f"{what} page {pages}", "POST", "/v1/search", body)
            pages += 1
            if status != 200 or not isinstance(result, dict) or not result.get("metadata"):
                return pages
            body = dict(body, metadata={"nextToken": result["metadata"]["nextToken"]})
            if pages > 200:
                self.failures.append((what, "paging did not end", body, None, None))
                return pages


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(HERE, "..", "..", "build", "release",
                                                      "teletrace"))
    parser.add_argument("--engine", choices=["server", "chdb", "opensearch", "elasticsearch"],
                        default="server",
                        help="server: the installed clickhouse-server; chdb: a current ClickHouse; "
                             "opensearch/elasticsearch: a node from Maven jars")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    search_engine = args.engine in ("opensearch", "elasticsearch")
    if search_engine:
        script = os.path.join(HERE, "..", "elasticsearch", "search_node.sh")
    else:
        script = os.path.join(HERE, "clickhouse_server.sh" if args.engine == "server"
                              else "chdb_server.sh")
    if not os.access(binary, os.X_OK):
        print(f"differential_test: no teletrace binary at {binary}", file=sys.stderr)
        return 2

    started = time.time()
    workdir = tempfile.mkdtemp(prefix="teletrace-differential-")
    engine_dir = None
    servers = []
    try:
        url = None if search_engine else os.environ.get("TELETRACE_CLICKHOUSE_URL")
        if search_engine:
            engine_dir = os.path.join(workdir, "node")
            out = subprocess.run([script, "start", "--flavor", args.engine, "--dir", engine_dir,
                                  "--max-seconds", "1800", "--owner-pid", str(os.getpid())],
                                 check=True, stdout=subprocess.PIPE, text=True).stdout
            url = out.strip().splitlines()[-1]
            with urllib.request.urlopen(url + "/_nodes/_local", timeout=30) as resp:
                node = next(iter(json.loads(resp.read())["nodes"].values()))
            version = f"{args.engine} {node['version']}"
            other_flags = ["--storage.backend=elasticsearch",
                           f"--storage.elasticsearch.endpoints={url}",
                           f"--storage.elasticsearch.index_prefix=tt-differential-{os.getpid()}",
                           "--storage.elasticsearch.replicas=0"]
        else:
            if not url:
                engine_dir = os.path.join(workdir, "clickhouse")
                http_port = free_port()
                # A chdb front exits with this process, whatever happens to it.
                env = dict(os.environ, TELETRACE_CHDB_OWNER_PID=str(os.getpid()))
                subprocess.run([script, "start", engine_dir, str(http_port), str(free_port()),
                                str(free_port())], check=True, env=env)
                url = f"http://127.0.0.1:{http_port}"
            version_req = urllib.request.Request(url + "/", data=b"SELECT version()",
                                                 method="POST")
            with urllib.request.urlopen(version_req, timeout=30) as resp:
                version = "ClickHouse " + resp.read().decode().strip()
            database = f"tt_differential_{os.getpid()}"
            other_flags = ["--storage.backend=clickhouse", f"--storage.clickhouse.endpoints={url}",
                           f"--storage.clickhouse.database={database}",
                           "--storage.clickhouse.flush_interval=0"]
        sqlite = Teletrace(binary, "sqlite", ["--storage.backend=sqlite",
                                              f"--storage.sqlite.path={workdir}/sqlite"], workdir)
        servers.append(sqlite)
        other = Teletrace(binary, args.engine, other_flags, workdir)
        servers.append(other)

        base_ns = (time.time_ns() // 1_000_000_000 - 3600) * 1_000_000_000
        payloads, total = build_payloads(base_ns)
        for payload in payloads:
            sqlite.export(payload)
            other.export(payload)

        cmp = Comparison(sqlite, other)
        timeframe = {"startTimeUnixNanoSec": base_ns, "endTimeUnixNanoSec": base_ns + 700_000_000}
        cmp.same("ping", "GET", "/v1/ping")
        # Everything, both sorts, both directions, small pages: exact order and cursors.
        for field in ("span.startTimeUnixNano", "externalFields.durationNano"):
            for ascending in (False, True):
                cmp.search_all(f"all by {field} asc={ascending}",
                               {"timeframe": timeframe,
                                "sort": [{"field": field, "ascending": ascending}]}, 37)
        # Every filter case, one big page each (and paged for a few).
        cases = filter_cases(base_ns)
        for i, filters in enumerate(cases):
            body = {"timeframe": timeframe, "filters": filters,
                    "sort": [{"field": "externalFields.durationNano", "ascending": i % 2 == 0}]}
            cmp.search_all(f"filter case {i}", body, 1000 if i % 5 else 9)
        # A narrower time range, inclusive ends.
        cmp.search_all("narrow range", {"timeframe": {"startTimeUnixNanoSec": base_ns + 100_000_000,
                                                      "endTimeUnixNanoSec": base_ns + 200_000_000}},
                       1000)
        # Traces: whole and paged, and an unknown one.
        for trace in range(1, 26):
            cmp.same(f"trace {trace}", "GET", f"/v1/trace/{trace:032x}")
            cmp.same(f"trace {trace} page", "GET", f"/v1/trace/{trace:032x}?pageSize=2")
        cmp.same("unknown trace", "GET", f"/v1/trace/{999:032x}")
        # Calls between services: all, one service's, a range that cuts calls off.
        _, deps = cmp.same("dependencies", "POST", "/v1/dependencies", {"timeframe": timeframe})
        if not (isinstance(deps, dict) and len(deps.get("dependencies", [])) >= 4):
            cmp.failures.append(("dependencies: expected calls between several services",
                                 "/v1/dependencies", None, (200, deps), (200, deps)))
        cmp.same("dependencies of payments", "POST", "/v1/dependencies",
                 {"timeframe": timeframe, "service": "payments"})
        cmp.same("dependencies in a narrow range", "POST", "/v1/dependencies",
                 {"timeframe": {"startTimeUnixNanoSec": base_ns + 100_000_000,
                                "endTimeUnixNanoSec": base_ns + 300_000_000}})
        # Traces mode: one summary per trace, filtered by spans and by the traces' own summaries.
        trace_cases = [([], None, 100), (cases[3], None, 5), (cases[20], None, 100),
                       ([], {"minDurationNano": 3_000_000}, 10),
                       ([], {"rootServiceName": "frontend"}, 100), ([], {"hasErrors": True}, 100),
                       (cases[-1], {"minDurationNano": 100_000_000, "maxDurationNano": 500_000_000}, 50)]
        for i, (filters, trace_filters, limit) in enumerate(trace_cases):
            body = {"timeframe": timeframe, "filters": filters, "limit": limit}
            if trace_filters:
                body["traceFilters"] = trace_filters
            _, traces = cmp.same(f"traces {i}", "POST", "/v1/traces", body)
            if i == 0 and not (isinstance(traces, dict) and len(traces.get("traces", [])) >= 20):
                cmp.failures.append(("traces: expected every trace", "/v1/traces", body,
                                     (200, traces), (200, traces)))
        # Tags, values, statistics, histograms.
        status, tags = cmp.same("tags", "GET", "/v1/tags")
        cmp.same("tags in range", "GET",
                 f"/v1/tags?startTimeUnixNanoSec={base_ns}&endTimeUnixNanoSec={base_ns + 1}")
        tag_names = [t["name"] for t in tags.get("Tags", [])] if isinstance(tags, dict) else []
        for i, name in enumerate(tag_names):
            if name == "ingestionTimeUnixNano":
                continue  # stamped by each server
            body = {"timeframe": timeframe}
            if i % 2:
                body["filters"] = cases[i % len(cases)]
                body["limit"] = 3
            cmp.same(f"tag values {name}", "POST", f"/v1/tags/{name}", body)
        numeric = ["externalFields.durationNano", "span.attributes.http.status_code",
                   "span.attributes.ratio", "span.attributes.retries",
                   "span.events.attributes.attempt", "resource.attributes.host.cpus",
                   "span.attributes.tags", "span.attributes.mixed"]
        for i, name in enumerate(numeric):
            body = {"timeframe": timeframe, "filters": cases[(i * 7) % len(cases)],
                    "desiredStatistics": ["min", "max", "avg", "sum", "count", "p50", "p90",
                                          "p99.9", "p100"]}
            cmp.same(f"statistics {name}", "POST", f"/v1/tags/{name}/statistics", body)
            body["filters"] = []
            cmp.same(f"statistics {name} unfiltered", "POST", f"/v1/tags/{name}/statistics", body)
        for i, filters in enumerate([[], cases[3], cases[20], cases[-1]]):
            body = {"timeframe": timeframe, "filters": filters, "interval": 50_000_000,
                    "intervalKey": "span.startTimeUnixNano",
                    "aggregations": {
                        "count": {"func": "COUNT"},
                        "by_service": {"func": "COUNT", "groupBy": "resource.attributes.service.name"},
                        "by_method": {"func": "COUNT", "groupBy": "span.attributes.http.method",
                                      "maxGroups": 2},
                        "by_event": {"func": "COUNT", "groupBy": "span.events.attributes.exception.type"},
                        "traces": {"func": "DISTINCT_COUNT", "key": "span.traceId"},
                        "mixed": {"func": "DISTINCT_COUNT", "key": "span.attributes.mixed"},
                        "latency": {"func": "PERCENTILES", "key": "externalFields.durationNano",
                                    "aggregationParameters": {"percentiles": [50, 95, 99.9]}},
                        "ratio": {"func": "PERCENTILES", "key": "span.attributes.ratio",
                                  "aggregationParameters": {"percentiles": [10, 100]}},
                        "latency_by_service": {"func": "PERCENTILES",
                                               "key": "externalFields.durationNano",
                                               "groupBy": "resource.attributes.service.name",
                                               "aggregationParameters": {"percentiles": [50, 99]}},
                        "ratio_by_method": {"func": "PERCENTILES", "key": "span.attributes.ratio",
                                            "groupBy": "span.attributes.http.method",
                                            "maxGroups": 2,
                                            "aggregationParameters": {"percentiles": [90]}},
                        "heatmap": {"func": "RANGE_COUNT", "key": "externalFields.durationNano",
                                    "aggregationParameters": {
                                        "bounds": [0, 1e4, 1e5, 1e6, 2e6, 5e6, 1e7, 1e8]}},
                        "ratio_ranges": {"func": "RANGE_COUNT", "key": "span.attributes.ratio",
                                         "aggregationParameters": {"bounds": [0.25, 0.5, 0.75]}}}}
            cmp.same(f"histograms {i}", "POST", "/v1/histograms", body)
        # What the search page asks on every load, with the filters an engine can decide exactly
        # (service, span name, kind and status, trace id, duration): the Elasticsearch backend
        # pushes these down.
        decided = [[]] + [c for c in cases if c[0]["keyValueFilter"]["key"] in (
            "span.kind", "span.status.code") or (
            c[0]["keyValueFilter"]["key"] == "span.name"
            and c[0]["keyValueFilter"]["operator"] in ("equals", "not_equals", "in")) or c[0][
                "keyValueFilter"] == {
                "key": "span.traceId", "operator": "equals", "value": f"{3:032x}"} or (
            c[0]["keyValueFilter"]["key"] == "resource.attributes.service.name"
            and c[0]["keyValueFilter"]["operator"] in ("equals", "not_in"))]
        for op, v in [("gte", 3_000_000), ("lt", 2_000_000), ("equals", 1_000_000)]:
            decided.append([{"keyValueFilter": {"key": "externalFields.durationNano",
                                                "operator": op, "value": v}}])
        for i, filters in enumerate(decided):
            body = {"timeframe": timeframe, "filters": filters,
                    "desiredStatistics": ["min", "max", "avg", "sum", "count"]}
            cmp.same(f"duration statistics {i}", "POST",
                     "/v1/tags/externalFields.durationNano/statistics", body)
            # Whole milliseconds (the engine's histogram over start_ms), and not (range filters).
            for interval in (50_000_000, 33_333_333) if i < 3 else (50_000_000,):
                body = {"timeframe": timeframe, "filters": filters, "interval": interval,
                        "intervalKey": "span.startTimeUnixNano",
                        "aggregations": {
                            "count": {"func": "COUNT"},
                            "by_status": {"func": "COUNT", "groupBy": "span.status.code"},
                            "by_kind": {"func": "COUNT", "groupBy": "span.kind", "maxGroups": 2},
                            "by_service": {"func": "COUNT",
                                           "groupBy": "resource.attributes.service.name"},
                            "by_name": {"func": "COUNT", "groupBy": "span.name",
                                        "maxGroups": 3},
                            "heat": {"func": "RANGE_COUNT", "key": "externalFields.durationNano",
                                     "aggregationParameters": {"bounds": [
                                         0, 1_000_000, 1_500_000, 2_000_000, 2_500_000.5,
                                         3_000_000, 10_000_000]}}}}
                cmp.same(f"count histograms {i} every {interval} ns", "POST", "/v1/histograms",
                         body)
            cmp.same(f"span name values {i}", "POST", "/v1/tags/span.name",
                     {"timeframe": timeframe, "filters": filters, "limit": 3})
            body = {"timeframe": timeframe, "filters": filters,
                    "desiredStatistics": ["p50", "p90", "p99", "max"]}
            cmp.within_one_percent(f"approximate duration percentiles {i}",
                                   "/v1/tags/externalFields.durationNano/statistics", body)
            body = {"timeframe": timeframe, "filters": filters, "interval": 50_000_000,
                    "intervalKey": "span.startTimeUnixNano",
                    "aggregations": {
                        "count": {"func": "COUNT"},
                        "latency": {"func": "PERCENTILES", "key": "externalFields.durationNano",
                                    "aggregationParameters": {"percentiles": [50, 99]}}}}
            cmp.within_one_percent(f"approximate latency histogram {i}", "/v1/histograms", body)
            for group in ("resource.attributes.service.name", "span.name"):
                body = {"timeframe": timeframe, "filters": filters, "interval": 2 ** 63,
                        "intervalKey": "span.startTimeUnixNano",
                        "aggregations": {"latency": {
                            "func": "PERCENTILES", "key": "externalFields.durationNano",
                            "groupBy": group, "maxGroups": 3,
                            "aggregationParameters": {"percentiles": [50, 99]}}}}
                cmp.within_one_percent(f"approximate latency by {group} {i}", "/v1/histograms",
                                       body)
        status_a, info_a = request("GET", sqlite.base + "/v1/system-info")
        status_b, info_b = request("GET", other.base + "/v1/system-info")
        cmp.checks += 1
        if status_b != 200 or not isinstance(info_b, dict) or len(info_b.get("systemId", "")) != 36:
            cmp.failures.append(("system-info", "/v1/system-info", None, (status_a, info_a),
                                 (status_b, info_b)))

        # The dataset must have exercised the API: the full search returned every stored span.
        _, everything = request("POST", other.base + "/v1/search",
                                {"timeframe": timeframe, "pageSize": 1000})
        stored = len(everything.get("spans", [])) if isinstance(everything, dict) else -1
        if stored != total:
            cmp.failures.append(("span count", f"stored {stored}, sent {total}", None, None, None))

        for what, path, body, a, b in cmp.failures[:10]:
            print(f"MISMATCH {what}: {path}\n  request: {json.dumps(body)[:500]}", file=sys.stderr)
            print(f"  sqlite:     {json.dumps(a)[:1500]}", file=sys.stderr)
            print(f"  {args.engine}: {json.dumps(b)[:1500]}", file=sys.stderr)
        print(f"differential_test: {version}: "
              f"{cmp.checks} requests compared over {total} spans, "
              f"{len(cmp.failures)} mismatches, {time.time() - started:.1f} s")
        return 1 if cmp.failures else 0
    finally:
        for s in servers:
            s.stop()
        if engine_dir is not None:
            if search_engine:
                subprocess.run([script, "stop", "--dir", engine_dir])
            else:
                subprocess.run([script, "kill", engine_dir])
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
