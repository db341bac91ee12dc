#!/usr/bin/env python3
"""Cluster test: teletrace on a 2-shard x 2-replica ClickHouse cluster on loopback.

  tests/clickhouse/cluster_test.py --bin build/release/teletrace

Starts ZooKeeper (Debian's zookeeper package) and four clickhouse-server processes
(tests/clickhouse/clickhouse_server.sh plus a config.d/cluster.xml each), then one teletrace with
--storage.clickhouse.cluster. It ingests and checks every trace; stops one replica of each shard
and keeps ingesting and querying (no acknowledged span may be missing); restarts them and waits
until they hold exactly what their siblings hold. Spans 30 days old, sent first, must be removed
by retention (ON CLUSTER DROP PARTITION) meanwhile. Everything listens on 127.0.0.1 only and is
stopped at the end. Python standard library only.
"""

import argparse
import collections
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from differential_test import Teletrace, free_port, request  # noqa: E402

CLUSTER = "teletrace"
DATABASE = "tt_cluster"
ZK_JAR = "/usr/share/java/zookeeper.jar"


class ZooKeeper:
    def __init__(self, workdir):
        self.port = free_port()
        self.dir = os.path.join(workdir, "zookeeper")
        os.makedirs(self.dir)
        self.log = open(os.path.join(self.dir, "zookeeper.log"), "w")
        # Standalone server: <port> <data dir>; the admin HTTP server stays off (no extra port).
        self.proc = subprocess.Popen(
            ["java", "-Xmx192m", "-Dzookeeper.admin.enableServer=false",
             "-Dzookeeper.4lw.commands.whitelist=srvr,ruok", "-cp", ZK_JAR,
             "org.apache.zookeeper.server.ZooKeeperServerMain", str(self.port),
             os.path.join(self.dir, "data")],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"srvr")
                    if b"Mode" in s.recv(1000):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("zookeeper exited during start-up")
            time.sleep(0.2)
        raise RuntimeError("zookeeper did not start within 60 s")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Node:
    def __init__(self, workdir, shard, replica):
        self.shard, self.replica = shard, replica
        self.name = f"s{shard}r{replica}"
        self.dir = os.path.join(workdir, self.name)
        self.http, self.tcp, self.interserver = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.http}"

    def write_cluster_config(self, nodes, zk_port):
        shards = ""
        for shard in sorted({n.shard for n in nodes}):
            replicas = "".join(
                f"<replica><host>127.0.0.1</host><port>{n.tcp}</port></replica>"
                for n in nodes if n.shard == shard)
            shards += f"<shard><internal_replication>true</internal_replication>{replicas}</shard>"
        os.makedirs(os.path.join(self.dir, "config.d"), exist_ok=True)
        with open(os.path.join(self.dir, "config.d", "cluster.xml"), "w") as f:
            f.write(f"""<?xml version="1.0"?>
<yandex>
  <zookeeper>
    <node><host>127.0.0.1</host><port>{zk_port}</port></node>
    <session_timeout_ms>6000</session_timeout_ms>
  </zookeeper>
  <remote_servers><{CLUSTER}>{shards}</{CLUSTER}></remote_servers>
  <macros><shard>{self.shard:02d}</shard><replica>{self.name}</replica></macros>
</yandex>
""")

    def start(self):
        subprocess.run([os.path.join(HERE, "clickhouse_server.sh"), "start", self.dir,
                        str(self.http), str(self.tcp), str(self.interserver)], check=True)

    def stop(self, how="stop"):
        subprocess.run([os.path.join(HERE, "clickhouse_server.sh"), how, self.dir], check=True)

    def scalar(self, sql):
        req = urllib.request.Request(self.url, data=sql.encode(), method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read().decode().strip()


def otlp_batch(batch, spans_per_batch, base_ns, first_trace=1):
    """Spans of 30 traces; every batch adds spans to traces started earlier too, each span n
    (after the first 30) a child of span n - 30, in service svc<batch % 3>."""
    spans = []
    for i in range(spans_per_batch):
        n = batch * spans_per_batch + i + 1
        start = base_ns + n * 1_000_000
        span = {"traceId": f"{(n % 30) + first_trace:032x}", "spanId": f"{n:016x}",
                "name": f"op{n % 4}", "kind": 2, "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + 1000 * (n % 9)),
                "attributes": [{"key": "n", "value": {"intValue": str(n)}}]}
        if n > 30:
            span["parentSpanId"] = f"{n - 30:016x}"  # same trace, often an earlier batch
        spans.append(span)
    return {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": f"svc{batch % 3}"}}]},
        "scopeSpans": [{"scope": {"name": "cluster-test"}, "spans": spans}]}]}


def export_with_retry(server, payload):
    # Retryable refusals (503/429) are the contract while ClickHouse is degraded: retry them.
    for attempt in range(30):
        try:
            server.export(payload)
            return attempt
        except urllib.error.HTTPError as e:
            if e.code not in (429, 502, 503, 504):
                raise
            time.sleep(0.5)
    raise RuntimeError("export kept being refused for 15 s")


def check_everything(server, base_ns, sent_by_trace, what):
    total = sum(len(v) for v in sent_by_trace.values())
    timeframe = {"startTimeUnixNanoSec": base_ns, "endTimeUnixNanoSec": base_ns + 3600 * 10**9}
    status, result = request("POST", server.base + "/v1/tags/externalFields.durationNano/statistics",
                             {"timeframe": timeframe, "desiredStatistics": ["count"]})
    got = result.get("statistics", {}).get("count") if isinstance(result, dict) else None
    if status != 200 or got != total:
        raise AssertionError(f"{what}: {got} spans stored, {total} acknowledged "
                             f"(status {status}: {str(result)[:300]})")
    # The newest page of a search, through the Distributed table.
    status, result = request("POST", server.base + "/v1/search",
                             {"timeframe": timeframe, "pageSize": 100})
    if status != 200 or len(result.get("spans", [])) != min(100, total):
        raise AssertionError(f"{what}: search answered {status}: {str(result)[:300]}")
    # Calls between services, joined across shards' replicas through the Distributed table: span
    # n calls from the service of span n - 30 (spans_per_batch 40: batch (n - 1) // 40).
    def service(n):
        return f"svc{(n - 1) // 40 % 3}"

    calls = collections.Counter()
    for span_ids in sent_by_trace.values():
        for span_id in span_ids:
            n = int(span_id, 16)
            if n > 30:
                calls[(service(n - 30), service(n))] += 1
    want = {"dependencies": [{"parent": p, "child": c, "callCount": k, "errorCount": 0}
                             for (p, c), k in sorted(calls.items())], "partial": False}
    status, result = request("POST", server.base + "/v1/dependencies", {"timeframe": timeframe})
    if status != 200 or result != want:
        raise AssertionError(f"{what}: dependencies answered {status}: {str(result)[:300]}, "
                             f"expected {str(want)[:300]}")
    # The attribute keys of all stored data, from every shard's tag_keys through the Distributed
    # table (migration 002).
    status, result = request("GET", server.base + "/v1/tags")
    keys = sorted(t["name"] + " " + t["type"] for t in result.get("Tags", [])
                  if ".attributes." in t["name"]) if isinstance(result, dict) else []
    if status != 200 or keys != ["resource.attributes.service.name Str", "span.attributes.n Int"]:
        raise AssertionError(f"{what}: tag keys answered {status}: {str(result)[:300]}")
    for trace, span_ids in sent_by_trace.items():
        status, result = request("GET", server.base + f"/v1/trace/{trace}")
        ids = sorted(s["span"]["spanId"] for s in result.get("spans", [])) \
            if isinstance(result, dict) else []
        if status != 200 or ids != sorted(span_ids):
            raise AssertionError(f"{what}: trace {trace}: {len(ids)} spans, expected "
                                 f"{len(span_ids)} (status {status})")
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(HERE, "..", "..", "build", "release",
                                                      "teletrace"))
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)
    if not os.path.exists(ZK_JAR):
        print(f"cluster_test: {ZK_JAR} missing (install the zookeeper package)", file=sys.stderr)
        return 2

    started = time.time()
    workdir = tempfile.mkdtemp(prefix="teletrace-cluster-")
    zk = None
    nodes = []
    running = []
    teletrace = None
    try:
        zk = ZooKeeper(workdir)
        nodes = [Node(workdir, shard, replica) for shard in (1, 2) for replica in (1, 2)]
        for node in nodes:
            node.write_cluster_config(nodes, zk.port)
            node.start()
            running.append(node)
        print(f"cluster_test: zookeeper and 4 clickhouse-servers up in {time.time() - started:.1f} s")

        teletrace = Teletrace(binary, "teletrace-cluster", [
            "--storage.backend=clickhouse",
            "--storage.clickhouse.endpoints=" + ",".join(n.url for n in nodes),
            f"--storage.clickhouse.database={DATABASE}",
            f"--storage.clickhouse.cluster={CLUSTER}",
            "--storage.clickhouse.retention_max_age=7d", "--storage.retention_interval=2s"],
            workdir)

        base_ns = (time.time_ns() // 10**9 - 1800) * 10**9
        sent = {}
        batches, per_batch = 0, 40

        def ingest(count):
            nonlocal batches
            retries = 0
            for _ in range(count):
                payload = otlp_batch(batches, per_batch, base_ns)
                retries += export_with_retry(teletrace, payload)
                for span in payload["resourceSpans"][0]["scopeSpans"][0]["spans"]:
                    sent.setdefault(span["traceId"], []).append(span["spanId"])
                batches += 1
            return retries

        # Spans from 30 days ago: retention (ON CLUSTER DROP PARTITION) must remove them. Their
        # traces are not the recent ones, so the checks below hold whether retention ran yet or not.
        old_ns = base_ns - 30 * 86400 * 10**9
        export_with_retry(teletrace, otlp_batch(1000, 50, old_ns, first_trace=1000))

        ingest(10)
        total = check_everything(teletrace, base_ns, sent, "healthy cluster")
        per_shard = [int(n.scalar(f"SELECT count() FROM {DATABASE}.spans_local "
                                  f"WHERE start_time_unix_nano >= {base_ns}")) for n in nodes]
        if per_shard[0] + per_shard[2] != total or per_shard[0] == 0 or per_shard[2] == 0:
            raise AssertionError(f"spans per node {per_shard}: not sharded as expected")
        print(f"cluster_test: {total} spans, per node {per_shard}")

        # The first replica of each shard goes away: the one reads and inserts prefer, and the
        # first endpoint teletrace knows. Ingest and queries carry on through the others.
        down = [n for n in nodes if n.replica == 1]
        t = time.time()
        stoppers = [threading.Thread(target=node.stop) for node in down]
        for th in stoppers:
            th.start()
        for th in stoppers:
            th.join()
        for node in down:
            running.remove(node)
        print(f"cluster_test: stopped {[n.name for n in down]} in {time.time() - t:.1f} s")
        retries = ingest(10)
        total = check_everything(teletrace, base_ns, sent, "one replica per shard down")
        retries += ingest(5)
        total = check_everything(teletrace, base_ns, sent, "one replica per shard down, later")
        print(f"cluster_test: {total} spans with replicas down ({retries} retried exports)")

        # They come back and catch up from their siblings.
        t = time.time()
        for node in down:
            node.start()
            running.append(node)
        print(f"cluster_test: restarted them in {time.time() - t:.1f} s")
        deadline = time.time() + 90
        while True:
            counts = {n.name: int(n.scalar(f"SELECT count() FROM {DATABASE}.spans_local "
                                           f"WHERE start_time_unix_nano >= {base_ns}"))
                      for n in nodes}
            if counts["s1r1"] == counts["s1r2"] and counts["s2r1"] == counts["s2r2"]:
                break
            if time.time() > deadline:
                raise AssertionError(f"replicas did not catch up within 90 s: {counts}")
            time.sleep(0.5)
        if counts["s1r1"] + counts["s2r1"] != total:
            raise AssertionError(f"after catch-up {counts}, expected {total} spans in all")
        ingest(3)
        total = check_everything(teletrace, base_ns, sent, "after restart")
        # The restarted replicas answer on their own too.
        for node in down:
            rows = int(node.scalar(f"SELECT count() FROM {DATABASE}.spans "
                                   f"WHERE start_time_unix_nano >= {base_ns}"))
            if rows != total:
                raise AssertionError(f"{node.name} sees {rows} spans through Distributed, "
                                     f"expected {total}")
        deadline = time.time() + 60
        while True:
            _, result = request("POST", teletrace.base +
                                "/v1/tags/externalFields.durationNano/statistics",
                                {"timeframe": {"startTimeUnixNanoSec": old_ns - 10**9,
                                               "endTimeUnixNanoSec": old_ns + 3600 * 10**9},
                                 "desiredStatistics": ["count"]})
            if result == {"statistics": {}}:
                break
            if time.time() > deadline:
                raise AssertionError(f"retention left the 30-day-old spans: {result}")
            time.sleep(1)
        local = [int(n.scalar(f"SELECT count() FROM {DATABASE}.spans_local "
                              f"WHERE start_time_unix_nano < {base_ns}")) for n in nodes]
        if any(local):
            raise AssertionError(f"old spans left on the nodes: {local}")
        print(f"cluster_test: replicas caught up {counts}; {total} spans; passed in "
              f"{time.time() - started:.1f} s")
        return 0
    except Exception as e:  # noqa: BLE001 - report and fail
        print(f"cluster_test: FAILED: {e}", file=sys.stderr)
        for node in nodes:
            err = os.path.join(node.dir, "log", "clickhouse-server.err.log")
            if os.path.exists(err):
                with open(err, errors="replace") as f:
                    tail = f.readlines()[-5:]
                print(f"--- {node.name} error log tail:\n{''.join(tail)}", file=sys.stderr)
        log = os.path.join(workdir, "teletrace-cluster.log")
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                print(f"--- teletrace log tail:\n{''.join(f.readlines()[-20:])}", file=sys.stderr)
        return 1
    finally:
        t = time.time()
        if teletrace is not None:
            teletrace.stop()
        print(f"cluster_test: teletrace stopped in {time.time() - t:.1f} s", file=sys.stderr)
        # The data is deleted next: no need for a graceful shutdown.
        for node in running:
            node.stop("kill")
        if zk is not None:
            zk.stop()
        print(f"cluster_test: teardown took {time.time() - t:.1f} s", file=sys.stderr)
        if args.keep:
            print(f"cluster_test: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
