"""An operator rectifies a declaration in a real browser (Playwright driving Debian's chromium),
on a phone-sized screen: the GUN's rejection is shown beside the field it concerns."""

import pytest

from gun.models import ItemDocument
from tests.factories import MembershipFactory
from tests.gun.test_pages_declaration import validated

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"


def test_operator_rectifies_and_sees_the_message_beside_the_quantity(
    browser, live_server, company
) -> None:
    declaration, _ = validated(company, quantity="100", available="1000")
    operator = MembershipFactory(company=company).user
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=login]", operator.email)
        page.fill("input[name=password]", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/dashboard/")

        page.goto(f"{live_server.url}/gun/declarations/{declaration.pk}/")
        page.click("[data-testid=rectify]")
        page.wait_for_url(f"**/gun/declarations/{declaration.pk}/rectify/")
        page.fill("#id_item-0-doc-0-quantity", "5000")
        page.fill("#id_item-0-net_mass_kg", "5000")
        page.click("[data-testid=rectify-submit]")

        page.wait_for_selector("[data-testid=rectification-rejected]")
        beside = page.locator("[data-field='item-0-doc-0-quantity'] [data-code=F033]")
        assert beside.is_visible()
        assert "Quantité trop importante" in beside.inner_text()
        # The message is read with the field (aria-describedby), and the page fits the screen.
        described = page.get_attribute("#id_item-0-doc-0-quantity", "aria-describedby")
        assert described == "id_item-0-doc-0-quantity-messages"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.input_value("#id_item-0-doc-0-quantity") == "5000"
    finally:
        context.close()
    assert str(ItemDocument.objects.get(item__declaration=declaration).imputation_quantity) == (
        "100.000"
    )
