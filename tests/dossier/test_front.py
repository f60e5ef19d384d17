"""Through the real front: nginx lets uploads up to the 20 MiB limit through and answers a
larger body in the API's error shape; with the file system, nginx sends the bytes of a
download (X-Accel-Redirect) after Django's check; an upload cut half-way leaves nothing; the
web worker's memory stays flat while a 200 MiB dossier streams."""

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from dossier.models import Document
from scripts.front import render
from sesame.services import api_key_create
from tests.dossier.conftest import pdf_bytes
from tests.tracking.conftest import Server, free_port, make_consignment, wait_port

pytestmark = pytest.mark.django_db(transaction=True)
MIB = 1024 * 1024


class Front:
    def __init__(self, storage) -> None:
        self.web_port = free_port()
        self.web = Server(
            [sys.executable, "-m", "gunicorn", "sesame.wsgi", "-c", "sesame/gunicorn_conf.py"],
            self.web_port,
            "gunicorn-dossier",
            WEB_BIND=f"127.0.0.1:{self.web_port}",
            WEB_CONCURRENCY="1",
            DEBUG="0",
            DOSSIER_SIGNING_KEY_FILE=settings.DOSSIER_SIGNING_KEY_FILE,
            **storage.env,
        )
        self.prefix = Path(tempfile.mkdtemp(prefix="sesame-front-"))
        (self.prefix / "logs").mkdir()
        (self.prefix / "tmp").mkdir()
        self.port = free_port()
        (self.prefix / "nginx.conf").write_text(
            render(
                listen=f"127.0.0.1:{self.port}",
                web=f"127.0.0.1:{self.web_port}",
                stream=f"127.0.0.1:{free_port()}",
                prefix=self.prefix,
                dossier_files=storage.root,
            )
        )
        self.nginx = subprocess.Popen(
            [
                "nginx",
                "-c",
                str(self.prefix / "nginx.conf"),
                "-p",
                str(self.prefix),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.prefix / "logs" / "stderr.log").open("wb"),
        )
        wait_port(self.port, self.nginx, self.prefix / "logs" / "stderr.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def direct(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def worker_pid(self) -> int:
        """The one gunicorn worker: the child of the master."""
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(stat[1]) == self.web.pid:
                    return int(entry.name)
        raise AssertionError("no gunicorn worker")

    def stop(self) -> None:
        self.nginx.terminate()
        self.nginx.wait(10)
        self.web.stop()


@pytest.fixture
def front(dossier_storage):
    server = Front(dossier_storage)
    yield server
    server.stop()


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Api-Key {key}"}


def _pdf_of_size(size: int) -> bytes:
    head = pdf_bytes("big")
    return head + b"\n%" + os.urandom(size - len(head) - 2)


def test_uploads_up_to_the_limit_pass_the_front_and_larger_get_json_413(
    front, company, dossier_storage
):
    consignment = make_consignment(company)
    key = api_key_create(company=company)[1]
    url = f"{front.url}/api/v1/consignments/{consignment.pk}/documents/"
    exact = _pdf_of_size(20 * MIB)
    response = requests.post(
        url,
        headers=_headers(key),
        files={"file": ("big.pdf", exact)},
        data={"type": "commercial_invoice"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == hashlib.sha256(exact).hexdigest()
    over = requests.post(
        url,
        headers=_headers(key),
        files={"file": ("big.pdf", exact + b"x" * MIB)},  # over what nginx lets through
        data={"type": "packing_list"},
        timeout=60,
    )
    assert over.status_code == 413
    assert over.headers["Content-Type"] == "application/json"
    assert over.json()["code"] == "too_large"
    just_over = requests.post(  # nginx lets it through, Django counts the file's bytes
        url,
        headers=_headers(key),
        files={"file": ("big.pdf", exact + b"x")},
        data={"type": "packing_list"},
        timeout=60,
    )
    assert just_over.status_code == 413 and just_over.json()["code"] == "too_large"
    elsewhere = requests.post(  # any API path: a body over the front's limit is JSON too
        f"{front.url}/api/v1/declarations/",
        headers=_headers(key),
        data=b"x" * (3 * MIB),
        timeout=60,
    )
    assert elsewhere.status_code == 413 and elsewhere.json()["code"] == "too_large"
    assert Document.objects.count() == 1
    assert len(dossier_storage.stored_names()) == 1
    assert dossier_storage.leftover_uploads() == []


def test_a_download_through_the_front_is_the_exact_bytes_with_their_digests(
    front, company, dossier_storage
):
    consignment = make_consignment(company)
    key = api_key_create(company=company)[1]
    data = _pdf_of_size(3 * MIB)
    created = requests.post(
        f"{front.url}/api/v1/consignments/{consignment.pk}/documents/",
        headers=_headers(key),
        files={"file": ("facture été.pdf", data)},
        data={"type": "commercial_invoice"},
        timeout=60,
    ).json()
    response = requests.get(
        f"{front.url}/api/v1/documents/{created['id']}/download/", headers=_headers(key), timeout=60
    )
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''facture%20%C3%A9t%C3%A9.pdf" in response.headers["Content-Disposition"]
    assert response.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response.headers["Repr-Digest"].startswith("sha-256=:")
    assert "X-Accel-Redirect" not in response.headers
    assert "X-Dossier-ETag" not in response.headers
    # The internal location is not reachable from outside.
    name = Document.objects.get().storage_name
    assert requests.get(f"{front.url}/_dossier_files/{name}", timeout=10).status_code == 404


def test_an_upload_cut_half_way_leaves_nothing(front, company, dossier_storage):
    consignment = make_consignment(company)
    key = api_key_create(company=company)[1]
    boundary = "sesameboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\nother\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + _pdf_of_size(4 * MIB)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST /api/v1/consignments/{consignment.pk}/documents/ HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nAuthorization: Api-Key {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    # Straight to gunicorn: the front would buffer the body and never pass a cut one on.
    with socket.create_connection(("127.0.0.1", front.web_port)) as sock:
        sock.sendall(head + body[: len(body) // 2])
        time.sleep(0.5)  # the worker is reading the file part
    # The one worker serves requests one at a time: when this answers, the cut one is over.
    assert requests.get(f"{front.direct}/health/", timeout=30).status_code == 200
    assert not Document.objects.exists()
    assert dossier_storage.stored_names() == []
    assert dossier_storage.leftover_uploads() == []


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("dossier_storage", ["filesystem"], indirect=True)
def test_the_worker_memory_stays_flat_while_a_200_mib_dossier_streams(
    front, company, dossier_storage
):
    from dossier.selectors import Reader, consignment_for_reader
    from dossier.services import document_upload
    from tests.dossier.helpers import received

    consignment = make_consignment(company)
    reader = Reader(by="bench", company=company)
    access = consignment_for_reader(reader=reader, pk=consignment.pk)
    for n in range(10):
        document_upload(
            access=access,
            reader=reader,
            received=received(_pdf_of_size(20 * MIB)),
            type="other",
            reference=f"part-{n}",
        )
    key = api_key_create(company=company)[1]
    url = f"{front.url}/api/v1/consignments/{consignment.pk}/dossier.zip"
    requests.get(
        f"{front.url}/api/v1/consignments/{consignment.pk}/dossier/",
        headers=_headers(key),
        timeout=30,
    )
    pid = front.worker_pid()
    before = _rss_kib(pid)
    peak = before
    total = 0
    digest = hashlib.sha256()
    with requests.get(url, headers=_headers(key), stream=True, timeout=120) as response:
        assert response.status_code == 200
        for chunk in response.iter_content(1024 * 1024):
            total += len(chunk)
            digest.update(chunk)
            peak = max(peak, _rss_kib(pid))
    assert total > 200 * MIB
    assert (peak - before) < 50 * 1024, f"RSS grew by {(peak - before) // 1024} MiB"
