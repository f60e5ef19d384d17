"""The whole journey in a real browser, on the real stack (gunicorn and uvicorn behind nginx):
an operator books a slot from the week view and sees it in "my appointments"; an agent signed
in with TOTP checks it in and completes it; the operator's open consignment page shows the check
without a reload."""

import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from playwright.sync_api import expect

from appointments.models import Appointment
from sesame.models import BorderControlPost
from tests.appointments.conftest import PARIS, calendar, consignment
from tests.factories import AgentFactory
from tests.tracking.conftest import session_cookie
from tests.tracking.test_browser import front  # noqa: F401 (the stack fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_operator_books_agent_completes_timeline_updates_live(front, browser, company, operator):  # noqa: F811
    calendar("SIVEP", hours="mon-sun 00:00-23:30", notice_hours=0, capacity=2)
    lot = consignment(company)
    agent = AgentFactory(service="sivep", post=BorderControlPost.objects.get(code="FRLEH4"))
    TOTP.activate(agent.user, SECRET)

    operator_context = browser.new_context(locale="fr-FR")
    operator_context.add_cookies(
        [{"name": "sessionid", "value": session_cookie(operator), "url": front}]
    )
    page = operator_context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{front}/tracking/{lot.pk}/")
    page.get_by_test_id("book-SIVEP").click()
    page.get_by_test_id("slot").first.click()  # click one: the slot
    page.get_by_test_id("confirm").click()  # click two: confirm
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "booked")
    appointment = Appointment.objects.get(consignment=lot)
    page.goto(f"{front}/appointments/")
    expect(page.get_by_test_id("appointments")).to_contain_text(lot.reference)

    timeline = operator_context.new_page()
    timeline.goto(f"{front}/tracking/{lot.pk}/")
    expect(timeline.get_by_test_id("live-state")).not_to_be_empty()  # the stream is open
    expect(timeline.locator('[data-step="physical_check"]')).to_have_attribute(
        "data-state", "waiting"
    )

    agent_context = browser.new_context(locale="fr-FR")
    desk = agent_context.new_page()
    desk.set_default_timeout(15_000)
    desk.goto(f"{front}/accounts/login/")
    desk.fill("input[name=login]", agent.user.email)
    desk.fill("input[name=password]", PASSWORD)
    desk.click("main form button[type=submit]")
    desk.wait_for_url("**/accounts/2fa/authenticate/")
    desk.fill("input[name=code]", format_hotp_value(hotp_value(SECRET, int(time.time()) // 30)))
    desk.click("main form button[type=submit]")
    desk.wait_for_url(f"{front}/dashboard/")
    day = appointment.start.astimezone(PARIS).date().isoformat()
    desk.goto(f"{front}/appointments/agenda/?date={day}")
    row = desk.locator(f'[data-appointment="{appointment.pk}"]')
    row.get_by_test_id("check-in").click()
    row = desk.locator(f'[data-appointment="{appointment.pk}"]')
    expect(row.get_by_test_id("status")).to_have_attribute("data-status", "checked_in")
    row.locator(f"#check-{appointment.pk}-physical").check(force=True)
    row.locator(f"#result-{appointment.pk}-compliant").check(force=True)
    row.get_by_test_id("complete").click()
    expect(
        desk.locator(f'[data-appointment="{appointment.pk}"]').get_by_test_id("status")
    ).to_have_attribute("data-status", "completed")

    expect(timeline.locator('[data-step="physical_check"]')).to_have_attribute(
        "data-state", "done", timeout=5000
    )
    expect(timeline.get_by_test_id("events")).to_contain_text("Contrôle physique", timeout=5000)
    operator_context.close()
    agent_context.close()
