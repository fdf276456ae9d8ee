#!/usr/bin/python3
"""An S3 endpoint that fails at random: a proxy in front of MinIO for the fault suite.

    s3_faults.py --listen 9000 --upstream 127.0.0.1:9002 --error-rate 0.3 --stats FILE

Each request is either answered by the proxy with an S3 error (500 InternalError,
503 SlowDown or 503 ServiceUnavailable, with S3's XML error body) without reaching
MinIO, or forwarded to MinIO unchanged (the Host header too, so SigV4 signatures still
match) - and, for a share of the forwarded writes, MinIO's success is replaced by a 500
after the fact: the write happened, the client is told it did not, as S3 may do.

Stdlib only: it is copied to the lab's S3 host and run with the host's python3. The
counts go to the stats file (JSON) on every request and to stdout at exit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERRORS = [
    (500, "InternalError", "We encountered an internal error. Please try again."),
    (503, "SlowDown", "Please reduce your request rate."),
    (503, "ServiceUnavailable", "Service is unable to handle request."),
]
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


class Stats:
    def __init__(self, path: str | None) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def add(self, what: str) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1
            if self.path:
                tmp = self.path + ".tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    json.dump(self.counts, f)
                os.replace(tmp, self.path)


def make_handler(args: argparse.Namespace, stats: Stats, rng: random.Random) -> type:
    upstream_host, _, upstream_port = args.upstream.rpartition(":")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *a: Any) -> None:
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                raw = bytearray()
                while True:
                    size_line = self.rfile.readline()
                    raw += size_line
                    size = int(size_line.split(b";")[0].strip() or b"0", 16)
                    chunk = self.rfile.read(size + 2)
                    raw += chunk
                    if size == 0:
                        # Trailers, then the empty line.
                        while chunk not in (b"\r\n", b"\n", b""):
                            chunk = self.rfile.readline()
                            raw += chunk
                        return bytes(raw)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _error(self, status: int, code: str, message: str) -> None:
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message>"
                f"<Resource>{self.path}</Resource><RequestId>fault</RequestId></Error>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            if code == "SlowDown":
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            body = self._body()
            write = self.command in ("PUT", "POST", "DELETE")
            if rng.random() < args.error_rate:
                status, code, message = rng.choice(ERRORS)
                stats.add(f"injected {status} {code}")
                self._error(status, code, message)
                return
            conn = http.client.HTTPConnection(upstream_host, int(upstream_port), timeout=120)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    headers["Transfer-Encoding"] = "chunked"
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers.items():
                    conn.putheader(k, v)
                conn.endheaders(body or None)
                resp = conn.getresponse()
                data = resp.read()
            except OSError as exc:
                stats.add("upstream unreachable")
                self._error(503, "ServiceUnavailable", f"upstream: {exc}")
                return
            finally:
                conn.close()
            if write and resp.status < 300 and rng.random() < args.late_error_rate:
                stats.add("late 500 after a write that happened")
                self._error(500, "InternalError", "We encountered an internal error.")
                return
            stats.add(f"forwarded {resp.status}")
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, default=9000)
    parser.add_argument("--upstream", default="127.0.0.1:9002")
    parser.add_argument("--error-rate", type=float, default=0.3)
    parser.add_argument("--late-error-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--stats", default=None)
    args = parser.parse_args()
    stats = Stats(args.stats)
    server = ThreadingHTTPServer(
        ("", args.listen), make_handler(args, stats, random.Random(args.seed))
    )
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"s3-faults: :{args.listen} -> {args.upstream}, error rate {args.error_rate}", flush=True)
    server.serve_forever()
    print("s3-faults: " + json.dumps(stats.counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
