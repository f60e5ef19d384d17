"""An agent reviews a 73000 declaration in a real browser: login with TOTP, queue, decision,
release (Playwright driving Debian's chromium)."""

import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value

from tests.factories import AgentFactory
from tests.gun.test_pages_review import controlled_declaration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_agent_justifies_and_releases_a_controlled_declaration(
    page, live_server, api, company, company_key, partner_key
) -> None:
    declaration = controlled_declaration(api, company, company_key, partner_key)
    agent = AgentFactory()  # Le Havre, the declaration's post
    TOTP.activate(agent.user, SECRET)

    page.goto(f"{live_server.url}/")
    page.fill("input[name=login]", agent.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill("input[name=code]", format_hotp_value(hotp_value(SECRET, int(time.time()) // 30)))
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/")

    page.click("nav.fr-nav a[href='/gun/controls/']")
    page.wait_for_url("**/gun/controls/")
    row = page.locator("[data-testid=queue-row]", has_text=declaration.mrn)
    row.locator("a").first.click()
    page.wait_for_url(f"**/gun/controls/{declaration.pk}/")
    assert "Produits déclarés non conformes au document" in page.inner_text("main")

    page.check("input[name=decision][value=justified]", force=True)
    page.fill("textarea[name=comment]", "Changement de nomenclature, marchandise conforme.")
    page.click("[data-testid=decide]")
    page.wait_for_selector("[data-testid=release]")
    page.click("[data-testid=release]")
    # The question replaces the button in place (HTMX); nothing is released before it.
    question = page.wait_for_selector("[data-testid=confirm-question]")
    assert declaration.mrn in question.inner_text()
    declaration.refresh_from_db()
    assert declaration.status == "validated"
    page.click("[data-testid=confirm]")
    page.wait_for_selector("[data-testid=status][data-status=released]")

    declaration.refresh_from_db()
    assert declaration.status == "released"
    assert declaration.control_status == "justified"
