"""GUN fixtures: keys, a published DI, an API helper that lodges declarations."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from tests.gun.factories import publish_di


@pytest.fixture
def client_co(api, company_key) -> APIClient:
    return api(company_key)


@pytest.fixture
def delta(api, partner_key) -> APIClient:
    return api(partner_key("DELTA"))


@pytest.fixture
def semae(api, partner_key) -> APIClient:
    return api(partner_key("SEMAE"))


@pytest.fixture
def di(company):
    return publish_di(holder=company.eori)


@pytest.fixture
def lodge(client_co) -> Callable[[dict], dict]:
    """POST a declaration and return its body (asserting 201)."""

    def make(body: dict) -> dict:
        response = client_co.post("/api/v1/declarations/", body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return make
