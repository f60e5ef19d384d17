"""Fixtures of the notification tests: fake Twilio, a real SMTP server, consignments, people."""

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from notifications import conf
from notifications.models import Profile
from tests.factories import MembershipFactory
from tests.notifications.fakes import FakeTwilio, SmtpSink
from tracking.models import Consignment

_seq = itertools.count(1)


@pytest.fixture(scope="session")
def _twilio_server() -> Iterator[FakeTwilio]:
    server = FakeTwilio()
    yield server
    server.close()


@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[SmtpSink]:
    server = SmtpSink()
    yield server
    server.close()


@pytest.fixture
def fake_twilio(_twilio_server: FakeTwilio, settings: Any, monkeypatch: Any) -> FakeTwilio:
    """The fake Twilio, emptied, with this process's twilio client pointed at it."""
    _twilio_server.reset()
    settings.TWILIO_BASE_URL = _twilio_server.url
    monkeypatch.setattr(conf, "TWILIO_TIMEOUT", 1.0)
    monkeypatch.setattr(conf, "BACKOFF_SECONDS", 0.0)
    return _twilio_server


@pytest.fixture
def smtp(_smtp_server: SmtpSink, settings: Any) -> SmtpSink:
    """The real local SMTP server, emptied; Django's SMTP backend sends to it."""
    _smtp_server.reset()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    return _smtp_server


def make_consignment(company: Any, **extra: Any) -> Consignment:
    return Consignment.objects.create(
        company=company,
        reference=extra.pop("reference", f"LOT-{next(_seq):05d}"),
        transport_document_type="bl",
        transport_document_number=f"BL{next(_seq)}",
        port="FRLEH",
        expected_arrival=timezone.now(),
        **extra,
    )


def make_member(company: Any, *, role: str = "operator", phone: str = "", language: str = "fr"):
    """A member of `company`; with `phone`, a verified number."""
    user = MembershipFactory(company=company, role=role).user
    if language != "fr":
        user.language = language
        user.save(update_fields=["language"])
    if phone:
        Profile.objects.create(user=user, phone=phone, phone_verified_at=timezone.now())
    return user


_phones = itertools.count(10_000_000)


def new_phone() -> str:
    return f"+336{next(_phones):08d}"
