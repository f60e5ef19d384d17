"""Every change to business data is recorded: who, when, what — bulk updates included."""

import pytest
from django.urls import reverse

from sesame.models import Company, Membership

pytestmark = pytest.mark.django_db


def events_of(model, pk):
    return model.pgh_event_model.objects.filter(pgh_obj_id=pk).order_by("pgh_id")


def test_bulk_update_is_recorded_with_old_and_new_values(company) -> None:
    Company.objects.filter(pk=company.pk).update(name="Renamed by a bulk update")
    labels = [event.pgh_label for event in events_of(Company, company.pk)]
    assert labels == ["insert", "update"]
    assert events_of(Company, company.pk).last().name == "Renamed by a bulk update"


def test_delete_is_recorded(company, operator) -> None:
    membership = Membership.objects.get(user=operator)
    pk = membership.pk
    membership.delete()
    assert [e.pgh_label for e in events_of(Membership, pk)] == ["insert", "delete"]


def test_change_through_a_page_records_the_user_and_url(
    client, company, company_admin, operator
) -> None:
    membership = Membership.objects.get(user=operator)
    client.force_login(company_admin)
    client.post(reverse("member-remove", args=[membership.pk]), {"confirmed": "yes"})
    event = events_of(Membership, membership.pk).last()
    assert event.pgh_label == "delete"
    assert event.pgh_context.metadata["user"] == company_admin.pk
    assert event.pgh_context.metadata["url"] == reverse("member-remove", args=[membership.pk])


def test_audit_rows_cannot_be_rewritten(company) -> None:
    from django.db import InternalError, ProgrammingError, transaction

    event = events_of(Company, company.pk).first()
    with transaction.atomic(), pytest.raises((InternalError, ProgrammingError)):
        type(event).objects.filter(pk=event.pk).update(name="forged")


def test_admin_sees_the_audit_trail(admin_client, company) -> None:
    response = admin_client.get(f"/admin/pghistory/events/?obj=sesame.company:{company.pk}")
    assert response.status_code == 200
    assert company.name in response.content.decode()
