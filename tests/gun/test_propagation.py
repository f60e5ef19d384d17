"""The http adapter and propagation to a remote partner (GUN_RULES §6), against a local HTTP
server started by the test that records the idempotency keys it receives and can hang or 503.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gun.models import Declaration, LedgerEntry, PartnerLink
from gun.services import declaration_register, declaration_validate, partner_link_set
from gun.tasks import propagation_sweep
from tests.gun.factories import di_doc, item, payload, service_data

DI = "2016-01-0000555-00"


class FakePartner:
    """A remote SEMAE: serves one DI, applies each movement once per idempotency key."""

    def __init__(self, holder: str) -> None:
        self.holder = holder
        self.mode = "ok"  # ok | 503 | hang | garbage
        self.hang_next_post = False
        self.received: list[str] = []
        self.applied: list[str] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.bodies: list[dict] = []  # every movement received, as sent
        self.documents: dict[str, dict] = {}  # more documents served: path part -> body
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _degraded(self) -> bool:
                if partner.mode == "503":
                    self._answer(503, {"error": "down"})
                    return True
                if partner.mode == "garbage":
                    data = b"<html>not json"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return True
                if partner.mode == "hang":
                    partner.release.wait(5)
                    return True
                return False

            def do_GET(self) -> None:
                if self._degraded():
                    return
                for path, document in partner.documents.items():
                    if f"/documents/{path}" in self.path:
                        self._answer(200, document)
                        return
                if f"/documents/2413/{DI}" not in self.path:
                    self._answer(404, {})
                    return
                self._answer(
                    200,
                    {
                        "status": "VAL",
                        "holder_eori": partner.holder,
                        "used_by_other": False,
                        "lines": [
                            {
                                "line": 1,
                                "commodity_code": "12099180",
                                "origin_country": "MA",
                                "quantity": "1000.000",
                                "unit": "KGM",
                                "available": "1000.000",
                            }
                        ],
                    },
                )

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self._degraded():
                    return
                key = body["idempotency_key"]
                assert self.headers["Idempotency-Key"] == key
                with partner.lock:
                    partner.bodies.append(body)
                    partner.received.append(key)
                    if key not in partner.applied:
                        partner.applied.append(key)  # applied on receipt, before answering
                    hang = partner.hang_next_post
                    partner.hang_next_post = False
                if hang:
                    partner.release.wait(60)  # the worker dies while waiting for us
                    return
                self._answer(200, {"ok": True})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def remote(company) -> Iterator[FakePartner]:
    partner = FakePartner(company.eori)
    partner_link_set(
        partner="SEMAE", kind="http", base_url=partner.url, connect_timeout=0.5, read_timeout=0.5
    )
    yield partner
    partner.close()


def _lodge(company, quantity: str = "10", mentions: list[str] | None = None) -> Declaration:
    body = payload(
        company.eori, item(1, di_doc(DI, quantity), net_mass=quantity), mentions=mentions
    )
    return declaration_register(company=company, data=service_data(body), by="t").declaration


def _keys() -> list[str]:
    return list(LedgerEntry.objects.order_by("id").values_list("idempotency_key", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("failure", ["503", "hang"])
def test_partner_down_is_t001_forced_by_73000_then_delivered_once_in_order(
    company, remote, failure
):
    remote.mode = failure
    first, second = _lodge(company, "10", ["73000"]), _lodge(company, "20", ["73000"])
    assert [m.code for m in first.last_run.messages.all()] == ["T001"]
    for declaration in (first, second):
        result = declaration_validate(declaration=declaration, by="t")
        assert result.run.outcome == "accepted_with_control"
        assert [m.code for m in result.run.messages.all()] == ["T001"]
    link = PartnerLink.objects.get(partner="SEMAE")
    assert link.up is False
    entries = LedgerEntry.objects.order_by("id")
    assert [(e.state, e.held, e.quantity) for e in entries] == [
        ("pending", True, 10),
        ("pending", True, 20),
    ]
    assert propagation_sweep() == {"SEMAE": 0}  # still down: nothing sent, nothing lost
    assert LedgerEntry.objects.filter(state="pending").count() == 2

    remote.mode = "ok"
    assert propagation_sweep() == {"SEMAE": 2}
    assert remote.applied == _keys() == remote.received  # in order, once each
    assert propagation_sweep() == {}
    assert remote.received == _keys()
    assert PartnerLink.objects.get(partner="SEMAE").up is True


@pytest.mark.django_db
def test_without_73000_a_t001_rejects(company, remote):
    remote.mode = "503"
    result = declaration_validate(declaration=_lodge(company), by="t")
    assert result.rejected and [m.code for m in result.run.messages.all()] == ["T001"]


@pytest.mark.django_db
def test_malformed_json_answer_is_t001(company, remote):
    remote.mode = "garbage"
    result = declaration_validate(declaration=_lodge(company), by="t")
    assert [m.code for m in result.run.messages.all()] == ["T001"]


@pytest.mark.django_db
def test_refused_connection_is_t001(company, remote):
    PartnerLink.objects.filter(partner="SEMAE").update(base_url="http://127.0.0.1:9/")
    result = declaration_validate(declaration=_lodge(company), by="t")
    assert [m.code for m in result.run.messages.all()] == ["T001"]


def _wait(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_worker_killed_while_propagating_delivers_each_entry_exactly_once(
    company, remote, start_worker
):
    PartnerLink.objects.filter(partner="SEMAE").update(read_timeout=120)
    remote.hang_next_post = True
    declaration = _lodge(company, "10")
    worker = start_worker()
    result = declaration_validate(declaration=declaration, by="t")  # enqueues after commit
    assert result.run.outcome == "accepted"
    from gun.services import declaration_release

    declaration_release(declaration=declaration, by="t")  # a second entry, after the first
    _wait(lambda: len(remote.received) >= 1, "the first movement reaches the partner")
    worker.kill()  # SIGKILL mid-request: the partner applied it, the portal never heard back
    assert LedgerEntry.objects.filter(state="sent").count() == 0

    start_worker(extra_env={"CELERY_VISIBILITY": "2"})
    from gun.tasks import propagate_partner

    propagate_partner.delay("SEMAE")
    _wait(lambda: not LedgerEntry.objects.exclude(state="sent").exists(), "all delivered")
    keys = _keys()
    assert remote.applied == keys  # each exactly once, in order
    assert remote.received.count(keys[0]) >= 2  # it was re-sent with the same key
