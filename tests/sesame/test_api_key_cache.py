"""API keys are cached per process for a short while, and a revocation is honoured at once."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sesame.api import authentication
from sesame.api.authentication import KEY_VERSION_KEY
from sesame.models import APIKey
from sesame.services import api_key_create, api_key_revoke

# Outside a test transaction: copies are filled only outside transactions.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_copies():
    authentication._keys.clear()
    yield
    authentication._keys.clear()


def me_queries(client) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/me/")
    return response.status_code, [query["sql"] for query in queries.captured_queries]


def test_a_repeated_request_does_not_read_the_key_again(api, company) -> None:
    _key, raw = api_key_create(company=company)
    client = api(raw)
    status, first = me_queries(client)
    assert status == 200
    assert any(sql.startswith('SELECT "sesame_apikey"') for sql in first)
    status, second = me_queries(client)
    assert status == 200
    # Only the company's read of /me/ is left: no key read, and the key's last use was
    # written by the first request (at most once a minute).
    assert len(second) == 1 and "sesame_apikey" not in second[0]


def test_a_cached_key_still_needs_its_secret(api, company) -> None:
    _key, raw = api_key_create(company=company)
    assert api(raw).get("/api/v1/me/").status_code == 200
    prefix = raw.split(".")[0]
    response = api(prefix + ".wrongsecret").get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_unknown"


def test_a_revoked_key_is_refused_at_once_though_cached(api, company) -> None:
    key, raw = api_key_create(company=company)
    client = api(raw)
    assert client.get("/api/v1/me/").status_code == 200
    api_key_revoke(key=key)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_revoked"


def test_a_revocation_by_another_process_drops_this_process_copy(api, company) -> None:
    key, raw = api_key_create(company=company)
    client = api(raw)
    assert client.get("/api/v1/me/").status_code == 200
    assert authentication._keys  # this process holds a copy
    # Another process revokes: the row changes and the version moves; this process's dict is
    # not touched.
    APIKey.objects.filter(pk=key.pk).update(revoked=True)
    try:
        cache.incr(KEY_VERSION_KEY)
    except ValueError:
        cache.add(KEY_VERSION_KEY, 1, timeout=None)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_revoked"
