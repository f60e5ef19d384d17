"""Fixtures of the tracking tests: consignments, a real uvicorn serving the streams, an SSE
client reading frames off the wire."""

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import Client
from django.utils import timezone

from sesame.models import BorderControlPost, Company, User
from tests.conftest import ROOT, dies_with_this_process, process_log, service_env
from tracking.models import Consignment
from tracking.services import consignment_create

CONTAINER = "CSQU3054383"


def post(code: str = "FRLEH4") -> BorderControlPost:
    port = code[:5]
    return BorderControlPost.objects.get_or_create(
        code=code, defaults={"name": code, "port": port}
    )[0]


def make_consignment(company: Company, **values: Any) -> Consignment:
    defaults: dict[str, Any] = {
        "reference": f"REF-{Consignment.objects.count() + 1}-{company.pk}",
        "container_numbers": [CONTAINER],
        "transport_document_type": "bl",
        "transport_document_number": "BL-1",
        "port": "FRLEH",
        "expected_arrival": timezone.now() + timedelta(days=3),
        "categories": ["animal_products"],
    }
    defaults.update(values)
    return consignment_create(company=company, **defaults)


@pytest.fixture
def consignment_of() -> Callable[..., Consignment]:
    return make_consignment


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server not listening: {log.read_text()[-2000:]}")


class Server:
    """A real process of the stack (uvicorn, gunicorn) on a free port, against the test DB."""

    def __init__(self, argv: list[str], port: int, name: str, **env: str) -> None:
        self.port = port
        self.log = process_log(f"{name}-{port}")
        self.process = subprocess.Popen(
            dies_with_this_process(argv),
            cwd=ROOT,
            env=service_env(**env),
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_port(port, self.process, self.log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_uvicorn(port: int | None = None, **env: str) -> Server:
    port = port or free_port()
    return Server(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "sesame.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "1",
        ],
        port,
        "uvicorn",
        SESAME_SSE_HEARTBEAT=env.pop("SESAME_SSE_HEARTBEAT", "1"),
        **env,
    )


@pytest.fixture(scope="module")
def uvicorn_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[Server]:
    server = start_uvicorn()
    yield server
    server.stop()


class SSE:
    """A stream read frame by frame (requests, chunked body)."""

    def __init__(
        self, base: str, path: str, cookie: str | None, last_event_id: int | None = None
    ) -> None:
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.response = requests.get(
            base + path,
            cookies={"sessionid": cookie} if cookie else {},
            headers=headers,
            stream=True,
            timeout=(5, 10),
        )
        self.status = self.response.status_code
        self._chunks = self.response.iter_content(None) if self.status == 200 else iter(())
        self._buffer = b""

    def frame(self) -> dict[str, Any]:
        """The next frame: {"id", "data", "comments"}."""
        while b"\n\n" not in self._buffer:
            self._buffer += next(self._chunks)
        raw, self._buffer = self._buffer.split(b"\n\n", 1)
        frame: dict[str, Any] = {"id": None, "data": None, "comments": [], "retry": None}
        for line in raw.decode().split("\n"):
            if line.startswith(":"):
                frame["comments"].append(line[1:].strip())
            elif line.startswith("id: "):
                frame["id"] = int(line[4:])
            elif line.startswith("data: "):
                frame["data"] = json.loads(line[6:])
            elif line.startswith("retry: "):
                frame["retry"] = int(line[7:])
        return frame

    def event(self) -> dict[str, Any]:
        """The next frame carrying an event (heartbeats and comments skipped)."""
        while True:
            frame = self.frame()
            if frame["id"] is not None:
                return frame

    def close(self) -> None:
        self.response.close()


def occurred(hours: float = 0) -> datetime:
    return timezone.now() + timedelta(hours=hours)
