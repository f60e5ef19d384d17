"""What a notification says: subject and text in the recipient's language, and the email."""

from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
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
    words = {
        "fr": {"compliant": "conforme", "non_compliant": "non conforme", "ko": "anomalies"},
        "en": {"compliant": "compliant", "non_compliant": "not compliant", "ko": "anomalies"},
    }[language if language in ("fr", "en") else "fr"]
    parts = []
    for key in ("result", "decision", "outcome"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            parts.append(words.get(value, value))
    note = payload.get("note")
    if isinstance(note, str) and note:
        parts.append(note[:200])
    return " — ".join(parts)


def message_texts(*, kind_code: str, event: Any, language: str) -> tuple[str, str]:
    """(subject, text) of a notification of `event` in `language`."""
    from tracking.kinds import KINDS as EVENT_KINDS

    kind = KINDS[kind_code]
    consignment = event.consignment
    with translation.override(language):
        event_kind = EVENT_KINDS.get(event.kind)
        event_label = str(event_kind.label) if event_kind else event.kind
    when = event.occurred_at.astimezone(PARIS)
    values = {
        "reference": consignment.reference,
        "port": consignment.port,
        "event": event_label,
        "when": when.strftime("%d/%m/%Y %H:%M"),
        "detail": _detail(event.payload or {}, language),
    }
    subject, text = kind.render(language, **values)
    return subject, " ".join(text.split())


def email_message(*, delivery: Any, connection: Any = None) -> EmailMultiAlternatives:
    """The email of a delivery: plain text and HTML, in the recipient's language."""
    event = delivery.event
    subject, text = message_texts(kind_code=delivery.kind, event=event, language=delivery.language)
    context = {
        "text": text,
        "subject": subject,
        "link": consignment_url(event.consignment),
        "reference": event.consignment.reference,
        "language": delivery.language,
        "preferences_link": settings.SITE_URL.rstrip("/") + reverse("notifications:preferences"),
    }
    with translation.override(delivery.language):
        body = render_to_string("notifications/email/message.txt", context)
        html = render_to_string("notifications/email/message.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.address],
        connection=connection,
        headers={"Message-ID": f"<delivery-{delivery.pk}@sesame.notifications>"},
    )
    message.attach_alternative(html, "text/html")
    return message
