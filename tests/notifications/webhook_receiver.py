"""A webhook receiver: a customer's HTTP server, run in the test process (`Receiver`) or as a
process of its own that a test can SIGKILL mid-delivery (`python -m
tests.notifications.webhook_receiver PORT LOG [DELAY]`).

Every request is appended to the log (JSON lines: headers, body, time) and flushed before the
answer is written, so a receiver killed while answering has recorded what it got.
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Receiver:
    """In-process receiver on 127.0.0.1. `answers` scripts the next status codes (then 200);
    `hold` (a threading.Event) makes every request wait until it is set."""

    def __init__(self, *, log: Path | None = None, delay: float = 0.0) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self.delay = delay
        self.hold: threading.Event | None = None
        self.waiting = 0
        self.log = log
        self.redirect_to = ""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                entry = {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode(),
                    "at": time.time(),
                }
                with receiver.lock:
                    receiver.requests.append(entry)
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    hold = receiver.hold
                if receiver.log is not None:
                    with receiver.log.open("a") as log:
                        log.write(json.dumps(entry) + "\n")
                        log.flush()
                        os.fsync(log.fileno())
                if hold is not None:
                    with receiver.lock:
                        receiver.waiting += 1
                    hold.wait(120)
                if receiver.delay:
                    time.sleep(receiver.delay)
                answer = b'{"ok": true}' if status < 300 else b'{"error": "no"}'
                self.send_response(status)
                if 300 <= status < 400 and receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return

        return Handler

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests)

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    entries = []
    for line in path.read_text().splitlines():
        if line.strip():
            entries.append(json.loads(line))
    return entries


def main(argv: list[str]) -> None:
    port, log = int(argv[0]), Path(argv[1])
    delay = float(argv[2]) if len(argv) > 2 else 0.0
    ThreadingHTTPServer.allow_reuse_address = True
    receiver = Receiver.__new__(Receiver)
    receiver.lock = threading.Lock()
    receiver.requests, receiver.answers = [], []
    receiver.delay, receiver.hold, receiver.waiting = delay, None, 0
    receiver.log, receiver.redirect_to = log, ""
    server = ThreadingHTTPServer(("127.0.0.1", port), receiver._handler())
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
