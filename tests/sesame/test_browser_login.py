"""Login per role in a real browser (Playwright driving Debian's chromium)."""

import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value

from tests.factories import AgentFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")


def test_operator_signs_in_and_sees_their_company(page, live_server) -> None:
    membership = MembershipFactory(role="admin")
    sign_in(page, live_server.url, membership.user.email)
    page.wait_for_url(f"{live_server.url}/dashboard/")
    assert membership.company.name in page.inner_text("[data-testid=company-name]")
    assert page.locator("html").get_attribute("lang") == "fr"


def test_agent_signs_in_with_the_second_factor_and_sees_their_post(page, live_server) -> None:
    agent = AgentFactory()
    TOTP.activate(agent.user, SECRET)
    sign_in(page, live_server.url, agent.user.email)
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill("input[name=code]", format_hotp_value(hotp_value(SECRET, int(time.time()) // 30)))
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/")
    assert agent.post.name in page.inner_text("[data-testid=agent-post]")


def test_agent_without_second_factor_lands_on_enrolment(page, live_server) -> None:
    agent = AgentFactory()
    sign_in(page, live_server.url, agent.user.email)
    page.wait_for_url("**/accounts/**")
    assert "/dashboard/" not in page.url


def test_wrong_password_shows_an_error_and_stays_signed_out(page, live_server) -> None:
    membership = MembershipFactory()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", membership.user.email)
    page.fill("input[name=password]", "not-the-password")
    page.click("main form button[type=submit]")
    alert = page.wait_for_selector(".fr-alert--error")
    assert "/accounts/login/" in page.url
    assert alert.inner_text().strip()


def test_language_switch_to_english(page, live_server) -> None:
    membership = MembershipFactory()
    sign_in(page, live_server.url, membership.user.email)
    page.wait_for_url(f"{live_server.url}/dashboard/")
    assert "Tableau de bord" in page.inner_text("h1")
    page.click("[data-testid=lang-switch]")
    page.wait_for_load_state()
    assert page.inner_text("h1") == "Dashboard"
    assert page.locator("html").get_attribute("lang") == "en"
