"""The portal's Ed25519 key signing dossier exports (`cryptography`).

In production the private key comes from the environment (DOSSIER_SIGNING_KEY, PEM text) or a
file (DOSSIER_SIGNING_KEY_FILE); in development (SESAME_DEV=1) a key is generated into
.local/ the first time one is needed (created atomically: concurrent processes agree on one).
"""

import base64
import binascii
import functools
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

ALGORITHM = "Ed25519"


def _load_private(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("The dossier signing key must be an Ed25519 private key")
    return key


def _generate_into(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_bytes(pem)
    os.chmod(temporary, 0o600)
    try:
        os.link(temporary, path)  # fails if another process created it first: keep theirs
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


@functools.cache
def signing_key() -> Ed25519PrivateKey:
    """The private key; ImproperlyConfigured when none is configured outside development."""
    if settings.DOSSIER_SIGNING_KEY:
        return _load_private(settings.DOSSIER_SIGNING_KEY.replace("\\n", "\n").encode())
    if settings.DOSSIER_SIGNING_KEY_FILE:
        path = Path(settings.DOSSIER_SIGNING_KEY_FILE)
        if not path.exists() and settings.DEV:
            _generate_into(path)
        if path.exists():
            return _load_private(path.read_bytes())
    raise ImproperlyConfigured(
        "Set DOSSIER_SIGNING_KEY (PEM) or DOSSIER_SIGNING_KEY_FILE to sign dossier exports"
    )


@receiver(setting_changed)
def _forget_key(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("DOSSIER_SIGNING_KEY"):
        signing_key.cache_clear()


def public_key_pem() -> str:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(data: bytes) -> str:
    """The signature of `data` as one line of standard base64."""
    return base64.b64encode(signing_key().sign(data)).decode()


def verify(data: bytes, signature: str, *, public_pem: str | bytes | None = None) -> bool:
    """Whether `signature` (standard base64) is the portal's (or `public_pem`'s) over `data`."""
    if public_pem is None:
        public_pem = public_key_pem()
    key = serialization.load_pem_public_key(
        public_pem.encode() if isinstance(public_pem, str) else public_pem
    )
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    try:
        key.verify(base64.b64decode(signature.strip(), validate=True), data)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
