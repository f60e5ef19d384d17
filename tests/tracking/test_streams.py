"""The SSE protocol against real uvicorn processes on the test database and Redis."""

import asyncio
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from django.utils import timezone

from tests.factories import AgentFactory, CompanyFactory, MembershipFactory, UserFactory
from tests.tracking.conftest import SSE, make_consignment, post, session_cookie, start_uvicorn
from tracking.services import event_record

RETRY = b"retry: 2000\n: connected\n\n"

pytestmark = pytest.mark.django_db(transaction=True)


def record(consignment, n: int, kind: str = "arrival"):
    return event_record(
        consignment=consignment,
        kind=kind,
        occurred_at=timezone.now(),
        source="PORT",
        source_event_id=f"{consignment.pk}-{n}",
    )[0]


@pytest.fixture
def member():
    company = CompanyFactory()
    user = MembershipFactory(company=company).user
    return company, user


def test_resume_with_last_event_id_misses_nothing_and_repeats_nothing(uvicorn_server, member):
    company, user = member
    consignment = make_consignment(company)
    cookie = session_cookie(user)
    path = f"/streams/consignments/{consignment.pk}/"
    first = record(consignment, 1)
    stream = SSE(uvicorn_server.url, path, cookie)
    assert stream.status == 200
    assert stream.response.headers["Content-Type"].startswith("text/event-stream")
    assert stream.frame()["retry"] == 2000
    second = record(consignment, 2)
    assert stream.event()["id"] == second.pk
    stream.close()
    # Missed while away: caught up from the database, in id order, then live ones.
    third, fourth = record(consignment, 3), record(consignment, 4)
    resumed = SSE(uvicorn_server.url, path, cookie, last_event_id=second.pk)
    assert [resumed.event()["id"], resumed.event()["id"]] == [third.pk, fourth.pk]
    fifth = record(consignment, 5)
    frame = resumed.event()
    assert frame["id"] == fifth.pk
    assert frame["data"] == {
        "id": fifth.pk,
        "consignment": consignment.pk,
        "kind": "arrival",
        "occurred_at": fifth.occurred_at.isoformat(),
    }
    resumed.close()
    assert first.pk < second.pk


def test_heartbeats_are_comments_without_id(uvicorn_server, member):
    _company, user = member
    stream = SSE(uvicorn_server.url, "/streams/company/", session_cookie(user))
    stream.frame()  # retry + connected
    ping = stream.frame()
    assert ping["comments"] == ["ping"]
    assert ping["id"] is None
    stream.close()


def test_company_stream_carries_only_the_company_events(uvicorn_server, member):
    company, user = member
    mine = make_consignment(company)
    theirs = make_consignment(CompanyFactory())
    stream = SSE(uvicorn_server.url, "/streams/company/", session_cookie(user))
    stream.frame()
    record(theirs, 1)
    own = record(mine, 1)
    assert stream.event()["id"] == own.pk
    stream.close()


def test_another_company_or_anonymous_gets_404(uvicorn_server, member):
    company, _user = member
    consignment = make_consignment(company)
    path = f"/streams/consignments/{consignment.pk}/"
    stranger = MembershipFactory(company=CompanyFactory()).user
    assert SSE(uvicorn_server.url, path, session_cookie(stranger)).status == 404
    assert SSE(uvicorn_server.url, path, None).status == 404
    assert SSE(uvicorn_server.url, "/streams/company/", None).status == 404
    loner = UserFactory()
    assert SSE(uvicorn_server.url, "/streams/company/", session_cookie(loner)).status == 404
    assert (
        SSE(uvicorn_server.url, "/streams/consignments/999999/", session_cookie(stranger)).status
        == 404
    )


def test_agents_of_the_post_may_follow_and_others_may_not(uvicorn_server, member):
    from allauth.mfa.totp.internal.auth import TOTP

    company, _user = member
    consignment = make_consignment(company, post=post("FRLEH4"))
    path = f"/streams/consignments/{consignment.pk}/"
    here = AgentFactory(post=post("FRLEH4")).user
    elsewhere = AgentFactory(post=post("FRMRS4")).user
    for agent in (here, elsewhere):
        TOTP.activate(agent, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    stream = SSE(uvicorn_server.url, path, session_cookie(here))
    assert stream.status == 200
    stream.frame()
    event = record(consignment, 1)
    assert stream.event()["id"] == event.pk
    stream.close()
    assert SSE(uvicorn_server.url, path, session_cookie(elsewhere)).status == 404


def _hub_connections(pid: int) -> list[dict]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    return [entry for entry in client.client_list() if entry["name"] == f"sesame-streams-{pid}"]


def test_two_processes_both_deliver_over_one_subscription_each(uvicorn_server, member):
    company, user = member
    consignment = make_consignment(company)
    cookie = session_cookie(user)
    second_server = start_uvicorn()
    try:
        streams = [
            SSE(server.url, "/streams/company/", cookie)
            for server in (uvicorn_server, second_server)
            for _ in range(10)
        ]
        for stream in streams:
            assert stream.status == 200
            stream.frame()
        event = record(consignment, 1)
        assert {stream.event()["id"] for stream in streams} == {event.pk}
        for server in (uvicorn_server, second_server):
            connections = _hub_connections(server.pid)
            assert len(connections) == 1, connections
            assert connections[0]["psub"] == "1"
        for stream in streams:
            stream.close()
    finally:
        second_server.stop()


def test_disconnect_removes_the_client_queue(member):
    _company, user = member
    cookie = session_cookie(user)
    from tracking.hub import hub
    from tracking.streams import application

    async def scenario() -> tuple[int, int, bytes]:
        disconnect = asyncio.Event()
        sent: list[dict] = []

        async def receive() -> dict:
            await disconnect.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        # A real member's session: the access check runs as for a browser.
        headers = [(b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode())]
        scope = {"type": "http", "method": "GET", "path": "/streams/company/", "headers": headers}
        stream = asyncio.create_task(application(scope, receive, send))
        while len(sent) < 2:
            await asyncio.sleep(0.01)
        connected = hub().client_count
        disconnect.set()
        await asyncio.wait_for(stream, 5)
        left = hub().client_count
        hub().close()
        return connected, left, sent[1]["body"]

    # In its own thread: a browser test may have left an event loop on this one.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, scenario()).result() == (1, 0, RETRY)
    assert os.getpid()


def test_a_stream_reaching_django_under_wsgi_answers_204_at_once(live_server, member):
    company, user = member
    consignment = make_consignment(company)
    cookie = session_cookie(user)
    for path in ("/streams/company/", f"/streams/consignments/{consignment.pk}/"):
        # A never-ending answer would hang here (and the test process at exit), not return.
        response = requests.get(
            live_server.url + path,
            cookies={"sessionid": cookie},
            headers={"Accept": "text/event-stream"},
            timeout=10,
        )
        assert response.status_code == 204
        assert response.content == b""


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no thread count")


def _open_raw_stream(port: int, path: str, cookie: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sessionid={cookie}\r\n\r\n".encode()
    )
    received = b""
    while b": connected" not in received:
        chunk = sock.recv(4096)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received
    return sock


def _read_until(sock: socket.socket, needle: bytes) -> None:
    received = b""
    while needle not in received:
        chunk = sock.recv(4096)
        assert chunk, received
        received += chunk


def test_two_hundred_open_streams_hold_no_thread_each(uvicorn_server, member):
    company, user = member
    consignment = make_consignment(company)
    cookie = session_cookie(user)
    path = f"/streams/consignments/{consignment.pk}/"
    _open_raw_stream(uvicorn_server.port, path, cookie).close()  # the executor has started
    before = _threads(uvicorn_server.pid)
    with ThreadPoolExecutor(20) as pool:
        streams = list(
            pool.map(lambda _n: _open_raw_stream(uvicorn_server.port, path, cookie), range(200))
        )
    try:
        during = _threads(uvicorn_server.pid)
        event = record(consignment, 1)
        for stream in streams:
            _read_until(stream, f"id: {event.pk}\n".encode())
    finally:
        for stream in streams:
            stream.close()
    # Opening uses the event loop's bounded executor (min(32, CPUs + 4) threads), never a
    # thread per stream.
    assert during - before <= min(32, (os.cpu_count() or 1) + 4)
