"""A real HTTP reverse proxy on loopback that forwards to another local server (moto's S3 server, a file server
standing in for data.binance.vision) and injects faults on GETs, counting what it injected.

Faults, as a client meets them on a bad network or a struggling server:
- "500": an S3-style 5xx error answer (500 InternalError or 503 SlowDown)
- "reset": the connection is reset (TCP RST) before any answer
- "drop": headers announcing the whole body, then half of it, then the connection closes (a truncated body)

Two ways to ask for them:
- `faults`: an explicit queue, one fault consumed per GET (for tests of one exact sequence);
- `fault_rate` with a `seed`: each GET fails with that probability, the kinds taking turns. Whether the n-th GET
  of a path fails depends only on (seed, path, n), so a rerun that makes the same requests meets the same
  faults whatever the threads' timing. Bounded: at most `max_consecutive` faults in a row on one path (so a client
  that retries more often than that always gets through) and at most `max_faults` in all.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import sys
import threading
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULT_KINDS = ("500", "reset", "drop")


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client killed mid-request (the chaos test's SIGKILL) resets its connections: not the proxy's error."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        *,
        fault_rate: float = 0.0,
        seed: int = 0,
        kinds: tuple[str, ...] = FAULT_KINDS,
        max_consecutive: int = 2,
        max_faults: int | None = None,
    ) -> None:
        self.upstream = urlsplit(upstream)
        self.faults: deque[str] = deque()  # explicit faults, consumed one per GET before any random one
        self.fault_rate, self.seed, self.kinds = fault_rate, seed, kinds
        self.max_consecutive, self.max_faults = max_consecutive, max_faults
        self.gets = 0
        self.get_headers: list[dict[str, str]] = []
        self.injected: Counter[str] = Counter()  # fault kind -> times injected
        self._gets_by_path: Counter[str] = Counter()
        self._streak_by_path: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def finish(self) -> None:
                try:
                    super().finish()
                except OSError:  # the socket was reset on purpose
                    pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy._next_fault(self.path, dict(self.headers.items())) if self.command == "GET" else None
                if fault == "reset":
                    # SO_LINGER 0: close() sends a TCP RST, the client sees "connection reset by peer"
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault == "500":
                    status, code = (500, "InternalError") if proxy.injected["500"] % 2 else (503, "SlowDown")
                    payload = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = proxy.upstream.netloc
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                conn.close()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if fault == "drop":
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _forward

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _next_fault(self, path: str, headers: dict[str, str]) -> str | None:
        with self._lock:
            self.gets += 1
            self.get_headers.append({k.lower(): v for k, v in headers.items()})
            nth = self._gets_by_path[path]
            self._gets_by_path[path] += 1
            if self.faults:
                fault = self.faults.popleft()
            else:
                draw = random.Random(f"{self.seed}|{path}|{nth}")
                allowed = (self._streak_by_path[path] < self.max_consecutive
                           and (self.max_faults is None or self.total_injected < self.max_faults))
                failing = draw.random() < self.fault_rate
                # kinds in turn, so that even a few faults cover all of them
                fault = self.kinds[self.total_injected % len(self.kinds)] if failing and allowed else None
            if fault is None:
                self._streak_by_path[path] = 0
            else:
                self._streak_by_path[path] += 1
                self.injected[fault] += 1
            return fault

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
