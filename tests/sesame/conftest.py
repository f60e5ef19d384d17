"""Fixtures of the portal tests: a real local SMTP server for the emails people receive."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.notifications.fakes import SmtpSink


@pytest.fixture(scope="session")
def _portal_smtp_server() -> Iterator[SmtpSink]:
    server = SmtpSink()
    yield server
    server.close()


@pytest.fixture
def smtp(_portal_smtp_server: SmtpSink, settings: Any) -> SmtpSink:
    """The real local SMTP server (aiosmtpd), emptied; Django's SMTP backend sends to it."""
    _portal_smtp_server.reset()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = _portal_smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.SITE_URL = "http://testserver"
    return _portal_smtp_server


@pytest.fixture
def fast_passwords(settings: Any) -> None:
    """A cheap password hasher for tests that sign in many times (the real one is slow on
    purpose); what is tested is the throttling, not the hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
