"""Two people act at once on one dossier: versions stay consecutive, one current."""

import threading

import pytest
from django.db import connection

from dossier.models import Document
from tests.dossier.conftest import pdf_bytes
from tests.dossier.helpers import add
from tests.tracking.conftest import make_consignment


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("dossier_storage", ["filesystem"], indirect=True)
def test_two_uploads_of_one_document_at_once_give_consecutive_versions(company, dossier_storage):
    consignment = make_consignment(company)
    add(consignment, pdf_bytes("race v1"), reference="INV-R")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def upload(n: int) -> None:
        try:
            barrier.wait()
            add(consignment, pdf_bytes(f"race {n}"), reference="INV-R", reason=f"person {n}")
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    versions = list(
        Document.objects.filter(consignment=consignment, reference="INV-R")
        .order_by("version")
        .values_list("version", "current")
    )
    assert versions == [(1, False), (2, False), (3, False), (4, False), (5, True)]
    chain = {d.version: d.replaces_id for d in Document.objects.filter(reference="INV-R")}
    by_version = {d.version: d.pk for d in Document.objects.filter(reference="INV-R")}
    assert all(chain[v] == by_version[v - 1] for v in range(2, 6))
    assert len(dossier_storage.stored_names()) == 5
