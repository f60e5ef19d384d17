"""Agents follow only their own post's consignments (sesame.access): pages, fragments, export
and live streams of another post's consignment, or of one with no post, are 404 / left out."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.urls import reverse

from sesame.access import agent_of_post, of_post
from tests.factories import AgentFactory, CompanyFactory, UserFactory
from tests.tracking.conftest import SSE, make_consignment, post, session_cookie
from tracking.models import Consignment

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def agent(code: str, *, totp: bool = True):
    user = AgentFactory(post=post(code)).user
    if totp:
        TOTP.activate(user, SECRET)
    return user


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["FRDKK4", None], ids=["another-post", "no-post"])
def test_agent_pages_of_a_consignment_outside_their_post_are_404(where):
    company = CompanyFactory()
    outside = make_consignment(company, post=post(where) if where else None, port="FRDKK")
    mine = make_consignment(company, post=post("FRLEH4"))
    client = signed_in(agent("FRLEH4"))
    assert client.get(reverse("tracking:detail", args=[outside.pk])).status_code == 404
    assert client.get(reverse("tracking:timeline", args=[outside.pk])).status_code == 404
    assert client.get(reverse("tracking:detail", args=[mine.pk])).status_code == 200
    listed = client.get(reverse("tracking:list"))
    assert [c.pk for c in listed.context["page"].object_list] == [mine.pk]
    export = b"".join(client.get(reverse("tracking:export")).streaming_content).decode()
    assert mine.reference in export
    assert outside.reference not in export


@pytest.mark.django_db
def test_the_rule_gives_no_object_for_no_post_and_refuses_an_agent_without_second_factor():
    company = CompanyFactory()
    make_consignment(company, post=None)
    make_consignment(company, post=post("FRLEH4"))
    assert not of_post(Consignment.objects.all(), post=None).exists()
    assert of_post(Consignment.objects.all(), post=post("FRLEH4")).count() == 1
    with_totp, without = agent("FRLEH4"), agent("FRLEH4", totp=False)
    havre = post("FRLEH4").pk
    assert agent_of_post(user=with_totp, post_id=havre)
    assert not agent_of_post(user=with_totp, post_id=None)
    assert not agent_of_post(user=with_totp, post_id=post("FRDKK4").pk)
    assert not agent_of_post(user=without, post_id=havre)
    assert not agent_of_post(user=UserFactory(), post_id=havre)


@pytest.mark.django_db
def test_an_agent_profile_needs_a_post_in_the_database():
    from django.db import IntegrityError, transaction

    from sesame.models import AgentProfile

    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        AgentProfile.objects.create(user=user, service="customs", post=None)


@pytest.mark.django_db(transaction=True)
def test_streams_of_a_consignment_outside_the_post_are_404(uvicorn_server):
    company = CompanyFactory()
    elsewhere = make_consignment(company, post=post("FRDKK4"), port="FRDKK")
    nowhere = make_consignment(company, post=None)
    here = make_consignment(company, post=post("FRLEH4"))
    havre = session_cookie(agent("FRLEH4"))
    no_factor = session_cookie(agent("FRLEH4", totp=False))
    for consignment in (elsewhere, nowhere):
        path = f"/streams/consignments/{consignment.pk}/"
        assert SSE(uvicorn_server.url, path, havre).status == 404
    path = f"/streams/consignments/{here.pk}/"
    assert SSE(uvicorn_server.url, path, no_factor).status == 404
    stream = SSE(uvicorn_server.url, path, havre)
    assert stream.status == 200
    stream.close()
