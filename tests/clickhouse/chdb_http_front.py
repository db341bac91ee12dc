#!/usr/bin/env python3
"""A ClickHouse HTTP interface in front of chdb (the real ClickHouse engine embedded in Python), for
tests only: it lets the backend's server tests and the differential test run against current
ClickHouse releases, of which no server binary is reachable here.

  <venv>/bin/python tests/clickhouse/chdb_http_front.py --port P --path DIR
      [--max-seconds 3600] [--parent-pid PID]

Listens on 127.0.0.1:P only. Stops by itself when --parent-pid (default: the parent) exits or
after --max-seconds, and cleanly on SIGTERM/SIGINT. The engine is real: one chdb session whose data
lives in DIR, so a stop and a start on the same DIR keep the tables. What is emulated is only the
HTTP layer, the part of it the backend uses (src/storage/clickhouse/clickhouse_http.cc):

- GET /ping and GET / answer "Ok.".
- POST (or GET) /?query=...: the statement is the URL's `query`, the body, or both (URL, newline,
  body), as on a server; an `INSERT ... FORMAT F` in the URL takes the body as its data.
  `Content-Encoding: gzip` request bodies and chunked bodies are accepted.
- `database=` sets the current database for the request; other URL parameters except the ones
  ClickHouse reserves (user, password, query_id, ...) are settings for this request only, applied
  by the engine itself, so an unknown one fails as on a server (Code 115, HTTP 404).
- Users as tests/clickhouse/clickhouse_server.sh configures them (default and logged without
  password, teletrace with a password), by basic auth, X-ClickHouse-User/X-ClickHouse-Key or the
  URL; an unknown user or a wrong password is answered as current releases do: HTTP 403, Code
  516 AUTHENTICATION_FAILED.
- Errors are `Code: N. DB::Exception: ... (NAME) (version V)` with X-ClickHouse-Exception-Code and
  the HTTP status current servers use for N.

Python standard library plus chdb (installed by scripts/install-chdb.sh).
"""

import argparse
import base64
import gzip
import http.server
import os
import re
import signal
import socketserver
import sys
import threading
import time
import urllib.parse
import zlib

import chdb
from chdb import session as chdb_session

# The users of tests/clickhouse/clickhouse_server.sh's users.xml, so the same tests pass on both.
USERS = {"default": "", "teletrace": "s3cret 'quoted'", "logged": ""}

# URL parameters ClickHouse's HTTP handler reads itself; every other one is a setting.
RESERVED_PARAMETERS = {"query", "database", "user", "password", "query_id", "default_format",
                       "session_id", "session_timeout", "session_check", "compress",
                       "decompress", "quota_key", "buffer_size", "wait_end_of_query",
                       "stacktrace", "role"}

# The HTTP status current ClickHouse servers answer for an exception code (HTTPHandler); codes not
# listed are 500.
HTTP_STATUS_BY_CODE = {
    194: 401,                                             # REQUIRED_PASSWORD
    192: 403, 193: 403, 516: 403,                         # UNKNOWN_USER, WRONG_PASSWORD, AUTH...
    6: 400, 27: 400, 36: 400, 53: 400, 62: 400, 117: 400,  # parse errors, bad arguments, syntax
    46: 404, 47: 404, 50: 404, 56: 404, 60: 404, 63: 404, 73: 404, 81: 404, 115: 404,  # UNKNOWN_*
    48: 501,                                              # NOT_IMPLEMENTED
    159: 408,                                             # TIMEOUT_EXCEEDED
    209: 503,                                             # SOCKET_TIMEOUT
}

CONTENT_TYPES = {"RowBinary": "application/octet-stream", "Native": "application/octet-stream",
                 "JSON": "application/json; charset=UTF-8",
                 "JSONEachRow": "application/x-ndjson; charset=UTF-8",
                 "TabSeparated": "text/tab-separated-values; charset=UTF-8",
                 "TSV": "text/tab-separated-values; charset=UTF-8"}

INSERT_WITH_FORMAT = re.compile(r"^\s*(INSERT\s+INTO\s.*?)\s+FORMAT\s+(\w+)\s*$",
                                re.IGNORECASE | re.DOTALL)
FORMAT_AT_END = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
CODE_PREFIX = re.compile(r"Code: (\d+)\. DB::Exception: ")
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_BODY_BYTES = 512 << 20


class ClickHouseError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Engine:
    """The chdb session, used by one request at a time (settings and the current database are
    session state, applied for one request and reset after it)."""

    def __init__(self, path):
        self.session = chdb_session.Session(os.path.join(path, "data"))
        self.tmp_dir = os.path.join(path, "insert")
        os.makedirs(self.tmp_dir, exist_ok=True)
        self.lock = threading.Lock()
        self.version = self._run("SELECT version()", "TabSeparated").decode().strip()

    def _run(self, sql, fmt):
        try:
            return self.session.query(sql, fmt).bytes()
        except Exception as e:  # chdb raises its own error types, all carrying the server message
            raise self._error(str(e)) from None

    def _error(self, text):
        # chdb may wrap the engine's message ("Streaming insert finish failed: Code: ...") or repeat
        # its prefix ("Code: 115. DB::Exception: Code: 115. DB::Exception: ..."); a server says it
        # once.
        m = CODE_PREFIX.search(text)
        if m is None:
            return ClickHouseError(1001, f"Code: 1001. DB::Exception: {text.strip()}. "
                                         f"(STD_EXCEPTION) (version {self.version})")
        code = int(m.group(1))
        body = text[m.start():]
        prefix = m.group(0)
        while body.startswith(prefix + prefix):
            body = body[len(prefix):]
        body = body.rstrip()
        # The repeated prefix comes with a repeated suffix: "... (version V). (NAME)".
        body = re.sub(r"(\(version [^)]*\))\. \([A-Z_]+\)$", r"\1", body)
        if not re.search(r"\(version [^)]*\)$", body):
            body += f" (version {self.version})"
        return ClickHouseError(code, body)

    def execute(self, sql, settings, database, insert_data=None):
        """Runs `sql` (bytes: string literals may hold any byte) with the request's settings and
        database. insert_data, (statement without FORMAT, format, data), is an INSERT whose data
        came in the body: it reaches the engine as a file (FROM INFILE), byte for byte, which
        every chdb release runs (statement text with data appended is not kept byte-exact)."""
        with self.lock:
            applied = []
            try:
                if database:
                    self._run(f"USE {quote_identifier(database)}", "TabSeparated")
                for name, value in settings.items():
                    self._run(f"SET {name} = {quote_string(value)}", "TabSeparated")
                    applied.append(name)
                if insert_data is not None:
                    statement, fmt, data = insert_data
                    path = os.path.join(self.tmp_dir, f"insert-{threading.get_ident()}.bin")
                    with open(path, "wb") as f:
                        f.write(data)
                    try:
                        # The statement as the client sent it (bytes; it was read as latin-1).
                        return self._run(statement.encode("latin-1") +
                                         f" FROM INFILE {quote_string(path)} FORMAT {fmt}"
                                         .encode(), "TabSeparated")
                    finally:
                        os.unlink(path)
                if not sql.strip():
                    raise ClickHouseError(62, "Code: 62. DB::Exception: Empty query. "
                                              f"(SYNTAX_ERROR) (version {self.version})")
                return self._run(sql, "TabSeparated")
            finally:
                for name in applied:
                    self._run(f"SET {name} = DEFAULT", "TabSeparated")
                if database:
                    self._run("USE default", "TabSeparated")

    def close(self):
        with self.lock:
            self.session.close()


def quote_string(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_identifier(name):
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl's pooled connections expect

    def version_string(self):
        return "chdb_http_front"

    def log_message(self, fmt, *args):  # quiet: tests read the backend's messages, not ours
        pass

    def do_GET(self):
        self._handle(has_body=False)

    def do_POST(self):
        self._handle(has_body=True)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    raise ClickHouseError(85, "Code: 85. DB::Exception: Request body too large. "
                                              "(FORMAT_IS_NOT_SUITABLE_FOR_INPUT)")
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(parts)
        else:
            length = int(self.headers.get("Content-Length", "0") or "0")
            if length > MAX_BODY_BYTES:
                raise ClickHouseError(85, "Code: 85. DB::Exception: Request body too large.")
            body = self.rfile.read(length) if length > 0 else b""
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding not in ("", "identity"):
            raise ClickHouseError(
                48, f"Code: 48. DB::Exception: Unknown HTTP Content-Encoding: {encoding}. "
                    "(NOT_IMPLEMENTED)")
        return body

    def _credentials(self, params):
        user = self.headers.get("X-ClickHouse-User")
        key = self.headers.get("X-ClickHouse-Key")
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
            except ValueError:
                decoded = ":"
            basic_user, _, basic_password = decoded.partition(":")
            user = user if user is not None else basic_user
            key = key if key is not None else basic_password
        user = user if user is not None else params.get("user", "default")
        key = key if key is not None else params.get("password", "")
        return user or "default", key

    def _handle(self, has_body):
        engine = self.server.engine
        url = urllib.parse.urlsplit(self.path)
        try:
            body = self._read_body() if has_body else b""
        except ClickHouseError as e:
            self._answer_error(e)
            return
        except (OSError, ValueError, EOFError, zlib.error) as e:
            self._answer_error(ClickHouseError(
                1001, f"Code: 1001. DB::Exception: cannot read the request body: {e}. "
                      f"(STD_EXCEPTION) (version {engine.version})"))
            return
        if url.path == "/ping" or (url.path == "/" and not has_body and not url.query):
            self._answer(200, b"Ok.\n", "text/html; charset=UTF-8")
            return
        if url.path != "/":
            self._answer(404, f"There is no handle {url.path}\n".encode(),
                         "text/plain; charset=UTF-8")
            return
        params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        user, key = self._credentials(params)
        if USERS.get(user) != key:
            # What current releases answer for an unknown user and for a wrong password alike.
            self._answer_error(ClickHouseError(
                516, f"Code: 516. DB::Exception: {user}: Authentication failed: password is "
                     "incorrect, or there is no user with such name. (AUTHENTICATION_FAILED) "
                     f"(version {engine.version})"))
            return
        settings = {}
        for name, value in params.items():
            if name in RESERVED_PARAMETERS or name.startswith("param_"):
                continue
            if not SETTING_NAME.match(name):
                self._answer_error(ClickHouseError(
                    115, f"Code: 115. DB::Exception: Unknown setting '{name}'. (UNKNOWN_SETTING) "
                         f"(version {engine.version})"))
                return
            settings[name] = value
        # As on a server: the URL's statement, a newline, then the body (which holds INSERT data
        # after the statement's FORMAT clause, or the rest of the statement).
        sql = params.get("query", "").encode()
        insert_data = None
        if sql and body:
            insert = INSERT_WITH_FORMAT.match(sql.decode("latin-1"))
            if insert is not None:
                insert_data = (insert.group(1), insert.group(2), body)
                sql = insert.group(0).encode("latin-1")
            else:
                sql += b"\n" + body
        elif body:
            sql = body
        text = sql.decode("latin-1")  # for recognising the statement only
        if not has_body and re.match(r"^\s*(INSERT|CREATE|ALTER|DROP|TRUNCATE|RENAME|OPTIMIZE)\b",
                                     text, re.IGNORECASE):
            self._answer_error(ClickHouseError(
                164, "Code: 164. DB::Exception: Cannot execute query in readonly mode. For "
                     f"queries over HTTP, method GET implies readonly. (READONLY) "
                     f"(version {engine.version})"))
            return
        try:
            result = engine.execute(sql, settings, params.get("database"), insert_data)
        except ClickHouseError as e:
            self._answer_error(e)
            return
        is_insert = re.match(r"^\s*INSERT\b", text, re.IGNORECASE) is not None
        m = None if is_insert else FORMAT_AT_END.search(text)
        fmt = m.group(1) if m else "TabSeparated"
        self._answer(200, result, CONTENT_TYPES.get(fmt, "text/plain; charset=UTF-8"),
                     {"X-ClickHouse-Format": fmt})

    def _answer_error(self, error):
        status = HTTP_STATUS_BY_CODE.get(error.code, 500)
        # The one line a failing test needs to explain itself (in the server script's log).
        print(f"chdb_http_front: HTTP {status}: {error.message.splitlines()[0][:500]}",
              file=sys.stderr, flush=True)
        self._answer(status, (error.message + "\n").encode(), "text/plain; charset=UTF-8",
                     {"X-ClickHouse-Exception-Code": str(error.code)})

    def _answer(self, status, body, content_type, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-ClickHouse-Server-Display-Name", "chdb")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True,
                        help="its directory: the chdb session's data, inserts in progress")
    parser.add_argument("--max-seconds", type=float, default=3600)
    parser.add_argument("--parent-pid", type=int, default=os.getppid())
    parser.add_argument("--ready-file", help="written with the engine version once listening")
    args = parser.parse_args()

    os.makedirs(args.path, exist_ok=True)
    engine = Engine(args.path)
    server = Server(("127.0.0.1", args.port), Handler)
    server.engine = engine
    stopping = threading.Event()

    def stop(reason):
        if stopping.is_set():
            return
        stopping.set()
        print(f"chdb_http_front: stopping ({reason})", file=sys.stderr, flush=True)
        threading.Thread(target=server.shutdown, daemon=True).start()

    def watch():
        deadline = time.monotonic() + args.max_seconds
        while not stopping.wait(0.5):
            if time.monotonic() > deadline:
                stop(f"time limit of {args.max_seconds:.0f} s")
            try:
                os.kill(args.parent_pid, 0)
            except ProcessLookupError:
                stop(f"parent {args.parent_pid} exited")
            except PermissionError:
                pass

    signal.signal(signal.SIGTERM, lambda *_: stop("SIGTERM"))
    signal.signal(signal.SIGINT, lambda *_: stop("SIGINT"))
    threading.Thread(target=watch, daemon=True).start()
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(engine.version + "\n")
        os.replace(args.ready_file + ".tmp", args.ready_file)
    print(f"chdb_http_front: chdb {chdb.__version__} (ClickHouse {engine.version}) on "
          f"127.0.0.1:{args.port}, data in {args.path}", file=sys.stderr, flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
