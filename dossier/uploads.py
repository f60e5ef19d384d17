"""Receiving a file: streamed to disk as it arrives, hashed and inspected on the way.

`DossierUploadHandler` takes the `file` field of a multipart body: each chunk goes to a
temporary file, into the SHA-256 and the size count; the content is decided from the first
bytes (filetype) or, for XML, by parsing the whole stream (expat, no DTD). Nothing holds the
whole file in memory. A refused file (wrong content, too large, empty) is dropped at once and
the reason kept; an interrupted upload deletes its temporary file.
"""

import hashlib
import os
import re
import unicodedata
from typing import Any
from xml.parsers import expat

import filetype
from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload

from dossier.types import CONTENTS

FIELD = "file"
# Room for the other form fields and the multipart framing around a file at the limit.
FORM_SLACK = 64 * 1024

EMPTY = "empty"
TOO_LARGE = "too_large"
UNSUPPORTED = "unsupported_media"


class Refused(Exception):
    """The file is not accepted; `code` is one of EMPTY, TOO_LARGE, UNSUPPORTED."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def max_bytes() -> int:
    return int(settings.DOSSIER_MAX_UPLOAD_BYTES)


def body_too_large(content_length: int) -> bool:
    """A request body that cannot hold a file within the limit (checked before reading it)."""
    return content_length > max_bytes() + FORM_SLACK


class _Xml:
    """A streaming well-formedness check; a DOCTYPE (entities, external references) is refused."""

    def __init__(self) -> None:
        self.parser = expat.ParserCreate()
        self.parser.StartDoctypeDeclHandler = self._refuse
        self.parser.EntityDeclHandler = self._refuse
        self.parser.ExternalEntityRefHandler = self._refuse  # type: ignore[assignment]

    @staticmethod
    def _refuse(*args: Any) -> None:
        raise ValueError("DOCTYPE and entities are not accepted")

    def feed(self, data: bytes, final: bool = False) -> None:
        self.parser.Parse(data, final)


XML_START = re.compile(rb"^(\xef\xbb\xbf)?\s*<[?!A-Za-z_]")


def detect(head: bytes) -> str | None:
    """The MIME type of content starting with `head`, among the accepted ones; "application/xml"
    means "XML if the whole stream parses"; None: not accepted."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime if kind.mime in CONTENTS else None
    if XML_START.match(head):
        return "application/xml"
    return None


class InspectedFile(TemporaryUploadedFile):
    """An upload on disk with what the portal learned from its bytes."""

    sha256: str
    detected_type: str


def clean_filename(name: str) -> str:
    """The declared name, for display only: its last component, printable, at most 200."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    name = name.strip(" .")[:200]
    return name or "document"


class DossierUploadHandler(FileUploadHandler):
    """Streams the `file` field to a temporary file (FILE_UPLOAD_TEMP_DIR); see the module."""

    chunk_size = 64 * 1024

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.refusal: Refused | None = None
        self.extra_file = False
        self.upload: InspectedFile | None = None
        self._seen_file = False

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name != FIELD or self._seen_file:
            self.extra_file = self.extra_file or field_name == FIELD
            raise SkipFile
        self._seen_file = True
        self.upload = InspectedFile(clean_filename(file_name), "", 0, None)
        self._hash = hashlib.sha256()
        self._size = 0
        self._xml: _Xml | None = None
        self._type: str | None = None

    def _refuse(self, code: str, detail: str) -> None:
        self.refusal = Refused(code, detail)
        self._discard()
        raise StopUpload(connection_reset=False)

    def _discard(self) -> None:
        if self.upload is not None:
            self.upload.close()  # a NamedTemporaryFile: closing deletes it
            self.upload = None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.upload is None:
            return None
        if self._size == 0 and raw_data:
            self._type = detect(raw_data[:8192])
            if self._type is None:
                self._refuse(UNSUPPORTED, "Accepted: PDF, PNG, JPEG, TIFF or XML.")
            if self._type == "application/xml":
                self._xml = _Xml()
        self._size += len(raw_data)
        if self._size > max_bytes():
            self._refuse(TOO_LARGE, f"The file is larger than {max_bytes()} bytes.")
        if self._xml is not None:
            try:
                self._xml.feed(raw_data)
            except (expat.ExpatError, ValueError):
                self._refuse(UNSUPPORTED, "The XML is not well formed or has a DOCTYPE.")
        self._hash.update(raw_data)
        self.upload.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> InspectedFile | None:
        upload = self.upload
        if upload is None:
            return None
        if self._size == 0:
            self._refuse(EMPTY, "The file is empty.")
        if self._xml is not None:
            try:
                self._xml.feed(b"", final=True)
            except (expat.ExpatError, ValueError):
                self._refuse(UNSUPPORTED, "The XML is not well formed.")
        upload.flush()
        upload.seek(0)
        upload.size = self._size
        upload.sha256 = self._hash.hexdigest()
        assert self._type is not None
        upload.detected_type = upload.content_type = self._type
        return upload

    def upload_interrupted(self) -> None:
        """The client went away mid-body: nothing of it stays on disk."""
        self._discard()
