#!/usr/bin/env python3
"""Checks chdb_http_front.py's HTTP layer against what ClickHouse servers answer, so the backend's
tests through it mean what they say: exact status codes, error bodies and headers.

  python3 tests/clickhouse/chdb_http_front_test.py     (TELETRACE_CHDB_VERSION picks the release)

Starts one front (tests/clickhouse/chdb_server.sh, installing chdb on first use) on a free loopback
port, stops it at the end. Python standard library only.
"""

import base64
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "chdb_server.sh")
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from ports import free_port  # noqa: E402


class FrontTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="teletrace-chdb-front-")
        cls.port = free_port()
        env = dict(os.environ, TELETRACE_CHDB_OWNER_PID=str(os.getpid()),
                   TELETRACE_CHDB_MAX_SECONDS="600")
        subprocess.run([SCRIPT, "start", cls.dir, str(cls.port), "0"], check=True, env=env)
        cls.url = f"http://127.0.0.1:{cls.port}/"
        cls.version = cls.post("SELECT version()")[2].decode().strip()

    @classmethod
    def tearDownClass(cls):
        subprocess.run([SCRIPT, "stop", cls.dir], check=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def post(cls, body, params=None, headers=None, method="POST"):
        url = cls.url + ("?" + urllib.parse.urlencode(params) if params else "")
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(url, data=data if method == "POST" else None, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def test_ping(self):
        with urllib.request.urlopen(self.url + "ping", timeout=10) as resp:
            self.assertEqual((resp.status, resp.read()), (200, b"Ok.\n"))

    def test_query_in_body_url_and_both(self):
        self.assertEqual(self.post("SELECT 1 + 1")[2], b"2\n")
        self.assertEqual(self.post(b"", {"query": "SELECT 'u'"})[2], b"u\n")
        # The URL's statement continues with the body.
        self.assertEqual(self.post("+ 2", {"query": "SELECT 1"})[2], b"3\n")
        status, headers, body = self.post("SELECT toUInt16(258) FORMAT RowBinary")
        self.assertEqual((status, body), (200, b"\x02\x01"))
        self.assertEqual(headers["Content-Type"], "application/octet-stream")
        self.assertEqual(headers["X-ClickHouse-Format"], "RowBinary")

    def test_any_byte_in_a_statement(self):
        # String literals may hold bytes that are not UTF-8; the engine gets them unchanged.
        status, _, body = self.post(b"SELECT '\xff\xfe\x00' FORMAT RowBinary")
        self.assertEqual((status, body), (200, b"\x03\xff\xfe\x00"))

    def test_gzip_body(self):
        status, _, body = self.post(gzip.compress(b"SELECT 42"),
                                    headers={"Content-Encoding": "gzip"})
        self.assertEqual((status, body), (200, b"42\n"))

    def test_settings_apply_to_one_request_only(self):
        self.assertEqual(self.post("SELECT getSetting('max_query_size')",
                                   {"max_query_size": "67108864"})[2], b"67108864\n")
        self.assertEqual(self.post("SELECT getSetting('max_query_size')")[2], b"262144\n")

    def test_unknown_setting_is_refused_as_by_a_server(self):
        status, headers, body = self.post(
            "SELECT 1", {"allow_experimental_low_cardinality_type": "1"})
        self.assertEqual(status, 404)
        self.assertEqual(headers["X-ClickHouse-Exception-Code"], "115")
        text = body.decode()
        self.assertTrue(text.startswith(
            "Code: 115. DB::Exception: Unknown setting 'allow_experimental_low_cardinality_type'"),
            text)
        self.assertTrue(text.endswith(f"(UNKNOWN_SETTING) (version {self.version})\n"), text)
        # Said once, not twice as chdb's own message does.
        self.assertEqual(text.count("Code: 115"), 1, text)

    def test_error_statuses(self):
        for sql, status, code in [("SELEC 1", 400, "62"), ("SELECT nope()", 404, "46"),
                                  ("SELECT * FROM no_such_table", 404, "60"),
                                  ("SELECT throwIf(1)", 500, "395")]:
            got, headers, body = self.post(sql)
            self.assertEqual(got, status, body)
            self.assertEqual(headers["X-ClickHouse-Exception-Code"], code)
            self.assertTrue(body.decode().startswith(f"Code: {code}. DB::Exception: "), body)
        got, _, body = self.post("")
        self.assertEqual(got, 400)
        self.assertEqual(body.decode(), f"Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR) "
                                        f"(version {self.version})\n")

    def test_insert_data_in_the_body(self):
        db = f"front_test_{os.getpid()}"
        self.assertEqual(self.post(f"CREATE DATABASE {db}")[0], 200)
        self.assertEqual(self.post(f"CREATE TABLE {db}.t (a UInt64, s String) "
                                   "ENGINE = MergeTree ORDER BY a")[0], 200)
        row = (7).to_bytes(8, "little") + b"\x03\xff\x00x"
        status, _, body = self.post(row, {"query": f"INSERT INTO {db}.t (a, s) FORMAT RowBinary"})
        self.assertEqual((status, body), (200, b""))
        status, _, body = self.post("SELECT a, s FROM t FORMAT RowBinary", {"database": db})
        self.assertEqual((status, body), (200, row))
        # The database parameter held for that request only.
        self.assertEqual(self.post("SELECT currentDatabase()")[2], b"default\n")
        # Truncated data is the engine's own error.
        status, headers, body = self.post(row[:5],
                                          {"query": f"INSERT INTO {db}.t FORMAT RowBinary"})
        self.assertEqual(status, 500, body)
        self.assertEqual(headers["X-ClickHouse-Exception-Code"], "33")

    def test_get_is_read_only(self):
        status, headers, _ = self.post(None, {"query": "CREATE DATABASE x_get"}, method="GET")
        self.assertEqual(status, 500)
        self.assertEqual(headers["X-ClickHouse-Exception-Code"], "164")
        status, _, body = self.post(None, {"query": "SELECT 5"}, method="GET")
        self.assertEqual((status, body), (200, b"5\n"))

    def test_users(self):
        good = "Basic " + base64.b64encode(b"teletrace:s3cret 'quoted'").decode()
        self.assertEqual(self.post("SELECT 1", headers={"Authorization": good})[0], 200)
        self.assertEqual(self.post("SELECT 1", headers={
            "X-ClickHouse-User": "teletrace", "X-ClickHouse-Key": "s3cret 'quoted'"})[0], 200)
        denied = (f"Code: 516. DB::Exception: teletrace: Authentication failed: password is "
                  f"incorrect, or there is no user with such name. (AUTHENTICATION_FAILED) "
                  f"(version {self.version})\n").encode()
        for headers, params in [
                ({"Authorization": "Basic " + base64.b64encode(b"teletrace:nope").decode()}, None),
                ({"X-ClickHouse-User": "teletrace", "X-ClickHouse-Key": "nope"}, None),
                ({}, {"user": "teletrace", "password": "nope"})]:
            status, got_headers, body = self.post("SELECT 1", params, headers)
            self.assertEqual((status, body), (403, denied))
            self.assertEqual(got_headers["X-ClickHouse-Exception-Code"], "516")
        status, _, body = self.post("SELECT 1", headers={"X-ClickHouse-User": "nobody"})
        self.assertEqual(status, 403)
        self.assertTrue(body.startswith(b"Code: 516. DB::Exception: nobody: Authentication failed"))


if __name__ == "__main__":
    unittest.main(verbosity=1)
