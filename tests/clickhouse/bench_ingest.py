#!/usr/bin/env python3
"""Ingest benchmark: acknowledged spans per second and stored bytes per span, ClickHouse beside
SQLite, with teletrace-loadgen as the OTLP client.

  tests/clickhouse/bench_ingest.py --bin build/release/teletrace \
      --loadgen build/release/bench/teletrace-loadgen --spans 300000 [--json out.json]

For each backend: starts a fresh store (a throwaway clickhouse-server, or a temporary SQLite
directory) and teletrace, sends --spans spans over OTLP/gRPC, and reads the store's size once the
data is settled (ClickHouse: bytes_on_disk of the active parts after OPTIMIZE ... FINAL; SQLite: the
database files after a checkpoint, i.e. after teletrace exits). Prints one JSON object per backend
(and writes them to --json), for the benchmark suite to merge into its report.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from differential_test import Teletrace, free_port  # noqa: E402


def clickhouse_query(url, sql):
    req = urllib.request.Request(url, data=sql.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=600) as resp:
        return resp.read().decode().strip()


def run_loadgen(loadgen, server, spans):
    out = subprocess.run([loadgen, f"--endpoint=127.0.0.1:{server.grpc}", f"--total-spans={spans}",
                          "--connections=4", "--batch=1000", "--json"],
                         capture_output=True, text=True, timeout=1800, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def directory_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def bench_clickhouse(binary, loadgen, spans, workdir):
    ch_dir = os.path.join(workdir, "clickhouse")
    http_port = free_port()
    url = f"http://127.0.0.1:{http_port}"
    subprocess.run([os.path.join(HERE, "clickhouse_server.sh"), "start", ch_dir, str(http_port),
                    str(free_port()), str(free_port())], check=True)
    server = None
    try:
        server = Teletrace(binary, "bench-clickhouse", [
            "--storage.backend=clickhouse", f"--storage.clickhouse.endpoints={url}",
            "--storage.clickhouse.database=tt_bench"], workdir)
        report = run_loadgen(loadgen, server, spans)
        stored = int(clickhouse_query(url, "SELECT count() FROM tt_bench.spans"))
        for table in ("spans", "trace_index"):
            # OPTIMIZE does nothing, and says nothing, while a background merge holds some of a
            # partition's parts: ask until each partition is one part.
            for _ in range(600):
                clickhouse_query(url, f"OPTIMIZE TABLE tt_bench.{table} FINAL")
                extra = clickhouse_query(
                    url, "SELECT count() - uniqExact(partition) FROM system.parts WHERE active "
                         f"AND database = 'tt_bench' AND table = '{table}'")
                if int(extra) == 0:
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError(f"tt_bench.{table}: parts still unmerged after 60 s")
        size = int(clickhouse_query(
            url, "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = "
                 "'tt_bench'"))
        return {"backend": "clickhouse", "spans": stored,
                "acknowledged_spans_per_s": report["acknowledged_spans_per_s"],
                "latency_p99_ms": report["latency_p99_ms"],
                "retryable_refusals": report["retryable_refusals"],
                "bytes": size, "bytes_per_span": size / max(stored, 1)}
    finally:
        if server is not None:
            server.stop()
        subprocess.run([os.path.join(HERE, "clickhouse_server.sh"), "kill", ch_dir])


def bench_sqlite(binary, loadgen, spans, workdir):
    data = os.path.join(workdir, "sqlite")
    server = Teletrace(binary, "bench-sqlite", ["--storage.backend=sqlite",
                                                f"--storage.sqlite.path={data}"], workdir)
    try:
        report = run_loadgen(loadgen, server, spans)
    finally:
        server.stop()
    size = directory_bytes(data)
    return {"backend": "sqlite", "spans": report["acknowledged_spans"],
            "acknowledged_spans_per_s": report["acknowledged_spans_per_s"],
            "latency_p99_ms": report["latency_p99_ms"],
            "retryable_refusals": report["retryable_refusals"],
            "bytes": size, "bytes_per_span": size / max(report["acknowledged_spans"], 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--loadgen", required=True)
    parser.add_argument("--spans", type=int, default=300000)
    parser.add_argument("--only", default="clickhouse,sqlite")
    parser.add_argument("--json")
    args = parser.parse_args()
    results = []
    for backend in args.only.split(","):
        workdir = tempfile.mkdtemp(prefix=f"teletrace-bench-{backend}-")
        try:
            started = time.time()
            fn = bench_clickhouse if backend == "clickhouse" else bench_sqlite
            result = fn(os.path.abspath(args.bin), os.path.abspath(args.loadgen), args.spans,
                        workdir)
            result["wall_s"] = round(time.time() - started, 1)
            results.append(result)
            print(json.dumps(result), flush=True)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
