"""The front (nginx, deploy template) answers its own errors under /api/ in the API's JSON
error shape, passes a request id to Django, and keeps its own pages elsewhere."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from scripts.front import render
from tests.tracking.conftest import Server, free_port, wait_port


def start_front(web: str) -> tuple[str, subprocess.Popen]:
    prefix = Path(tempfile.mkdtemp(prefix="sesame-front-"))
    (prefix / "logs").mkdir()
    (prefix / "tmp").mkdir()
    port = free_port()
    conf = render(
        listen=f"127.0.0.1:{port}", web=web, stream=f"127.0.0.1:{free_port()}", prefix=prefix
    )
    (prefix / "nginx.conf").write_text(conf)
    nginx = subprocess.Popen(
        ["nginx", "-c", str(prefix / "nginx.conf"), "-p", str(prefix), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=(prefix / "logs" / "stderr.log").open("wb"),
    )
    wait_port(port, nginx, prefix / "logs" / "stderr.log")
    return f"http://127.0.0.1:{port}", nginx


@pytest.fixture
def front_without_web() -> Iterator[str]:
    """The front with nothing listening behind it (gunicorn down)."""
    url, nginx = start_front(f"127.0.0.1:{free_port()}")
    yield url
    nginx.terminate()
    nginx.wait(10)


def assert_api_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "detail"}
    assert response.headers["X-Request-Id"]


def test_the_web_server_down_is_a_json_502_under_api_with_retry_after(front_without_web) -> None:
    response = requests.post(f"{front_without_web}/api/v1/declarations/", json={}, timeout=10)
    assert_api_error(response, 502, "bad_gateway")
    assert response.headers["Retry-After"] == "5"
    given = requests.get(
        f"{front_without_web}/api/v1/me/", headers={"X-Request-Id": "trace-7"}, timeout=10
    )
    assert given.headers["X-Request-Id"] == "trace-7"


def test_pages_keep_the_fronts_own_error_pages(front_without_web) -> None:
    response = requests.get(f"{front_without_web}/dashboard/", timeout=10)
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"


def test_oversized_headers_and_uris_are_json_under_api(front_without_web) -> None:
    big = {"X-Padding": "a" * 20_000}
    assert_api_error(
        requests.get(f"{front_without_web}/api/v1/me/", headers=big, timeout=10),
        431,
        "headers_too_large",
    )
    page = requests.get(f"{front_without_web}/dashboard/", headers=big, timeout=10)
    assert page.status_code == 400
    assert page.headers["Content-Type"] == "text/html"
    assert_api_error(
        requests.get(f"{front_without_web}/api/v1/{'a' * 20_000}/", timeout=10),
        414,
        "uri_too_long",
    )


@pytest.mark.django_db(transaction=True)
def test_the_request_id_of_the_front_reaches_django(company_key) -> None:
    web_port = free_port()
    web = Server(
        [sys.executable, "-m", "gunicorn", "sesame.wsgi", "-c", "sesame/gunicorn_conf.py"],
        web_port,
        "gunicorn",
        WEB_BIND=f"127.0.0.1:{web_port}",
        WEB_CONCURRENCY="1",
    )
    url, nginx = start_front(f"127.0.0.1:{web_port}")
    try:
        headers = {"Authorization": f"Api-Key {company_key}"}
        mine = requests.get(
            f"{url}/api/v1/me/", headers={**headers, "X-Request-Id": "client-1"}, timeout=10
        )
        assert mine.status_code == 200
        assert mine.headers["X-Request-Id"] == "client-1"
        generated = requests.get(f"{url}/api/v1/me/", headers=headers, timeout=10)
        assert len(generated.headers["X-Request-Id"]) == 32  # nginx's $request_id
        assert generated.headers["X-Request-Id"].count(",") == 0  # one header, not two
    finally:
        nginx.terminate()
        nginx.wait(10)
        web.stop()
