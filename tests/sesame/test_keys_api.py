"""`/api/v1/keys/`: a key lists and revokes its owner's keys, never another owner's; last use."""

import pytest

from sesame.models import APIKey
from sesame.services import api_key_create

pytestmark = pytest.mark.django_db


def test_a_company_key_lists_its_company_keys_only(api, company, other_company):
    mine, raw = api_key_create(company=company, name="ERP")
    second, _ = api_key_create(company=company, name="Reports", scopes=["declarations:read"])
    theirs, _ = api_key_create(company=other_company)
    api_key_create(partner="SEMAE")
    body = api(raw).get("/api/v1/keys/").json()
    assert body["count"] == 2
    by_prefix = {item["prefix"]: item for item in body["results"]}
    assert set(by_prefix) == {mine.prefix, second.prefix}
    assert by_prefix[second.prefix]["scopes"] == ["declarations:read"]
    assert by_prefix[mine.prefix]["last_used_at"] is not None  # it made this very request
    assert by_prefix[second.prefix]["last_used_at"] is None
    assert "hashed_key" not in by_prefix[mine.prefix] and "id" not in by_prefix[mine.prefix]
    assert theirs.prefix not in by_prefix


def test_another_company_key_is_404_and_stays_valid(api, company, other_company):
    _mine, raw = api_key_create(company=company)
    theirs, their_raw = api_key_create(company=other_company)
    assert api(raw).get(f"/api/v1/keys/{theirs.prefix}/").status_code == 404
    response = api(raw).post(f"/api/v1/keys/{theirs.prefix}/revoke/", {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not APIKey.objects.get(pk=theirs.pk).revoked
    assert api(their_raw).get("/api/v1/me/").status_code == 200


def test_a_key_revokes_a_sibling_which_is_refused_from_then_on(api, company):
    _admin_key, raw = api_key_create(company=company)
    leaked, leaked_raw = api_key_create(company=company, name="leaked")
    assert api(leaked_raw).get("/api/v1/me/").status_code == 200
    response = api(raw).post(f"/api/v1/keys/{leaked.prefix}/revoke/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["revoked"] is True
    refused = api(leaked_raw).get("/api/v1/me/")
    assert refused.status_code == 401
    assert refused.json()["code"] == "api_key_revoked"
    event = APIKey.pgh_event_model.objects.filter(pgh_obj_id=leaked.pk).last()
    assert event.pgh_label == "update" and event.revoked is True
    assert event.pgh_context.metadata["api_key"] == raw.split(".")[0]


def test_a_partner_key_sees_its_partner_keys(api, company):
    semae, raw = api_key_create(partner="SEMAE")
    api_key_create(partner="TRACES")
    api_key_create(company=company)
    body = api(raw).get("/api/v1/keys/").json()
    assert [item["prefix"] for item in body["results"]] == [semae.prefix]


def test_revoking_keys_needs_the_keys_write_scope(api, company):
    target, _ = api_key_create(company=company)
    _reader, raw = api_key_create(company=company, scopes=["keys:read"])
    assert api(raw).get("/api/v1/keys/").status_code == 200
    response = api(raw).post(f"/api/v1/keys/{target.prefix}/revoke/", {}, format="json")
    assert response.status_code == 403
    assert not APIKey.objects.get(pk=target.pk).revoked


def test_last_use_is_written_once_a_minute_and_not_audited(api, company):
    key, raw = api_key_create(company=company)
    events = APIKey.pgh_event_model.objects.filter(pgh_obj_id=key.pk)
    assert events.count() == 1  # the insert
    client = api(raw)
    client.get("/api/v1/me/")
    first = APIKey.objects.get(pk=key.pk).last_used_at
    assert first is not None
    client.get("/api/v1/me/")
    assert APIKey.objects.get(pk=key.pk).last_used_at == first  # within the minute: no write
    assert events.count() == 1
