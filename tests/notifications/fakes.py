"""Local stand-ins for the services outside the machine: a Twilio REST API and an SMTP server."""

import email
import email.policy
import json
import secrets
import socket
import threading
import time
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from aiosmtpd.controller import Controller
from django.utils import timezone


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ERRORS = {
    "500": (500, {"code": 20500, "message": "Internal Server Error", "status": 500}),
    "429": (429, {"code": 20429, "message": "Too Many Requests", "status": 429}),
    "21211": (
        400,
        {
            "code": 21211,
            "message": "The 'To' number is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211",
            "status": 400,
        },
    ),
}


class FakeTwilio:
    """POST/GET /2010-04-01/Accounts/{sid}/Messages.json, Twilio-shaped.

    `program(to, "500", "429", "hang", "21211", "ok")` scripts the next answers for a number
    (then "ok"); `delay` slows every accepted message; "hang" creates the message and answers
    only after `hang_seconds` (the client has given up by then, as on a lost answer).
    Every request is kept in `requests`, every created message in `messages`.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.scripts: dict[str, list[str]] = {}
        self.delay = 0.0
        self.hang_seconds = 3.0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.messages.clear()
            self.scripts.clear()
            self.delay = 0.0

    def program(self, to: str, *answers: str) -> None:
        with self.lock:
            self.scripts.setdefault(to, []).extend(answers)

    def received(self, to: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if m["to"] == to]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _create(self, account: str, form: dict[str, str]) -> dict[str, Any]:
        now = format_datetime(timezone.now(), usegmt=True)
        sid = "SM" + secrets.token_hex(16)
        message = {
            "sid": sid,
            "account_sid": account,
            "to": form.get("To", ""),
            "from": form.get("From", ""),
            "body": form.get("Body", ""),
            "status": "queued",
            "status_callback": form.get("StatusCallback", ""),
            "direction": "outbound-api",
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "num_segments": "1",
            "num_media": "0",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        }
        with self.lock:
            self.messages.append(message)
        return message

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body leave in two writes: without this, Nagle + delayed ACK
                # add 40 ms to every answer.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client has gone (timeout, killed worker)

            def _account(self) -> str | None:
                parts = urlparse(self.path).path.strip("/").split("/")
                if len(parts) == 4 and parts[0] == "2010-04-01" and parts[3] == "Messages.json":
                    return parts[2]
                return None

            def do_POST(self) -> None:
                account = self._account()
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if account is None or not self.headers.get("Authorization"):
                    self._answer(404 if account is None else 401, {"code": 20003, "status": 401})
                    return
                with fake.lock:
                    fake.requests.append(form)
                    script = fake.scripts.get(form.get("To", ""))
                    answer = script.pop(0) if script else "ok"
                if answer in ERRORS:
                    self._answer(*ERRORS[answer])
                    return
                message = fake._create(account, form)
                if answer == "hang":
                    time.sleep(fake.hang_seconds)
                elif fake.delay:
                    time.sleep(fake.delay)
                self._answer(201, message)

            def do_GET(self) -> None:
                account = self._account()
                if account is None:
                    self._answer(404, {"code": 20404, "status": 404})
                    return
                query = parse_qs(urlparse(self.path).query)
                to = query.get("To", [""])[0]
                with fake.lock:
                    found = [m for m in fake.messages if not to or m["to"] == to]
                found.reverse()  # newest first, as Twilio
                uri = f"/2010-04-01/Accounts/{account}/Messages.json"
                self._answer(
                    200,
                    {
                        "messages": found,
                        "uri": uri,
                        "first_page_uri": uri,
                        "next_page_uri": None,
                        "previous_page_uri": None,
                        "page": 0,
                        "page_size": len(found) or 50,
                        "start": 0,
                        "end": len(found),
                    },
                )

        return Handler


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free port that keeps every message it receives.

    Messages are kept as received and parsed when read (`messages`, `to`), so that receiving
    stays cheap while a benchmark measures the sender.
    """

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                with sink.lock:
                    sink.raw.append(envelope.content)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def messages(self) -> list[email.message.Message]:
        with self.lock:
            raw = list(self.raw)
        return [email.message_from_bytes(data, policy=email.policy.default) for data in raw]

    def reset(self) -> None:
        with self.lock:
            self.raw.clear()

    def to(self, address: str) -> list[email.message.Message]:
        return [m for m in self.messages if m["To"] == address]

    def close(self) -> None:
        self.controller.stop()
