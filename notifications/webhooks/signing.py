"""Signing secrets and signatures, as the Standard Webhooks specification says.

A secret is ``whsec_`` + base64 of 32 random bytes; each message carries ``webhook-id`` (the
event's id, the same on every retry: receivers de-duplicate on it), ``webhook-timestamp`` (Unix
seconds of the attempt) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">``, one per live secret, space-separated (a rotation's overlap).
Signing is the specification's reference library (``standardwebhooks``).

Secrets are stored encrypted (Fernet) with ``WEBHOOK_SECRET_KEYS`` (the first encrypts, each
decrypts: rotate by putting a new one first), by default a key derived from SECRET_KEY; a
database dump or the audit trail never holds them in clear.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from standardwebhooks import Webhook

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _fernet() -> MultiFernet:
    keys = list(getattr(settings, "WEBHOOK_SECRET_KEYS", []) or [])
    if not keys:
        digest = hashlib.sha256(f"sesame-webhook-secrets:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


class SecretUnreadable(Exception):
    """A stored secret no configured key decrypts (WEBHOOK_SECRET_KEYS changed)."""


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("the endpoint's secret cannot be decrypted; rotate it") from None


def headers(*, msg_id: str, timestamp: int, body: bytes, secrets: list[str]) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt (a signature per secret)."""
    when = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    text = body.decode()
    signatures = " ".join(Webhook(secret).sign(msg_id, when, text) for secret in secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }
