"""Small helpers shared by the dossier tests: adding documents through the services."""

import hashlib
from typing import Any

from django.core.files.base import ContentFile

from dossier import selectors, services
from dossier.selectors import Reader
from dossier.services import Received
from dossier.types import CONTENTS
from dossier.uploads import detect


def received(data: bytes, name: str = "file.pdf") -> Received:
    content_type = detect(data[:8192])
    assert content_type in CONTENTS
    return Received(
        content=ContentFile(data, name=name),
        filename=name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def add(consignment: Any, data: bytes, type_: str = "commercial_invoice", **fields: Any) -> Any:
    """Upload as the owner company (through the service the API calls)."""
    reader = Reader(by="operator@example.org", company=consignment.company)
    access = selectors.consignment_for_reader(reader=reader, pk=consignment.pk)
    document, _created = services.document_upload(
        access=access, reader=reader, received=received(data), type=type_, **fields
    )
    return document
