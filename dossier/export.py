"""The dossier as one signed ZIP, streamed (DOSSIER.md §2, docs/dossier.md "Export").

Layout: `index.html` (browse offline), every current document under `documents/`, older
versions under `versions/`, `manifest.json` (every file's SHA-256, and the index's), and
`manifest.sig`: the Ed25519 signature of the exact bytes of manifest.json, one base64 line.

The archive is written by the standard library's zipfile into a pipe that the response drains
after every chunk: documents are stored as they are (PDF and images are compressed already),
read from the storage in 1 MiB chunks, so memory stays flat whatever the dossier's size. The
manifest carries each document's SHA-256 as recorded when it was received: stored bytes
altered since are found by verifying the export (verify_dossier), not hashed again here.
"""

import hashlib
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import timezone, translation

from dossier.models import Document
from dossier.signing import sign
from dossier.storage import storage_chunks
from dossier.types import CONTENTS, TYPES
from tracking.models import Consignment

PARIS = ZoneInfo("Europe/Paris")
INDEX = "index.html"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
OWN_FILES = (INDEX, MANIFEST, SIGNATURE)


CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Entry:
    path: str
    document: Document


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:60]


def export_entries(*, documents: list[Document]) -> list[Entry]:
    """Where each stored document goes in the archive (purged ones are not in it)."""
    entries: list[Entry] = []
    used: set[str] = set()
    for document in sorted(documents, key=lambda d: (d.type, d.reference, d.version, d.pk)):
        if document.purged_at is not None:
            continue
        folder = "documents" if document.current else "versions"
        stem = _safe(document.reference) or document.type
        path = f"{folder}/{document.type}/{stem}_v{document.version}"
        if path in used:
            path = f"{path}_{document.pk}"
        used.add(path)
        entries.append(Entry(path + CONTENTS[document.content_type].extension, document))
    return entries


def _iso(value: datetime) -> str:
    return value.astimezone(PARIS).isoformat()


def manifest_data(
    *,
    consignment: Consignment,
    entries: list[Entry],
    purged: list[Document],
    generated_at: datetime,
    index_sha256: str,
) -> dict[str, Any]:
    return {
        "consignment": {
            "id": consignment.pk,
            "reference": consignment.reference,
            "company": {"eori": consignment.company.eori, "name": consignment.company.name},
            "port": consignment.port,
            "post": consignment.post.code if consignment.post else None,
            "container_numbers": list(consignment.container_numbers),
            "ched_references": list(consignment.ched_references),
            "categories": list(consignment.categories),
            "status": consignment.status,
        },
        "generated_at": _iso(generated_at),
        "documents": [
            {
                "path": entry.path,
                "type": entry.document.type,
                "reference": entry.document.reference,
                "version": entry.document.version,
                "current": entry.document.current,
                "origin": entry.document.origin,
                "sha256": entry.document.sha256,
                "size": entry.document.size,
                "uploaded_at": _iso(entry.document.uploaded_at),
                "uploaded_by": entry.document.uploaded_by,
            }
            for entry in entries
        ],
        "index_sha256": index_sha256,
        "purged": [
            {
                "type": document.type,
                "reference": document.reference,
                "version": document.version,
                "sha256": document.sha256,
                "size": document.size,
                "purged_at": _iso(document.purged_at) if document.purged_at else None,
            }
            for document in purged
        ],
    }


class _Pipe:
    """A write-only file the ZIP writer fills and the response drains (no seek, no tell)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _info(path: str, when: datetime, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=when.astimezone(PARIS).timetuple()[:6])
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    return info


def export_stream(
    *, consignment: Consignment, documents: list[Document], language: str = "fr"
) -> Iterator[bytes]:
    """The ZIP of the dossier, chunk by chunk (see the module)."""
    generated_at = timezone.now()
    entries = export_entries(documents=documents)
    purged = [d for d in documents if d.purged_at is not None]
    with translation.override(language):
        index = render_to_string(
            "dossier/export_index.html",
            {
                "consignment": consignment,
                "entries": [
                    {
                        "path": entry.path,
                        "document": entry.document,
                        "label": TYPES[entry.document.type].label,
                    }
                    for entry in entries
                ],
                "purged": purged,
                "generated_at": generated_at,
            },
        ).encode()
    manifest = json.dumps(
        manifest_data(
            consignment=consignment,
            entries=entries,
            purged=purged,
            generated_at=generated_at,
            index_sha256=hashlib.sha256(index).hexdigest(),
        ),
        ensure_ascii=False,
        indent=2,
    ).encode()
    signature = (sign(manifest) + "\n").encode()
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", allowZip64=True) as archive:  # type: ignore[call-overload]
        archive.writestr(_info(INDEX, generated_at, zipfile.ZIP_DEFLATED), index)
        yield pipe.take()
        for entry in entries:
            document = entry.document
            info = _info(entry.path, document.uploaded_at, zipfile.ZIP_STORED)
            info.file_size = document.size
            with archive.open(info, "w") as out:
                for chunk in storage_chunks(name=document.storage_name, chunk_size=CHUNK):
                    out.write(chunk)
                    yield pipe.take()
            yield pipe.take()
        archive.writestr(_info(MANIFEST, generated_at, zipfile.ZIP_DEFLATED), manifest)
        archive.writestr(_info(SIGNATURE, generated_at, zipfile.ZIP_STORED), signature)
    yield pipe.take()


def export_filename(consignment: Consignment) -> str:
    return f"dossier-{_safe(consignment.reference) or consignment.pk}.zip"
