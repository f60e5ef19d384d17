"""What the API and the pages share at the HTTP edge: receiving an upload, sending the bytes."""

import base64
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.datastructures import MultiValueDict

from dossier.models import Document
from dossier.services import Received
from dossier.storage import accel_redirect_path, storage_chunks
from dossier.types import CONTENTS
from dossier.uploads import (
    FIELD,
    TOO_LARGE,
    DossierUploadHandler,
    InspectedFile,
    Refused,
    body_too_large,
    max_bytes,
)


def content_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def upload_prepare(request: HttpRequest) -> DossierUploadHandler:
    """Before the body is read: refuse a body too large to hold an accepted file (Refused, not
    read at all), and stream the `file` field through the dossier's upload handler."""
    if body_too_large(content_length(request)):
        raise Refused(TOO_LARGE, f"The file is larger than {max_bytes()} bytes.")
    handler = DossierUploadHandler(request)
    request.upload_handlers = [handler]
    return handler


def upload_received(handler: DossierUploadHandler, files: MultiValueDict) -> Received | None:
    """After the body is read: the inspected file (None when there was no `file` field);
    Refused when the handler refused the bytes."""
    if handler.refusal is not None:
        raise handler.refusal
    upload = files.get(FIELD)
    if not isinstance(upload, InspectedFile):
        return None
    return Received(
        content=upload,
        filename=upload.name or "document",
        content_type=upload.detected_type,
        size=upload.size or 0,
        sha256=upload.sha256,
    )


def _disposition(document: Document, *, inline: bool) -> str:
    extension = CONTENTS[document.content_type].extension
    stem = document.filename.rsplit(".", 1)[0] if "." in document.filename else document.filename
    name = f"{stem or document.type}{extension}"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def file_response(document: Document, *, inline: bool = False) -> HttpResponseBase:
    """The document's bytes as stored: through the front (X-Accel-Redirect) for the file
    system, else streamed by Django in chunks; with the detected type, the quoted SHA-256 as
    ETag and its RFC 9530 Repr-Digest."""
    digest = base64.b64encode(bytes.fromhex(document.sha256)).decode()
    headers: dict[str, Any] = {
        "Content-Disposition": _disposition(document, inline=inline),
        "ETag": f'"{document.sha256}"',
        "Repr-Digest": f"sha-256=:{digest}:",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
    }
    if inline:  # a preview shows the document, never runs what it might carry
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    accel = accel_redirect_path(name=document.storage_name)
    if accel is not None:
        response: HttpResponseBase = HttpResponse(content_type=document.content_type)
        response["X-Accel-Redirect"] = accel
        # The front copies only some headers from an X-Accel-Redirect answer; these it reads
        # back from here ($upstream_http_*), see deploy/nginx.conf.template.
        headers["X-Dossier-ETag"] = headers["ETag"]
        headers["X-Dossier-Repr-Digest"] = headers["Repr-Digest"]
    else:
        response = StreamingHttpResponse(
            storage_chunks(name=document.storage_name), content_type=document.content_type
        )
        response["Content-Length"] = str(document.size)
    for name, value in headers.items():
        response[name] = value
    return response
