"""Agents act only on their own post's declarations (sesame.access): another post's declaration
and a declaration of no post are 404 on every agent page and action, and nothing changes."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.urls import reverse

from gun.models import Control, Declaration, LedgerEntry
from sesame.models import BorderControlPost
from tests.factories import AgentFactory
from tests.gun.test_pages import make_declaration

pytestmark = pytest.mark.django_db
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def agent_client(post_code: str) -> Client:
    post = BorderControlPost.objects.get(code=post_code)
    user = AgentFactory(post=post).user
    TOTP.activate(user, TOTP_SECRET)
    client = Client()
    client.force_login(user)
    return client


def state(declaration: Declaration) -> tuple:
    declaration.refresh_from_db()
    return (
        declaration.status,
        declaration.control_status,
        sorted(Control.objects.filter(declaration=declaration).values_list("decision", flat=True)),
        LedgerEntry.objects.filter(declaration=declaration).count(),
    )


def justified(company, post_code: str | None) -> Declaration:
    """A declaration an agent could release at once: its control is justified."""
    return make_declaration(company, control="justified", post_code=post_code)


@pytest.mark.parametrize("post_code", ["FRDKK4", None], ids=["another-post", "no-post"])
def test_agent_cannot_open_decide_or_release_outside_their_post(company, post_code):
    havre = agent_client("FRLEH4")
    open_control = make_declaration(company, post_code=post_code)
    releasable = justified(company, post_code)
    before = (state(open_control), state(releasable))

    assert havre.get(reverse("gun:review-detail", args=[open_control.pk])).status_code == 404
    response = havre.post(
        reverse("gun:review-decide", args=[open_control.pk]),
        {"decision": "justified", "comment": "not mine"},
    )
    assert response.status_code == 404
    response = havre.post(reverse("gun:review-release", args=[releasable.pk]), {"confirmed": "yes"})
    assert response.status_code == 404

    assert (state(open_control), state(releasable)) == before
    assert releasable.status == "validated"


def test_agent_of_the_post_decides_and_releases(company):
    dunkerque = agent_client("FRDKK4")
    declaration = make_declaration(company, post_code="FRDKK4")
    assert dunkerque.get(reverse("gun:review-detail", args=[declaration.pk])).status_code == 200
    response = dunkerque.post(
        reverse("gun:review-decide", args=[declaration.pk]),
        {"decision": "justified", "comment": ""},
    )
    assert response.status_code == 302
    assert state(declaration)[:2] == ("validated", "justified")


def test_queue_shows_only_the_agents_post_whatever_the_query(company):
    havre = agent_client("FRLEH4")
    here = make_declaration(company, post_code="FRLEH4")
    make_declaration(company, post_code="FRDKK4")
    make_declaration(company, post_code=None)
    for query in ({}, {"post": "FRDKK4"}, {"post": ""}, {"status": "all"}):
        response = havre.get(reverse("gun:review-queue"), query)
        assert response.status_code == 200
        assert [d.pk for d in response.context["page"]] == [here.pk], query


def test_dashboard_counts_only_the_agents_post(company):
    havre = agent_client("FRLEH4")
    make_declaration(company, post_code="FRLEH4")
    make_declaration(company, post_code="FRDKK4")
    make_declaration(company, post_code=None)
    response = havre.get(reverse("dashboard"))
    assert response.status_code == 200
    panels = "".join(response.context["panels"])
    assert f'href="{reverse("gun:review-queue")}">1 ' in panels


def test_a_user_who_is_not_an_agent_gets_no_agent_page(company, operator):
    declaration = make_declaration(company)
    client = Client()
    client.force_login(operator)
    assert client.get(reverse("gun:review-queue")).status_code == 403
    assert client.get(reverse("gun:review-detail", args=[declaration.pk])).status_code == 403
    response = client.post(reverse("gun:review-release", args=[declaration.pk]))
    assert response.status_code == 403
    assert state(declaration)[0] == "validated"
