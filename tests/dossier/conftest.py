"""Fixtures of the dossier tests: the dossier storage (file system, or a real S3-compatible
server: moto in server mode, its own process), sample files of every accepted content, and
consignments."""

import functools
import io
import socket
import struct
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dossier import pdf
from tests.conftest import ROOT
from tests.tracking.conftest import free_port, make_consignment

STORAGES = ("filesystem", "s3")


@functools.cache
def pdf_bytes(title: str = "Facture commerciale") -> bytes:
    """A real PDF; the same title gives the same bytes (ReportLab stamps the time otherwise)."""
    return pdf.render(pdf.Sheet(title=title, subtitle="Sesame test", facts=[("Lot", title)]))


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\x00" * 64
        + b"\xff\xd9"
    )


def tiff_bytes() -> bytes:
    return b"II*\x00\x08\x00\x00\x00" + b"\x00" * 64


XML = b'<?xml version="1.0" encoding="UTF-8"?>\n<certificate><number>42</number></certificate>\n'

SAMPLES: dict[str, tuple[Callable[[], bytes], str]] = {
    "application/pdf": (pdf_bytes, "invoice.pdf"),
    "image/png": (png_bytes, "scan.png"),
    "image/jpeg": (jpeg_bytes, "photo.jpg"),
    "image/tiff": (tiff_bytes, "fax.tif"),
    "application/xml": (lambda: XML, "certificate.xml"),
}


def upload(data: bytes, name: str = "invoice.pdf", content_type: str = "application/pdf") -> Any:
    return SimpleUploadedFile(name, data, content_type=content_type)


@dataclass
class DossierStorage:
    kind: str
    root: Path
    uploads: Path
    env: dict[str, str] = field(default_factory=dict)
    client: Any = None
    bucket: str = ""

    def stored_names(self) -> list[str]:
        if self.kind == "filesystem":
            return sorted(
                str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file()
            )
        listing = self.client.list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def leftover_uploads(self) -> list[Path]:
        return [p for p in self.uploads.rglob("*") if p.is_file()]


class MotoServer:
    """moto's S3-compatible server, a process of its own on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.log = ROOT / ".local" / f"test-moto-{self.port}.log"
        self.log.parent.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer()
    yield server
    server.stop()


S3_KEYS = {"access": "testing", "secret": "testing", "region": "us-east-1"}


@pytest.fixture(params=STORAGES)
def dossier_storage(
    request: pytest.FixtureRequest, settings: Any, tmp_path: Path
) -> DossierStorage:
    """The dossier storage for this test: the file system, then the S3-compatible server."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(uploads)
    root = tmp_path / "files"
    root.mkdir()
    env = {"FILE_UPLOAD_TEMP_DIR": str(uploads)}
    if request.param == "filesystem":
        settings.STORAGES = {
            **settings.STORAGES,
            "dossier": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(root), "base_url": None},
            },
        }
        settings.DOSSIER_FILES_ROOT = str(root)
        env.update(DOSSIER_STORAGE="filesystem", DOSSIER_FILES_ROOT=str(root))
        return DossierStorage("filesystem", root, uploads, env)
    import boto3

    server = request.getfixturevalue("moto_server")
    bucket = f"dossier-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=server.url,
        aws_access_key_id=S3_KEYS["access"],
        aws_secret_access_key=S3_KEYS["secret"],
        region_name=S3_KEYS["region"],
    )
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "dossier": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": server.url,
                "access_key": S3_KEYS["access"],
                "secret_key": S3_KEYS["secret"],
                "region_name": S3_KEYS["region"],
                "default_acl": None,
                "file_overwrite": False,
            },
        },
    }
    env.update(
        DOSSIER_STORAGE="s3",
        DOSSIER_S3_BUCKET=bucket,
        DOSSIER_S3_ENDPOINT_URL=server.url,
        DOSSIER_S3_ACCESS_KEY_ID=S3_KEYS["access"],
        DOSSIER_S3_SECRET_ACCESS_KEY=S3_KEYS["secret"],
        DOSSIER_S3_REGION=S3_KEYS["region"],
    )
    return DossierStorage("s3", root, uploads, env, client, bucket)


@pytest.fixture
def plants_consignment(company: Any) -> Any:
    return make_consignment(
        company, categories=["plants"], ched_references=["CHEDPP.FR.2026.0000001"]
    )


@pytest.fixture(autouse=True)
def _signing_key(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test run signs with a key of its own (generated like in development)."""
    settings.DOSSIER_SIGNING_KEY = ""
    settings.DOSSIER_SIGNING_KEY_FILE = str(
        tmp_path_factory.getbasetemp() / "dossier-signing-key.pem"
    )


def zip_of(content: bytes) -> Any:
    import zipfile

    return zipfile.ZipFile(io.BytesIO(content))
