"""What the portal records when allauth says something happened (connected in SesameConfig)."""

from typing import Any

from allauth.account.adapter import get_adapter
from django.http import HttpRequest

from sesame import services


def on_second_factor_failed(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """A wrong authenticator code is a failed sign-in: audited like a wrong password."""
    services.login_failure_record(
        email=user.email,
        ip=get_adapter().get_client_ip(request),
        reason="second_factor",
    )
