"""Every agent `make run` prints (demo_data) signs in with the printed password and TOTP secret,
also when the demo database held another secret or none for one of them."""

import re
import time
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from sesame.management.commands.demo_data import PASSWORD
from sesame.models import User

pytestmark = pytest.mark.django_db
AGENT = re.compile(r"agent\s+(\S+)\s+(.+?)\n\s+TOTP secret (\S+)")


def printed_agents() -> list[tuple[str, str, str]]:
    out = StringIO()
    call_command("demo_data", stdout=out, stderr=StringIO())
    return [(email, post.strip(), secret) for email, post, secret in AGENT.findall(out.getvalue())]


def signs_in(email: str, secret: str) -> str:
    client = Client()
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response.status_code == 302, email
    assert response.url == reverse("mfa_authenticate"), email
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302, email
    page = client.get(reverse("dashboard"))
    assert page.status_code == 200, email
    return page.content.decode()


def test_every_printed_agent_signs_in_with_the_printed_secret() -> None:
    call_command("demo_data", "--quiet", stdout=StringIO(), stderr=StringIO())
    marseille = User.objects.get(email="agent.marseille@dgccrf.example")
    havre = User.objects.get(email="agent.lehavre@douane.example")
    # The demo database drifted: one agent lost their authenticator, another enrolled anew.
    Authenticator.objects.filter(user=marseille).delete()
    Authenticator.objects.filter(user=havre).delete()
    TOTP.activate(havre, "ORSXG5DJNZTWC4TBNZSG63THMVZXIZLD")
    agents = printed_agents()
    assert [email for email, _, _ in agents] == [
        "agent.lehavre@douane.example",
        "agent.dunkerque@sivep.example",
        "agent.marseille@dgccrf.example",
    ]
    for email, post, secret in agents:
        assert post in signs_in(email, secret)
        assert Authenticator.objects.filter(user__email=email, type="totp").count() == 1
