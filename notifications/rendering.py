"""What a notification says: subject and text in the recipient's language, and the email.

An email is rendered once per (event, kind, language) (email_content: two template renders and
the MIME parts, quoted-printable) and reused for every recipient; each message then only adds
its own From/To/Date/Message-ID lines (email_bytes). Templates are compiled once per process.
"""

import binascii
import functools
import re
import secrets
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from notifications.kinds import KINDS

PARIS = ZoneInfo("Europe/Paris")
# tracking's consignment page, by the names it may carry; the list page otherwise.
_CONSIGNMENT_URL_NAMES = ("tracking:consignment-detail", "tracking:consignment", "tracking:detail")


def consignment_url(consignment: Any) -> str:
    """Absolute link to the consignment's page (settings.SITE_URL + path)."""
    path = "/tracking/"
    for name in _CONSIGNMENT_URL_NAMES:
        try:
            path = reverse(name, kwargs={"pk": consignment.pk})
            break
        except NoReverseMatch:
            continue
    return settings.SITE_URL.rstrip("/") + path


def _detail(payload: dict[str, Any], language: str) -> str:
    """The event's result, decision or outcome by its label in ``language`` (never the code),
    then its note."""
    from tracking.kinds import PAYLOAD_VALUE_LABELS

    parts = []
    with translation.override(language if language in ("fr", "en") else "fr"):
        for key in ("result", "decision", "outcome"):
            value = payload.get(key)
            label = PAYLOAD_VALUE_LABELS.get(key, {}).get(value) if isinstance(value, str) else None
            if label is not None:
                parts.append(str(label))
    note = payload.get("note")
    if isinstance(note, str) and note:
        parts.append(note[:200])
    return " — ".join(parts)


def message_texts(*, kind_code: str, event: Any, language: str) -> tuple[str, str]:
    """(subject, text) of a notification of `event` (a tracking event, or a notice with its
    own texts per language) in `language`."""
    from tracking.kinds import KINDS as EVENT_KINDS

    kind = KINDS[kind_code]
    consignment = event.consignment
    when = event.occurred_at.astimezone(PARIS)
    texts = getattr(event, "texts", None)
    if texts is not None:  # a notice says its own words
        own = texts.get(language) or texts.get("fr") or {}
        event_label, detail = own.get("event", ""), own.get("detail", "")
    else:
        with translation.override(language):
            event_kind = EVENT_KINDS.get(event.kind)
            event_label = str(event_kind.label) if event_kind else event.kind
        detail = _detail(event.payload or {}, language)
    values = {
        "reference": consignment.reference,
        "port": consignment.port,
        "event": event_label,
        "when": when.strftime("%d/%m/%Y %H:%M"),
        "detail": detail,
    }
    subject, text = kind.render(language, **values)
    return subject, " ".join(text.split())


@dataclass(frozen=True)
class EmailContent:
    """What every recipient of one (event, kind, language) reads: rendered once, reused."""

    subject: str
    text: str  # the notification's sentence (also the SMS body)
    body: str  # plain-text part
    html: str  # HTML part
    head: bytes  # Subject and MIME headers of the raw message (CRLF lines)
    mime_body: bytes  # the two parts, quoted-printable, between their boundaries
    attachments: tuple[tuple[str, str, str], ...] = ()  # (filename, content type, text)


_TEMPLATES = ("notifications/email/message.txt", "notifications/email/message.html")


@functools.cache
def _templates() -> tuple[Any, Any]:
    """The email templates, looked up and compiled once per process."""
    return tuple(get_template(name) for name in _TEMPLATES)  # type: ignore[return-value]


@receiver(setting_changed)
def _forget_templates(*, setting: str, **kwargs: Any) -> None:
    if setting in ("TEMPLATES", "SITE_URL", "ROOT_URLCONF", "DEFAULT_FROM_EMAIL"):
        _templates.cache_clear()
        _preferences_link.cache_clear()
        _from_header.cache_clear()


@functools.cache
def _preferences_link() -> str:
    return settings.SITE_URL.rstrip("/") + reverse("notifications:preferences")


def _qp(text: str) -> bytes:
    """Quoted-printable with CRLF line ends: 7-bit, lines under 78 characters, whatever the
    text (accents, long lines, a lone dot)."""
    data = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n").encode()
    return binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)


def email_content(*, kind_code: str, event: Any, language: str) -> EmailContent:
    """Render the email of `event` for `kind_code` in `language`: subject, texts and the raw MIME
    parts. Two template renders; callers reuse the result for every recipient of the event
    who reads that language."""
    subject, text = message_texts(kind_code=kind_code, event=event, language=language)
    subject = " ".join(subject.split())  # never a line break in a header
    context = {
        "text": text,
        "subject": subject,
        "link": consignment_url(event.consignment),
        "reference": event.consignment.reference,
        "language": language,
        "preferences_link": _preferences_link(),
    }
    plain, rich = _templates()
    with translation.override(language):
        body = plain.render(context)
        html = rich.render(context)
    # "=_" never occurs in quoted-printable text ("=" is written =3D): a safe boundary.
    boundary = "=_sesame_" + secrets.token_hex(8)
    subject_header = Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n")
    attachments = tuple(
        (item["filename"], item["content_type"], item["content"])
        for item in getattr(event, "attachments", None) or []
    )
    head = (
        f"Subject: {subject_header}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'
    ).encode()
    mime_body = b"".join(
        [
            f"--{boundary}\r\n".encode(),
            b'Content-Type: text/plain; charset="utf-8"\r\n',
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            _qp(body),
            f"\r\n--{boundary}\r\n".encode(),
            b'Content-Type: text/html; charset="utf-8"\r\n',
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            _qp(html),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    if attachments:  # the source's files (e.g. an .ics) beside the two texts
        head, mime_body = _with_attachments(head, mime_body, attachments)
    return EmailContent(subject, text, body, html, head, mime_body, attachments)


def _with_attachments(
    head: bytes, mime_body: bytes, attachments: tuple[tuple[str, str, str], ...]
) -> tuple[bytes, bytes]:
    """multipart/mixed: the alternative part, then each attachment in base64."""
    outer = "=_sesame_" + secrets.token_hex(8)
    subject, _sep, inner_type = head.partition(b"MIME-Version: 1.0\r\n")
    parts = [f"--{outer}\r\n".encode(), inner_type, b"\r\n", mime_body]
    for filename, content_type, content in attachments:
        encoded = binascii.b2a_base64(content.encode(), newline=False)
        lines = b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
        safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
        parts += [
            f"\r\n--{outer}\r\n".encode(),
            f'Content-Type: {content_type}; name="{safe_name}"\r\n'.encode(),
            b"Content-Transfer-Encoding: base64\r\n",
            f'Content-Disposition: attachment; filename="{safe_name}"\r\n\r\n'.encode(),
            lines,
        ]
    parts.append(f"\r\n--{outer}--\r\n".encode())
    head = (
        subject
        + (f'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="{outer}"\r\n').encode()
    )
    return head, b"".join(parts)


def message_id(delivery: Any) -> str:
    return f"<delivery-{delivery.pk}@sesame.notifications>"


# Addresses written into a header as they are (others go through Django's EmailMessage).
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,190}")


def is_plain_address(address: str) -> bool:
    return _PLAIN_ADDRESS.fullmatch(address) is not None


@functools.cache
def _from_header() -> str:
    """DEFAULT_FROM_EMAIL as a header value (a non-ASCII display name encoded)."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((name, address), charset="utf-8")


def email_bytes(*, delivery: Any, content: EmailContent) -> bytes:
    """The raw message (CRLF, 7-bit) of a delivery whose address is_plain_address: its own
    From/To/Date/Message-ID lines before the content's shared headers and parts."""
    own = (
        f"From: {_from_header()}\r\nTo: {delivery.address}\r\n"
        f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}\r\n"
        f"Message-ID: {message_id(delivery)}\r\n"
    ).encode()
    return own + content.head + b"\r\n" + content.mime_body


def email_message(
    *, delivery: Any, connection: Any = None, content: EmailContent | None = None
) -> EmailMultiAlternatives:
    """The email of a delivery as Django's EmailMultiAlternatives (any mail backend): plain text
    and HTML, in the recipient's language; `content` (email_content) reused when given."""
    if content is None:
        content = email_content(
            kind_code=delivery.kind, event=delivery.source, language=delivery.language
        )
    message = EmailMultiAlternatives(
        subject=content.subject,
        body=content.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.address],
        connection=connection,
        headers={"Message-ID": message_id(delivery)},
    )
    message.attach_alternative(content.html, "text/html")
    for filename, content_type, text in content.attachments:
        message.attach(filename, text, content_type)
    return message
