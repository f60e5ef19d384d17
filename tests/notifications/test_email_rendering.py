"""Emails rendered once per event and language, sent as raw messages."""

import pytest
from django.test.signals import template_rendered

from notifications.models import Delivery
from notifications.rendering import email_content
from notifications.services import deliveries_send
from tests.factories import CompanyFactory
from tests.notifications.conftest import make_consignment, make_member
from tests.notifications.helpers import record
from tests.notifications.test_batch import members

pytestmark = pytest.mark.django_db

EMAIL_TEMPLATES = {"notifications/email/message.txt", "notifications/email/message.html"}


@pytest.fixture
def renders():
    """Names of the email templates rendered while the test runs (template_rendered is sent by
    every template render under the test environment, whatever DEBUG)."""
    seen: list[str] = []

    def count(sender, template, context, **kwargs):
        if template.name in EMAIL_TEMPLATES:
            seen.append(template.name)

    template_rendered.connect(count)
    yield seen
    template_rendered.disconnect(count)


def parts(message):
    return {
        part.get_content_type(): part.get_payload(decode=True).decode().replace("\r\n", "\n")
        for part in message.walk()
        if not part.is_multipart()
    }


@pytest.mark.parametrize("count", [2, 15])
def test_a_batch_of_emails_for_one_event_renders_each_template_once(smtp, renders, count):
    company = CompanyFactory()
    users = members(company, count, role="admin", phone=False)
    event = record(make_consignment(company, reference="LOT-ONCE-1"))
    rows = Delivery.objects.filter(event=event, channel="email")
    renders.clear()  # recording the event renders nothing of the email; be sure
    deliveries_send(delivery_ids=list(rows.values_list("pk", flat=True)), channel="email")
    assert sorted(renders) == sorted(EMAIL_TEMPLATES)  # one render each, whatever `count`
    assert set(rows.values_list("status", flat=True)) == {"sent"}
    ids = set()
    for user in users:
        [message] = smtp.to(user.email)
        ids.add(message["Message-ID"])
        assert message["Subject"].strip() == "[Sesame] Déclaration rejetée — LOT-ONCE-1"
        body = parts(message)
        assert "LOT-ONCE-1" in body["text/plain"] and "LOT-ONCE-1" in body["text/html"]
    assert ids == {f"<delivery-{row.pk}@sesame.notifications>" for row in rows}


def test_each_language_of_an_event_is_rendered_once(smtp, renders):
    company = CompanyFactory()
    members(company, 3, role="admin", phone=False)
    english = [make_member(company, role="admin", language="en") for _ in range(3)]
    event = record(make_consignment(company, reference="LOT-LANG-1"))
    rows = Delivery.objects.filter(event=event, channel="email")
    deliveries_send(delivery_ids=list(rows.values_list("pk", flat=True)), channel="email")
    assert len(renders) == 4  # (txt, html) x (fr, en)
    for user in english:
        [message] = smtp.to(user.email)
        assert message["Subject"].strip() == "[Sesame] Declaration rejected — LOT-LANG-1"


def test_the_raw_message_decodes_to_the_rendered_texts(smtp, settings):
    settings.DEFAULT_FROM_EMAIL = "Sésame <no-reply@sesame.localhost>"
    company = CompanyFactory()
    user = make_member(company, role="admin")
    note = "Écart de poids. " * 30 + "\n.\nfin"  # long line, accents, a lone dot
    event = record(make_consignment(company), payload={"note": note})
    row = Delivery.objects.get(event=event, channel="email", user=user)
    content = email_content(kind_code=row.kind, event=event, language="fr")
    deliveries_send(delivery_ids=[row.pk], channel="email")
    [raw] = smtp.raw
    assert raw.isascii() and max(len(line) for line in raw.splitlines()) <= 78  # 7-bit
    [message] = smtp.to(user.email)
    assert str(message["From"]) == "Sésame <no-reply@sesame.localhost>"
    assert message["Message-ID"] == f"<delivery-{row.pk}@sesame.notifications>"
    assert message["Date"]
    body = parts(message)
    assert body["text/plain"] == content.body
    assert body["text/html"] == content.html
    assert "Écart de poids. Écart de poids." in body["text/plain"]
