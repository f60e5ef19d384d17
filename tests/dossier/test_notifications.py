"""A document from a partner or from Sesame, and a dossier that becomes complete, reach the
company's users through the notifications app (its kinds, preferences and texts)."""

import pytest
from django.core import mail

from dossier import selectors, services
from notifications.models import Delivery
from notifications.preferences import preferences_save
from notifications.rendering import email_message
from notifications.services import deliveries_send_batch
from tests.dossier.conftest import pdf_bytes
from tests.dossier.helpers import add, received
from tests.tracking.conftest import make_consignment

pytestmark = pytest.mark.django_db


def test_partner_documents_and_completion_notify_the_company(
    company, operator, company_admin, other_company, dossier_storage, settings, client
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    consignment = make_consignment(company, categories=["food_non_animal"], ched_references=[])
    add(consignment, pdf_bytes("inv"))  # the company's own upload: no notification
    assert not Delivery.objects.exists()
    add(consignment, pdf_bytes("bl"), type_="transport_document")
    services.partner_file_add(
        consignment=consignment,
        partner="TRACES",
        received=received(pdf_bytes("ched")),
        type="ched",
        reference="CHEDD.FR.2026.0000042",
    )
    document_rows = Delivery.objects.filter(kind="document_added")
    assert {(row.user_id, row.channel) for row in document_rows} == {
        (operator.pk, "inbox"),
        (company_admin.pk, "inbox"),
    }
    done = Delivery.objects.filter(kind="dossier_completed")
    assert {(row.user_id, row.channel) for row in done} == {
        (operator.pk, "inbox"),
        (company_admin.pk, "inbox"),
        (company_admin.pk, "email"),
    }
    email = done.get(channel="email")
    assert email.notice.consignment_id == consignment.pk and email.event_id is None
    message = email_message(delivery=email)
    assert message.subject == f"[Sesame] Dossier complet — {consignment.reference}"
    assert "tous les documents requis" in message.body
    deliveries_send_batch(delivery_ids=[email.pk], channel="email")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [company_admin.email]
    # Complete once: a later document does not notify completion again.
    add(consignment, pdf_bytes("packing"), type_="packing_list")
    assert Delivery.objects.filter(kind="dossier_completed").count() == 3
    # The inbox shows it with the consignment.
    client.force_login(operator)
    page = client.get("/notifications/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count(f'data-testid="inbox-consignment">{consignment.reference}</a>') == 2
    assert html.count(f"— Document ajouté, {consignment.reference}, ") == 1  # the button's name


def test_a_person_can_turn_dossier_notifications_off(company, operator, dossier_storage):
    preferences_save(user=operator, enabled=set())
    consignment = make_consignment(company, categories=[])
    services.partner_file_add(
        consignment=consignment,
        partner="TRACES",
        received=received(pdf_bytes("ched-off")),
        type="ched",
    )
    assert not Delivery.objects.filter(user=operator).exists()


def test_a_system_document_notifies_in_the_recipients_language(company, operator, dossier_storage):
    operator.language = "en"
    operator.save()
    consignment = make_consignment(company, categories=[])
    services.system_document_add(
        consignment=consignment,
        type="release_note",
        reference="26FR000000000001R2",
        filename="bae.pdf",
        pdf=pdf_bytes("bae"),
        key="release_note:26FR000000000001R2",
    )
    row = Delivery.objects.get(user=operator, kind="document_added")
    from notifications.rendering import message_texts

    subject, text = message_texts(kind_code=row.kind, event=row.source, language="en")
    assert subject == f"[Sesame] New document — {consignment.reference}"
    assert "26FR000000000001R2 — Sesame" in text
    assert selectors.dossier_completeness(consignment=consignment).complete is False
