"""Sign-in throttling per account and per network address (allauth's counters in Redis): the
refusal says how long to wait, a colleague behind the same address still signs in, and every
failure is an audit row of the account."""

import itertools
import re
import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.test import Client
from django.urls import reverse

from sesame.models import UserLoginFailure
from tests.factories import AgentFactory, MembershipFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
PASSWORD = "correct-horse-battery"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_addresses = itertools.count(1)


def address() -> str:
    """A network address of this test alone (the counters live in the shared Redis)."""
    n = next(_addresses) + int(time.time() * 1000) % 100_000 * 100
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def sign_in(ip: str, email: str, password: str, **headers: str):
    return Client(REMOTE_ADDR=ip, **headers).post(
        reverse("account_login"), {"login": email, "password": password}
    )


def failures(user) -> list[dict]:
    return [
        event.pgh_context.metadata
        for event in UserLoginFailure.objects.filter(pgh_obj=user)
        .select_related("pgh_context")
        .order_by("pgh_id")
    ]


def wait_minutes(response) -> int:
    text = response.content.decode()
    found = re.search(r"Réessayez dans (\d+) minutes?\.", text)
    assert found, text
    return int(found.group(1))


def test_an_account_is_locked_after_five_failures_and_says_how_long(operator):
    ip = address()
    for _ in range(5):
        response = sign_in(ip, operator.email, "wrong")
        assert response.status_code == 400
        assert "fr-alert--error" in response.content.decode()
    response = sign_in(ip, operator.email, PASSWORD)  # even the right password waits
    assert response.status_code == 429
    assert "Trop de connexions échouées pour ce compte" in response.content.decode()
    assert 1 <= wait_minutes(response) <= 5
    assert 240 < int(response["Retry-After"]) <= 300
    # From another address too: the limit is the account's.
    assert sign_in(address(), operator.email, PASSWORD).status_code == 429


def test_a_colleague_behind_the_same_address_still_signs_in(company, operator):
    colleague = MembershipFactory(company=company).user
    office = address()
    for _ in range(25):  # one person keeps trying long after being locked out
        sign_in(office, operator.email, "wrong")
    response = sign_in(office, colleague.email, PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("dashboard")


@pytest.fixture
def small_address_limit(settings):
    """The address limit of the settings (30 in 15 minutes) made small: fewer slow sign-ins."""
    assert settings.ACCOUNT_RATE_LIMITS["login_failed"] == "5/5m/key,30/15m/ip"
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS}
    settings.ACCOUNT_RATE_LIMITS["login_failed"] = "5/5m/key,8/15m/ip"


def test_an_address_spraying_many_accounts_is_throttled_alone(company, small_address_limit):
    people = [MembershipFactory(company=company).user for _ in range(4)]
    attacker = address()
    for person in people:
        for _ in range(2):  # under each account's limit: 8 failures from one address
            sign_in(attacker, person.email, "wrong")
    response = sign_in(attacker, people[0].email, PASSWORD)
    assert response.status_code == 429
    assert "depuis votre adresse réseau" in response.content.decode()
    assert 1 <= wait_minutes(response) <= 15
    assert 840 < int(response["Retry-After"]) <= 900
    # Elsewhere, the same person signs in: their account is not locked.
    assert sign_in(address(), people[0].email, PASSWORD).status_code == 302


def test_the_address_is_the_one_the_front_adds_to_x_forwarded_for(company, small_address_limit):
    people = [MembershipFactory(company=company).user for _ in range(4)]
    attacker, other = address(), address()
    for person in people:
        for _ in range(2):
            # A forged first entry does not change the address the front saw.
            sign_in("127.0.0.1", person.email, "wrong", HTTP_X_FORWARDED_FOR=f"1.2.3.4, {attacker}")
    blocked = sign_in("127.0.0.1", people[0].email, PASSWORD, HTTP_X_FORWARDED_FOR=attacker)
    assert blocked.status_code == 429
    fine = sign_in("127.0.0.1", people[0].email, PASSWORD, HTTP_X_FORWARDED_FOR=other)
    assert fine.status_code == 302


def test_every_failure_is_an_audit_row_of_the_account(operator):
    ip = address()
    for _ in range(5):
        sign_in(ip, operator.email.upper(), "wrong")
    sign_in(ip, operator.email, "wrong")
    rows = failures(operator)
    assert [row["reason"] for row in rows] == ["password"] * 5 + ["throttled_account"]
    assert {row["ip"] for row in rows} == {ip}
    assert rows[-1]["wait_seconds"] > 0
    assert rows[0]["url"] == reverse("account_login")
    # A success adds nothing.
    before = len(rows)
    assert sign_in(address(), MembershipFactory().user.email, PASSWORD).status_code == 302
    assert len(failures(operator)) == before


def test_a_wrong_authenticator_code_is_audited():
    agent = AgentFactory().user
    TOTP.activate(agent, SECRET)
    client = Client(REMOTE_ADDR=address())
    response = client.post(reverse("account_login"), {"login": agent.email, "password": PASSWORD})
    assert response.url == reverse("mfa_authenticate")
    wrong = (
        "000000"
        if format_hotp_value(hotp_value(SECRET, int(time.time()) // 30)) != "000000"
        else "111111"
    )
    assert client.post(reverse("mfa_authenticate"), {"code": wrong}).status_code == 200
    assert [row["reason"] for row in failures(agent)] == ["second_factor"]


def test_too_many_sign_in_requests_from_one_address_get_a_page_saying_to_wait(settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip"}
    ip = address()
    for _ in range(2):
        sign_in(ip, "nobody@example.org", "wrong")
    response = sign_in(ip, "nobody@example.org", "wrong")
    assert response.status_code == 429
    assert "Attendez une minute" in response.content.decode()
    assert sign_in(address(), "nobody@example.org", "wrong").status_code == 400
