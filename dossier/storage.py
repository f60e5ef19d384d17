"""The dossier's bytes, through Django's storage API (`STORAGES["dossier"]`): the file system by
default, an S3-compatible store by configuration. Reads are streamed in chunks, never whole."""

import uuid
from collections.abc import Iterator
from urllib.parse import quote

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

CHUNK = 256 * 1024


def dossier_storage() -> Storage:
    return storages["dossier"]


def storage_name_new(*, consignment_id: int, extension: str) -> str:
    """A fresh name per stored version: nothing is ever overwritten."""
    return f"consignments/{consignment_id}/{uuid.uuid4().hex}{extension}"


def storage_save(*, name: str, content: File) -> str:
    """Store `content` under `name` (a file on disk is moved or streamed, never read whole)."""
    return dossier_storage().save(name, content)


def storage_delete(*, name: str) -> None:
    dossier_storage().delete(name)


def storage_exists(*, name: str) -> bool:
    return dossier_storage().exists(name)


def storage_chunks(*, name: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
    """The stored bytes in chunks: a file read piece by piece, an S3 object's body streamed."""
    storage = dossier_storage()
    if isinstance(storage, FileSystemStorage):
        with open(storage.path(name), "rb") as handle:
            while chunk := handle.read(chunk_size):
                yield chunk
        return
    bucket = getattr(storage, "bucket", None)
    if bucket is not None:  # django-storages' S3Storage: the object's body as a stream
        location = str(getattr(storage, "location", "") or "").strip("/")
        body = bucket.Object(f"{location}/{name}" if location else name).get()["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()
        return
    with storage.open(name, "rb") as handle:
        yield from handle.chunks(chunk_size)


def accel_redirect_path(*, name: str) -> str | None:
    """The internal path of the front that serves this file (X-Accel-Redirect), or None when
    Django must stream the bytes itself (another storage, or no front configured)."""
    prefix = settings.DOSSIER_ACCEL_PREFIX
    if not prefix or not isinstance(dossier_storage(), FileSystemStorage):
        return None
    return prefix.rstrip("/") + "/" + quote(name)
