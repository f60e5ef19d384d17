"""SMS through the real twilio library, pointed at TWILIO_BASE_URL when set (a local fake in tests).

Errors are sorted once here: `TransientError` (timeouts, connection errors, 429, 5xx) is worth
retrying; `PermanentError` (any other 4xx, e.g. 21211 invalid number) is not. `AmbiguousError`
is a transient error after which the message may exist at Twilio (the request left, no answer
came back): the next attempt looks it up before sending again.
"""

import datetime as dt
import threading
from dataclasses import dataclass

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from notifications import conf

TWILIO_API = "https://api.twilio.com"


class SmsError(Exception):
    pass


class TransientError(SmsError):
    pass


class AmbiguousError(TransientError):
    pass


class PermanentError(SmsError):
    pass


class RewritingHttpClient(TwilioHttpClient):
    """Sends the requests meant for api.twilio.com to `base_url` instead."""

    def __init__(self, base_url: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.base_url = base_url.rstrip("/")
        if self.session is not None:
            self.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


_local = threading.local()


def client() -> Client:
    """One Twilio client per thread and configuration (keeps its HTTP connections alive)."""
    key = (
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_BASE_URL,
        conf.TWILIO_TIMEOUT,
    )
    cached = getattr(_local, "client", None)
    if cached is None or cached[0] != key:
        http = RewritingHttpClient(settings.TWILIO_BASE_URL, timeout=conf.TWILIO_TIMEOUT)
        cached = (
            key,
            Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http),
        )
        _local.client = cached
    return cached[1]


@dataclass(frozen=True)
class SentMessage:
    sid: str
    status: str


def status_callback_url() -> str:
    from django.urls import reverse

    return settings.SITE_URL.rstrip("/") + reverse("notifications:twilio-status")


def send(*, to: str, body: str, status_callback: str = "") -> SentMessage:
    """Create one message at Twilio; raises TransientError, AmbiguousError or PermanentError.

    Safe to call from several threads at once (each thread has its own client and connections);
    pass `status_callback` (status_callback_url()) when calling from a thread without Django's
    URL resolver set up for it.
    """
    try:
        message = client().messages.create(
            to=to,
            from_=settings.TWILIO_FROM_NUMBER,
            body=body,
            status_callback=status_callback or status_callback_url(),
        )
    except TwilioRestException as exc:
        text = f"HTTP {exc.status} code {exc.code}: {exc.msg}"
        if exc.status == 429 or exc.status >= 500:
            raise TransientError(text) from exc
        raise PermanentError(text) from exc
    except (requests.Timeout, requests.ConnectionError) as exc:
        # The request may have reached Twilio: look before sending again.
        raise AmbiguousError(f"{type(exc).__name__}: {exc}") from exc
    except requests.RequestException as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
    return SentMessage(sid=message.sid, status=message.status or "queued")


def find(*, to: str, body: str, since: dt.datetime) -> list[SentMessage]:
    """Messages already created at Twilio for this recipient with this body since `since`.

    This is how a send whose answer was lost (timeout, crash) is recognised instead of repeated.
    (No date filter on the request: Twilio filters on the sent date, which a queued message lacks.)
    """
    try:
        messages = client().messages.list(to=to, limit=200)
    except TwilioRestException as exc:
        raise TransientError(f"lookup: HTTP {exc.status}: {exc.msg}") from exc
    except requests.RequestException as exc:
        raise TransientError(f"lookup: {type(exc).__name__}: {exc}") from exc
    floor = since - dt.timedelta(minutes=2)  # clock skew between us and Twilio
    return [
        SentMessage(sid=message.sid, status=message.status or "queued")
        for message in messages
        if message.body == body and (message.date_created is None or message.date_created >= floor)
    ]
