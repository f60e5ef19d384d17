"""Every list pages by number or by cursor, and filters on updated_since."""

import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.tracking.conftest import make_consignment
from tracking.models import Consignment

pytestmark = pytest.mark.django_db

CONSIGNMENTS = "/api/v1/consignments/"


@pytest.fixture
def five(company):
    made = [make_consignment(company, reference=f"LOT-{n}") for n in range(5)]
    base = timezone.now() - dt.timedelta(days=1)
    for n, consignment in enumerate(made):  # created one minute apart, in this order
        Consignment.objects.filter(pk=consignment.pk).update(
            created_at=base + dt.timedelta(minutes=n), updated_at=base + dt.timedelta(minutes=n)
        )
    return made


def walk(client, first: str) -> list[list[str]]:
    pages, url = [], first
    while url:
        body = client.get(url).json()
        assert "count" not in body
        pages.append([row["reference"] for row in body["results"]])
        url = body["next"]
    return pages


def test_cursor_pages_walk_every_row_once_newest_first(api, company_key, five):
    client = api(company_key)
    pages = walk(client, f"{CONSIGNMENTS}?cursor=&page_size=2")
    assert pages == [["LOT-4", "LOT-3"], ["LOT-2", "LOT-1"], ["LOT-0"]]


def test_a_row_added_meanwhile_does_not_shift_the_next_page(api, company_key, company, five):
    client = api(company_key)
    first = client.get(f"{CONSIGNMENTS}?cursor=&page_size=2").json()
    make_consignment(company, reference="LOT-NEW")  # newest: before the cursor's position
    second = client.get(first["next"]).json()
    assert [row["reference"] for row in second["results"]] == ["LOT-2", "LOT-1"]
    back = client.get(second["previous"]).json()
    assert [row["reference"] for row in back["results"]] == ["LOT-4", "LOT-3"]


def test_page_numbers_still_answer_with_a_count(api, company_key, five):
    body = api(company_key).get(f"{CONSIGNMENTS}?page=2&page_size=2").json()
    assert body["count"] == 5
    assert len(body["results"]) == 2


def test_updated_since_filters_in_both_modes(api, company_key, five):
    client = api(company_key)
    since = Consignment.objects.get(pk=five[3].pk).updated_at
    Consignment.objects.filter(pk=five[0].pk).update(updated_at=since + dt.timedelta(seconds=5))
    expected = {"LOT-4", "LOT-3", "LOT-0"}
    stamp = since.isoformat()
    by_page = client.get(CONSIGNMENTS, {"updated_since": stamp}).json()
    assert {row["reference"] for row in by_page["results"]} == expected
    assert by_page["count"] == 3
    by_cursor = client.get(CONSIGNMENTS, {"updated_since": stamp, "cursor": ""}).json()
    assert {row["reference"] for row in by_cursor["results"]} == expected
    # An offset whose "+" was not escaped arrives as a space: still understood.
    raw = client.get(f"{CONSIGNMENTS}?updated_since={since.isoformat()}").json()
    assert {row["reference"] for row in raw["results"]} == expected


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ({"cursor": "cD1nYXJiYWdl"}, "cursor", "invalid_cursor"),  # base64 of p=garbage
        ({"cursor": "bz14"}, "cursor", "invalid_cursor"),  # base64 of o=x
        ({"updated_since": "yesterday"}, "updated_since", "invalid_datetime"),
        ({"updated_since": "2026-12-01T08:00:00"}, "updated_since", "invalid_datetime"),
        ({"updated_since": "2026-13-45T08:00:00+01:00"}, "updated_since", "invalid_datetime"),
    ],
)
def test_bad_cursor_or_date_is_400(api, company_key, five, query, field, code):
    response = api(company_key).get(CONSIGNMENTS, query)
    assert response.status_code == 400
    assert response.json()["errors"][field][0]["code"] == code


@pytest.mark.parametrize("size", ["0", "201", "abc", "٣"])
@pytest.mark.parametrize("url", [CONSIGNMENTS, "/api/v1/webhooks/"])
def test_a_page_size_out_of_range_is_400_not_clamped(api, company_key, url, size):
    # With filters (a ListQuery) and without (the pagination alone): the same refusal.
    response = api(company_key).get(url, {"page_size": size})
    assert response.status_code == 400
    assert "page_size" in response.json()["errors"]


def test_updated_since_outside_the_years_the_api_takes_is_400(api, company_key):
    response = api(company_key).get("/api/v1/webhooks/", {"updated_since": "0913-06-19T03:03:10Z"})
    assert response.status_code == 400
    assert response.json()["errors"]["updated_since"][0]["code"] == "invalid_datetime"


def test_a_list_without_updated_at_says_so(api, company_key):
    response = api(company_key).get("/api/v1/keys/", {"updated_since": "2026-12-01T08:00:00Z"})
    assert response.status_code == 400
    assert response.json()["errors"]["updated_since"][0]["code"] == "not_supported"


def test_a_cursor_page_costs_the_same_whatever_the_rows(api, company_key, company):
    client = api(company_key)
    client.get("/api/v1/me/")  # the key's first use writes its last-use date

    def cost(rows: int) -> int:
        for n in range(rows):
            make_consignment(company, reference=f"C{rows}-{n}")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(CONSIGNMENTS, {"cursor": "", "page_size": 50}).status_code == 200
        return len(queries)

    assert cost(2) == cost(20)


def test_next_links_keep_the_filters(api, company_key, five):
    body = api(company_key).get(CONSIGNMENTS, {"cursor": "", "page_size": 2, "port": "FRLEH"})
    query = parse_qs(urlparse(body.json()["next"]).query)
    assert query["port"] == ["FRLEH"] and query["cursor"][0]
