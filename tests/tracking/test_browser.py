"""An operator has the consignment page open; a partner posts an event; the page shows it
without a reload. Pages by gunicorn, streams by uvicorn, both behind nginx (deploy template)."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from scripts.front import render
from tests.conftest import dies_with_this_process
from tests.tracking.conftest import (
    Server,
    free_port,
    make_consignment,
    session_cookie,
    start_uvicorn,
    wait_port,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def front():
    stream = start_uvicorn(SESAME_SSE_HEARTBEAT="15")
    web_port = free_port()
    web = Server(
        [sys.executable, "-m", "gunicorn", "sesame.wsgi", "-c", "sesame/gunicorn_conf.py"],
        web_port,
        "gunicorn",
        WEB_BIND=f"127.0.0.1:{web_port}",
        WEB_CONCURRENCY="2",
    )
    prefix = Path(tempfile.mkdtemp(prefix="sesame-front-"))
    (prefix / "logs").mkdir()
    (prefix / "tmp").mkdir()
    port = free_port()
    conf = render(
        listen=f"127.0.0.1:{port}",
        web=f"127.0.0.1:{web_port}",
        stream=f"127.0.0.1:{stream.port}",
        prefix=prefix,
    )
    (prefix / "nginx.conf").write_text(conf)
    nginx = subprocess.Popen(
        dies_with_this_process(
            ["nginx", "-c", str(prefix / "nginx.conf"), "-p", str(prefix), "-g", "daemon off;"]
        ),
        stdout=subprocess.DEVNULL,
        stderr=(prefix / "logs" / "stderr.log").open("wb"),
    )
    wait_port(port, nginx, prefix / "logs" / "stderr.log")
    yield f"http://127.0.0.1:{port}"
    nginx.terminate()
    nginx.wait(10)
    web.stop()
    stream.stop()
    shutil.rmtree(prefix, ignore_errors=True)


def test_partner_event_appears_on_the_open_page_without_reload(
    front, page, company, operator, partner_key
):
    consignment = make_consignment(company, categories=["plants"])
    key = partner_key("SIVEP")
    page.context.add_cookies(
        [{"name": "sessionid", "value": session_cookie(operator), "url": front}]
    )
    page.goto(f"{front}/tracking/{consignment.pk}/")
    timeline = page.get_by_test_id("timeline")
    expect(page.locator('[data-step="physical_check"]')).to_have_attribute("data-state", "waiting")
    expect(page.get_by_test_id("live-state")).not_to_be_empty()  # the stream is open
    response = requests.post(
        f"{front}/api/v1/tracking/events/",
        json={
            "consignment": {"container_number": consignment.container_numbers[0]},
            "kind": "physical_check",
            "occurred_at": "2026-01-01T10:00:00+01:00",
            "source_event_id": "sivep-physical-1",
            "payload": {"result": "non_compliant"},
        },
        headers={"Authorization": f"Api-Key {key}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    expect(page.locator('[data-step="physical_check"]')).to_have_attribute(
        "data-state", "done", timeout=2000
    )
    expect(timeline.locator('[data-step="physical_check"] .fr-badge--error')).to_be_visible(
        timeout=2000
    )
    expect(page.get_by_test_id("events")).to_contain_text("SIVEP", timeout=2000)
