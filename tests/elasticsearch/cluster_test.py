#!/usr/bin/env python3
"""Cluster test: teletrace on a 3-node OpenSearch cluster on loopback (replicas 1).

  tests/elasticsearch/cluster_test.py --bin build/release/teletrace [--flavor opensearch]

Starts three nodes (tests/elasticsearch/search_node.sh, one cluster), then one teletrace that
knows all three endpoints. It ingests and checks every trace; stops the node teletrace talks to
first and keeps ingesting and querying (retryable refusals are retried, as OTLP clients do; no
acknowledged span may be missing); restarts it and waits for a green cluster; checks again. Spans
30 days old, sent first, must be removed by retention (whole daily indices) meanwhile. Everything
listens on 127.0.0.1 only and is stopped at the end. Python standard library only.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "clickhouse"))
from differential_test import Teletrace, free_port, request  # noqa: E402
from cluster_test import check_everything, export_with_retry, otlp_batch  # noqa: E402

NODE_SCRIPT = os.path.join(HERE, "search_node.sh")
PREFIX = "tt-cluster"


class Node:
    def __init__(self, workdir, name, flavor):
        self.name = name
        self.flavor = flavor
        self.dir = os.path.join(workdir, name)
        self.http_port = free_port()
        self.transport_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"

    def start(self, nodes):
        subprocess.run([NODE_SCRIPT, "start", "--flavor", self.flavor, "--dir", self.dir,
                        "--http-port", str(self.http_port),
                        "--transport-port", str(self.transport_port),
                        "--cluster-name", "teletrace-cluster", "--node-name", self.name,
                        "--seed-hosts", ",".join(f"127.0.0.1:{n.transport_port}" for n in nodes),
                        "--initial-masters", ",".join(n.name for n in nodes),
                        "--max-seconds", "1800", "--owner-pid", str(os.getpid())],
                       check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        subprocess.run([NODE_SCRIPT, "stop", "--dir", self.dir], check=False)


def health(url, wait_for):
    with urllib.request.urlopen(f"{url}/_cluster/health?{wait_for}&timeout=120s",
                                timeout=150) as resp:
        return json.loads(resp.read())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(HERE, "..", "..", "build", "release",
                                                      "teletrace"))
    parser.add_argument("--flavor", choices=["opensearch", "elasticsearch"], default="opensearch")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    binary = os.path.abspath(args.bin)

    started = time.time()
    workdir = tempfile.mkdtemp(prefix="teletrace-search-cluster-")
    nodes = [Node(workdir, f"n{i}", args.flavor) for i in (1, 2, 3)]
    teletrace = None
    try:
        # Teletrace starts first, with no node up: it serves, and refuses exports as retryable.
        teletrace = Teletrace(binary, "teletrace-cluster", [
            "--storage.backend=elasticsearch",
            "--storage.elasticsearch.endpoints=" + ",".join(n.url for n in nodes),
            f"--storage.elasticsearch.index_prefix={PREFIX}",
            "--storage.elasticsearch.shards=3", "--storage.elasticsearch.replicas=1",
            "--storage.elasticsearch.request_timeout=20s",
            "--storage.elasticsearch.retention_max_age=7d", "--storage.retention_interval=2s"],
            workdir)
        probe_ns = (time.time_ns() // 10**9 - 3600) * 10**9
        try:
            teletrace.export(otlp_batch(0, 1, probe_ns, first_trace=5000))
            raise AssertionError("an export with every node down was acknowledged")
        except urllib.error.HTTPError as e:
            if e.code != 503:
                raise AssertionError(f"export with every node down: HTTP {e.code}, expected 503")
        for node in nodes:
            node.start(nodes)
        h = health(nodes[1].url, "wait_for_nodes=3&wait_for_status=green")
        if h.get("number_of_nodes") != 3:
            raise AssertionError(f"cluster did not form: {h}")
        print(f"cluster_test: teletrace refused with 503 while no node was up; 3 {args.flavor} "
              f"nodes up in {time.time() - started:.1f} s")

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

        # Spans from 30 days ago, in traces of their own: retention must delete their index.
        old_ns = base_ns - 30 * 86400 * 10**9
        export_with_retry(teletrace, otlp_batch(1000, 50, old_ns, first_trace=1000))

        ingest(10)
        total = check_everything(teletrace, base_ns, sent, "healthy cluster")
        print(f"cluster_test: {total} spans on a green cluster")

        # The first endpoint goes away: writes and reads carry on through the other two.
        down = nodes[0]
        t = time.time()
        down.stop()
        print(f"cluster_test: stopped {down.name} in {time.time() - t:.1f} s")
        retries = ingest(10)
        total = check_everything(teletrace, base_ns, sent, "one node down")
        retries += ingest(5)
        total = check_everything(teletrace, base_ns, sent, "one node down, later")
        print(f"cluster_test: {total} spans with {down.name} down ({retries} retried exports)")

        t = time.time()
        down.start(nodes)
        h = health(nodes[1].url, "wait_for_nodes=3&wait_for_status=green")
        if h.get("status") != "green":
            raise AssertionError(f"cluster not green after the restart: {h}")
        print(f"cluster_test: {down.name} back and the cluster green in {time.time() - t:.1f} s")
        ingest(3)
        total = check_everything(teletrace, base_ns, sent, "after restart")

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
        with urllib.request.urlopen(f"{nodes[1].url}/_cat/indices/{PREFIX}-spans-*?format=json",
                                    timeout=30) as resp:
            indices = sorted(row["index"] for row in json.loads(resp.read()))
        if len(indices) != 1 and len(indices) != 2:  # the test may straddle midnight UTC
            raise AssertionError(f"span indices left: {indices}")
        print(f"cluster_test: {total} spans; indices {indices}; passed in "
              f"{time.time() - started:.1f} s")
        return 0
    except Exception as e:  # noqa: BLE001 - report and fail
        print(f"cluster_test: FAILED: {e}", file=sys.stderr)
        for node in nodes:
            log = os.path.join(node.dir, "node.log")
            if os.path.exists(log):
                with open(log, errors="replace") as f:
                    tail = f.readlines()[-5:]
                print(f"--- {node.name} log tail:\n{''.join(tail)}", file=sys.stderr)
        log = os.path.join(workdir, "teletrace-cluster.log")
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                print(f"--- teletrace log tail:\n{''.join(f.readlines()[-20:])}", file=sys.stderr)
        return 1
    finally:
        if teletrace is not None:
            teletrace.stop()
        for node in nodes:
            node.stop()
        if args.keep:
            print(f"cluster_test: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
