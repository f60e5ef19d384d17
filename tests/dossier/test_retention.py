"""Retention (DOSSIER.md §1): past the end of the third year after the year of release, the
bytes go and the metadata stays; a legal hold or a consignment not released stops the purge."""

import datetime as dt

import pytest

from dossier.models import Document, Dossier
from dossier.services import dossier_release_record, retain_until_for, retention_purge
from tests.dossier.conftest import pdf_bytes
from tests.dossier.helpers import add
from tests.tracking.conftest import make_consignment

pytestmark = pytest.mark.django_db
PARIS = dt.timezone(dt.timedelta(hours=1))


@pytest.mark.parametrize(
    ("released", "kept_until"),
    [("2026-01-01", "2029-12-31"), ("2026-12-31", "2029-12-31"), ("2024-02-29", "2027-12-31")],
)
def test_kept_until_the_end_of_the_third_year_after_release(released, kept_until):
    assert retain_until_for(dt.date.fromisoformat(released)).isoformat() == kept_until


def test_release_late_in_the_evening_counts_in_paris(company):
    consignment = make_consignment(company)
    # 23:30 UTC on 31 December is already 1 January in Paris.
    dossier = dossier_release_record(
        consignment=consignment, released_at=dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    )
    assert dossier.released_on == dt.date(2027, 1, 1)
    assert dossier.retain_until == dt.date(2030, 12, 31)


def test_purge_past_retention_keeps_metadata_and_spares_holds_and_unreleased(
    company, api, company_key, dossier_storage
):
    released = make_consignment(company)
    held = make_consignment(company)
    unreleased = make_consignment(company)
    recent = make_consignment(company)
    gone = add(released, pdf_bytes("old"))
    gone_old_version = add(released, pdf_bytes("older"), type_="transport_document")
    for consignment in (held, unreleased, recent):
        add(consignment, pdf_bytes(f"keep {consignment.pk}"))
    when = dt.datetime(2020, 5, 4, 10, 0, tzinfo=dt.UTC)
    for consignment in (released, held):
        dossier_release_record(consignment=consignment, released_at=when)
    dossier_release_record(consignment=recent, released_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    Dossier.objects.filter(consignment=held).update(legal_hold=True, legal_hold_reason="Enquête")
    stored_before = set(dossier_storage.stored_names())
    assert len(stored_before) == 5

    assert retention_purge(today=dt.date(2024, 1, 1)) == 2  # 2020 + 3 -> kept to 2023-12-31
    assert retention_purge(today=dt.date(2024, 1, 1)) == 0  # nothing twice
    for document in (gone, gone_old_version):
        document.refresh_from_db()
        assert document.purged_at is not None and document.storage_name == ""
        assert len(document.sha256) == 64 and document.size > 0  # the metadata stays
    remaining = set(dossier_storage.stored_names())
    assert len(remaining) == 3 and remaining < stored_before
    assert Document.objects.filter(purged_at__isnull=True).count() == 3
    # Through the API: listed with purged_at, the bytes answer 410, the ZIP leaves them out.
    client = api(company_key)
    body = client.get(f"/api/v1/documents/{gone.pk}/").json()
    assert body["purged_at"] is not None and body["sha256"] == gone.sha256
    response = client.get(f"/api/v1/documents/{gone.pk}/download/")
    assert response.status_code == 410 and response.json()["code"] == "purged"
    archive = b"".join(
        client.get(f"/api/v1/consignments/{released.pk}/dossier.zip").streaming_content
    )
    import io
    import json
    import zipfile

    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        manifest = json.loads(zipped.read("manifest.json"))
    assert manifest["documents"] == []
    assert {p["sha256"] for p in manifest["purged"]} == {gone.sha256, gone_old_version.sha256}
    # A purged document still counts as held by the dossier.
    dossier = client.get(f"/api/v1/consignments/{released.pk}/dossier/").json()
    assert dossier["present"] == ["commercial_invoice", "transport_document"]


def test_the_purge_task_runs_the_purge(company, dossier_storage):
    from dossier.tasks import retention_purge as task

    consignment = make_consignment(company)
    add(consignment, pdf_bytes("task"))
    dossier_release_record(
        consignment=consignment, released_at=dt.datetime(2015, 1, 1, 12, tzinfo=dt.UTC)
    )
    assert task.apply().get() == 1
    assert dossier_storage.stored_names() == []


def test_a_legal_hold_through_the_admin_is_audited(admin_client, admin_user, company):
    consignment = make_consignment(company)
    dossier_release_record(
        consignment=consignment, released_at=dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
    )
    url = "/admin/dossier/dossier/"
    ask = admin_client.post(url, {"action": "hold", "_selected_action": [consignment.pk]})
    assert ask.status_code == 200 and b"reason" in ask.content  # the reason is asked for
    response = admin_client.post(
        url, {"action": "hold", "_selected_action": [consignment.pk], "reason": "Contentieux"}
    )
    assert response.status_code == 302
    dossier = Dossier.objects.get(consignment=consignment)
    assert dossier.legal_hold and dossier.legal_hold_reason == "Contentieux"
    event = Dossier.pgh_event_model.objects.filter(pgh_obj_id=consignment.pk).last()
    assert event.legal_hold is True
    assert event.pgh_context.metadata["user"] == admin_user.pk
    assert retention_purge(today=dt.date(2030, 1, 1)) == 0
    admin_client.post(url, {"action": "lift_hold", "_selected_action": [consignment.pk]})
    assert not Dossier.objects.get(consignment=consignment).legal_hold
