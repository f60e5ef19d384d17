"""Agents reach no page before they have enrolled a second factor (TOTP)."""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from sesame.access import agent_without_second_factor, is_agent

EXEMPT_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/api/", "/health/", "/streams/")
SESSION_FLAG = "agent_mfa_ok"


class AgentSecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not request.session.get(SESSION_FLAG)
            and is_agent(request)
        ):
            if agent_without_second_factor(request):
                messages.warning(
                    request,
                    _("As an agent you must set up a second factor (authenticator app) first."),
                )
                return redirect("mfa_activate_totp")
            request.session[SESSION_FLAG] = True
        return self.get_response(request)
