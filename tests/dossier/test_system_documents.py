"""System documents: real PDFs generated once each from tracking's events (the GUN's declaration
validated, the release, a completed appointment), even when the worker is killed meanwhile."""

import io
import time
from datetime import timedelta

import psycopg2
import pytest
from django.utils import timezone
from pypdf import PdfReader

from dossier.generation import generation_run
from dossier.models import Document, Dossier, Generation
from gun.services import declaration_register, declaration_release, declaration_validate
from tests.conftest import database_url
from tests.gun.factories import di_doc, item, payload, publish_di, service_data
from tests.tracking.conftest import make_consignment
from tracking.services import event_record


def pdf_text(document: Document) -> str:
    from dossier.storage import storage_chunks

    data = b"".join(storage_chunks(name=document.storage_name))
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def run_pending() -> list[Document]:
    return [
        generation_run(generation_id=pk)
        for pk in Generation.objects.filter(status="pending").values_list("pk", flat=True)
    ]


def inspection(consignment, *, appointment="RDV-77", kind="identity_check", source_id="a-77"):
    start = timezone.now() - timedelta(hours=1)
    return event_record(
        consignment=consignment,
        kind=kind,
        occurred_at=timezone.now(),
        source="SIVEP",
        source_event_id=source_id,
        author="agent.sivep@example.org",
        payload={
            "result": "compliant",
            "check": kind.replace("_check", ""),
            "appointment": appointment,
            "service": "SIVEP",
            "post": "FRLEH4",
            "start": start.isoformat(),
            "end": timezone.now().isoformat(),
            "note": "Lot conforme, scellés vérifiés.",
        },
    )[0]


@pytest.mark.django_db
def test_the_declaration_summary_and_the_release_note_are_generated_once(company, dossier_storage):
    consignment = make_consignment(company, declarations=[{"client_reference": "ACME-1"}])
    di = publish_di(holder=company.eori)
    result = declaration_register(
        company=company,
        data=service_data(payload(company.eori, item(1, di_doc(di.reference)))),
        by="t",
    )
    validated = declaration_validate(declaration=result.declaration, by="t").declaration
    assert Generation.objects.filter(type="customs_declaration").count() == 1
    (summary,) = run_pending()
    assert (summary.type, summary.origin, summary.reference) == (
        "customs_declaration",
        "system",
        validated.mrn,
    )
    assert summary.content_type == "application/pdf"
    text = pdf_text(summary)
    assert validated.mrn in text
    assert di.reference in text  # the box-44 document and its imputation
    assert "1209918000" in text
    assert "Acceptée" in text
    # Generating again adds nothing.
    assert generation_run(generation_id=Generation.objects.get().pk) == summary
    declaration_release(declaration=validated, by="t")
    (note,) = run_pending()
    assert (note.type, note.reference) == ("release_note", validated.mrn)
    assert "Bon à enlever" in pdf_text(note)
    assert Document.objects.filter(origin="system").count() == 2
    dossier = Dossier.objects.get(consignment=consignment)
    released = timezone.localdate()
    assert dossier.released_on == released
    assert dossier.retain_until.isoformat() == f"{released.year + 3}-12-31"


@pytest.mark.django_db
def test_an_inspection_report_for_each_completed_appointment(company, dossier_storage):
    consignment = make_consignment(company)
    inspection(consignment, appointment="RDV-77")
    inspection(consignment, appointment="RDV-77", kind="physical_check", source_id="a-77-bis")
    inspection(consignment, appointment="RDV-78", kind="physical_check", source_id="a-78")
    event_record(  # a partner's check result without an appointment: no report
        consignment=consignment,
        kind="physical_check",
        occurred_at=timezone.now(),
        source="SIVEP",
        source_event_id="no-appointment",
        payload={"result": "compliant"},
    )
    reports = run_pending()
    assert sorted(d.reference for d in reports) == ["RDV-77", "RDV-78"]
    text = pdf_text(reports[0])
    assert "Rapport d'inspection" in text
    assert "Conforme" in text
    assert "scellés vérifiés" in text
    assert "agent.sivep@example.org" in text


def _wait(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.1)


def _waiting_on_a_lock(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE '%%tracking_consignment%%'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_generation_still_gives_one_document(
    company, dossier_storage, start_worker
):
    consignment = make_consignment(company)
    blocker = psycopg2.connect(database_url())
    watcher = psycopg2.connect(database_url())
    watcher.autocommit = True
    try:
        inspection(consignment)  # committed: the task waits in the broker
        generation = Generation.objects.get()
        with blocker.cursor() as cursor:  # the generation's read of the consignment will wait
            cursor.execute("LOCK TABLE tracking_consignment IN ACCESS EXCLUSIVE MODE")
        worker = start_worker(extra_env=dossier_storage.env)
        _wait(lambda: _waiting_on_a_lock(watcher), "the worker is generating")
        worker.kill()  # SIGKILL in the middle of the generation
        blocker.rollback()
        generation.refresh_from_db()
        assert generation.status == "pending" and generation.attempts == 1
        assert not Document.objects.exists()
        start_worker(extra_env={**dossier_storage.env, "CELERY_VISIBILITY": "2"})
        from dossier.tasks import generate

        generate.delay(generation.pk)  # as the sweep does; the killed delivery comes back too
        _wait(
            lambda: Generation.objects.filter(pk=generation.pk, status="done").exists(),
            "the document is generated",
        )
        time.sleep(3)  # let a redelivered copy of the task run too
        assert Document.objects.filter(source_key=generation.key).count() == 1
        assert len(dossier_storage.stored_names()) == 1
    finally:
        blocker.close()
        watcher.close()


@pytest.mark.django_db
def test_a_sheet_without_facts_is_still_a_pdf():
    from dossier import pdf

    data = pdf.render(pdf.Sheet(title="Titre", subtitle="Sous-titre", facts=[]))
    assert PdfReader(io.BytesIO(data)).pages[0].extract_text().startswith("Titre")
