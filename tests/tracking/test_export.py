"""The consignments CSV: through sesame.exports (BOM, separator of the language), with the
labels of the reader's language and local times, only what the reader may see."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import CompanyFactory, MembershipFactory
from tests.tracking.conftest import make_consignment

pytestmark = pytest.mark.django_db
ARRIVAL = datetime(2026, 7, 14, 6, 30, tzinfo=ZoneInfo("UTC"))  # 08:30 in Paris (summer time)


def rows(response, delimiter: str) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:]), delimiter=delimiter))


@pytest.fixture
def member_client():
    company = CompanyFactory()
    mine = make_consignment(
        company,
        reference="LOT-7",
        expected_arrival=ARRIVAL,
        categories=["animal_products", "organic"],
    )
    make_consignment(CompanyFactory(), reference="NOT-MINE", expected_arrival=ARRIVAL)
    client = Client()
    client.force_login(MembershipFactory(company=company).user)
    return client, mine


def test_french_export_has_french_labels_local_times_and_semicolons(member_client):
    client, mine = member_client
    response = client.get(reverse("tracking:export"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    table = rows(response, ";")
    assert table[0][:2] == ["Référence", "Conteneurs"]
    assert len(table) == 2  # the other company's consignment is not there
    row = dict(zip(table[0], table[1], strict=True))
    assert row["Référence"] == "LOT-7"
    assert row["Arrivée prévue"] == "14/07/2026 08:30"
    assert row["Statut"] == "Attendu"
    assert row["Catégories de marchandises"] == "Produits d'origine animale, Produits biologiques"
    assert row["Port"] == "Le Havre"
    assert row["Document de transport"] == f"Connaissement {mine.transport_document_number}"


def test_english_export_has_english_labels_and_commas(member_client):
    client, _mine = member_client
    client.cookies["django_language"] = "en"
    table = rows(client.get(reverse("tracking:export"), HTTP_ACCEPT_LANGUAGE="en"), ",")
    row = dict(zip(table[0], table[1], strict=True))
    assert row["Expected arrival"] == "2026-07-14 08:30"
    assert row["Status"] == "Expected"
    assert row["Goods categories"] == "Products of animal origin, Organic products"


def test_a_bad_filter_is_400_not_a_file(member_client):
    client, _mine = member_client
    response = client.get(reverse("tracking:export"), {"arrival_from": "not-a-date"})
    assert response.status_code == 400
