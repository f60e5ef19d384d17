"""Rate limits per key in Redis: 429 with Retry-After, RateLimit headers, throttle_scope."""

import re

import pytest
from django.conf import settings as django_settings

from sesame.api import throttling
from sesame.services import api_key_create

pytestmark = pytest.mark.django_db


def rates(**values: str) -> dict:
    return {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": values}


def remaining(response) -> int:
    return int(re.search(r";r=(\d+);", response["RateLimit"]).group(1))


def test_a_key_past_its_rate_gets_429_with_retry_after(api, company, settings):
    settings.REST_FRAMEWORK = rates(api="3/min")
    _key, raw = api_key_create(company=company)
    client = api(raw)
    answers = [client.get("/api/v1/me/") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [remaining(a) for a in answers[:3]] == [2, 1, 0]
    assert answers[0]["RateLimit-Policy"] == '"api";q=3;w=60'
    refused = answers[3]
    assert refused.json()["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert remaining(refused) == 0


def test_each_key_has_its_own_count(api, company, settings):
    settings.REST_FRAMEWORK = rates(api="2/min")
    _a, first = api_key_create(company=company)
    _b, second = api_key_create(company=company)
    for _ in range(2):
        assert api(first).get("/api/v1/me/").status_code == 200
    assert api(first).get("/api/v1/me/").status_code == 429
    assert api(second).get("/api/v1/me/").status_code == 200


@pytest.mark.urls("tests.sesame.urls_new_endpoint")
def test_a_throttle_scope_adds_its_own_stricter_rate(api, company, settings):
    settings.REST_FRAMEWORK = rates(api="100/min", tight="1/min")
    _key, raw = api_key_create(company=company)
    client = api(raw)
    first = client.get("/api/v1/tight/")
    assert first.status_code == 200
    assert first["RateLimit-Policy"] == '"api";q=100;w=60, "tight";q=1;w=60'
    assert first["RateLimit"].startswith('"tight";r=0;')
    assert client.get("/api/v1/tight/").status_code == 429
    assert client.get("/api/v1/me/").status_code == 200  # the key's other endpoints go on


@pytest.mark.urls("tests.sesame.urls_new_endpoint")
def test_a_throttle_scope_without_a_rate_fails_loudly(api, company, settings, caplog):
    settings.REST_FRAMEWORK = rates(api="100/min")
    _key, raw = api_key_create(company=company)
    response = api(raw).get("/api/v1/tight/")
    assert response.status_code == 500  # a configuration error, never a silent pass
    logged = [r for r in caplog.records if r.exc_info and "tight" in str(r.exc_info[1])]
    assert logged, "the missing rate of the scope is logged with its name"


def test_redis_unreachable_lets_requests_through(api, company, settings):
    _key, raw = api_key_create(company=company)
    throttling._limiter.clear()
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    try:
        response = api(raw).get("/api/v1/me/")
    finally:
        throttling._limiter.clear()
    assert response.status_code == 200
    assert "RateLimit" not in response


@pytest.mark.urls("tests.sesame.urls_new_endpoint")
def test_a_scope_lifted_with_none_lets_requests_through(api, company, settings):
    settings.REST_FRAMEWORK = rates(api="100/min", tight=None)
    _key, raw = api_key_create(company=company)
    response = api(raw).get("/api/v1/tight/")
    assert response.status_code == 200
    assert '"api";' in response["RateLimit-Policy"] and "tight" not in response["RateLimit-Policy"]
