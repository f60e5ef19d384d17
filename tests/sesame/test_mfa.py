"""Agents must enrol and use a second factor before any agent page; logins are rate-limited."""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.urls import reverse

from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = "correct-horse-battery"


def current_code(secret: str = SECRET) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_agent_without_second_factor_is_sent_to_enrolment_from_every_page(client):
    agent = AgentFactory()
    client.post(reverse("account_login"), {"login": agent.user.email, "password": PASSWORD})
    for name in ("dashboard", "profile", "members"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url == reverse("mfa_activate_totp")
    # Enrolment asks for the password again (allauth's reauthentication), then shows the form.
    assert client.get(reverse("mfa_activate_totp")).url.startswith(
        reverse("account_reauthenticate")
    )
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


def test_agent_with_totp_must_give_the_code_at_login(client):
    agent = AgentFactory()
    TOTP.activate(agent.user, SECRET)
    response = client.post(
        reverse("account_login"), {"login": agent.user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    assert client.get(reverse("dashboard")).status_code == 302  # not signed in yet
    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert response.status_code == 200  # wrong code: the form again
    response = client.post(reverse("mfa_authenticate"), {"code": current_code()})
    assert response.status_code == 302
    page = client.get(reverse("dashboard"))
    assert page.status_code == 200
    assert agent.post.name in page.content.decode()


def test_agent_enrols_totp_then_reaches_the_dashboard(client):
    agent = AgentFactory()
    client.post(reverse("account_login"), {"login": agent.user.email, "password": PASSWORD})
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    secret = client.session["mfa.totp.secret"]
    response = client.post(reverse("mfa_activate_totp"), {"code": current_code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=agent.user, type="totp").exists()
    assert client.get(reverse("dashboard")).status_code == 200


def test_operator_needs_no_second_factor(client, operator):
    response = client.post(
        reverse("account_login"), {"login": operator.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


def test_repeated_failed_logins_are_rate_limited(client, operator):
    statuses = [
        client.post(
            reverse("account_login"), {"login": operator.email, "password": "wrong"}
        ).status_code
        for _ in range(7)
    ]
    assert statuses == [400] * 5 + [429] * 2
    # The right password is refused while the account is locked out.
    response = client.post(
        reverse("account_login"), {"login": operator.email, "password": PASSWORD}
    )
    assert response.status_code == 429
