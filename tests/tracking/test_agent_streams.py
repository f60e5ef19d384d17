"""Agents' pages open only streams agents may follow: no company stream (agents belong to no
company: it answered 404 on every agent page), the consignment stream of their post's
consignments. Members keep the company stream that refreshes their unread badge."""

import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.test import Client
from django.urls import reverse

from tests.factories import AgentFactory, CompanyFactory, MembershipFactory
from tests.tracking.conftest import make_consignment, post

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = "correct-horse-battery"


@pytest.mark.django_db
def test_the_header_gives_the_company_stream_to_members_only():
    agent = AgentFactory(post=post("FRLEH4")).user
    TOTP.activate(agent, SECRET)
    member = MembershipFactory().user
    for user, expected in (
        (agent, 'data-stream-url=""'),
        (member, 'data-stream-url="/streams/company/"'),
    ):
        client = Client()
        client.force_login(user)
        assert expected in client.get(reverse("dashboard")).content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agent_pages_request_no_stream_they_may_not_follow(page, live_server):
    consignment = make_consignment(CompanyFactory(), post=post("FRLEH4"))
    agent = AgentFactory(post=post("FRLEH4")).user
    TOTP.activate(agent, SECRET)
    streams: list[str] = []
    page.on(
        "request",
        lambda request: streams.append(request.url) if "/streams/" in request.url else None,
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", agent.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill("input[name=code]", format_hotp_value(hotp_value(SECRET, int(time.time()) // 30)))
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/")
    for path in ("/dashboard/", "/tracking/", "/gun/controls/", f"/tracking/{consignment.pk}/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    assert not [url for url in streams if "/streams/company/" in url]
    assert [url for url in streams if f"/streams/consignments/{consignment.pk}/" in url]
