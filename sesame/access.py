"""Who may open which page: members of a company, agents with a second factor."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from sesame.selectors import agent_profile_for_user, current_membership, user_has_totp

View = Callable[..., HttpResponse]


def member_required(view: View) -> View:
    """The signed-in user belongs to a company; `request.membership` is set."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        membership = current_membership(request)
        if membership is None:
            raise PermissionDenied
        request.membership = membership  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def agent_required(view: View) -> View:
    """The signed-in user is an agent who has enrolled a second factor; sets `request.agent`."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        agent = agent_profile_for_user(user=request.user)  # type: ignore[arg-type]
        if agent is None:
            raise PermissionDenied
        if not user_has_totp(user=request.user):  # type: ignore[arg-type]
            return redirect("mfa_activate_totp")
        request.agent = agent  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
