"""Who may open which page: members of a company, and agents of a post with a second factor.

Each rule is written once, here; every page, action, stream and selector goes through it.

Members of a company
    `@member_required` (view decorator) sets `request.membership`: the company the person chose
    as active (`sesame.selectors.current_membership`). A person in several companies who has
    not chosen yet is sent to the company chooser; nobody works for a company by default.

Agents of a border control post, with a second factor (TOTP)
    An agent sees and acts on the objects of their own post only; an object of another post,
    and an object of no post, is 404 (never 403: its existence is not revealed). Which to use:

    - a view only agents open: `@agent_required`. It sets `request.agent` (an `AgentProfile`
      with `.post`), sends an agent who has not enrolled a second factor to enrolment, and
      refuses anyone else (403).
    - a view open to several roles: `request_agent(request)` returns the agent (with a second
      factor) or None for anyone who is not an agent.
    - reaching objects, in a selector or a view: `of_post(queryset, post=agent.post)` keeps the
      post's objects *in the query* (a list, or `get_object_or_404(of_post(...), pk=pk)`);
      `post_object_or_404(obj, post=agent.post)` checks an object already read.
    - code without a request (live streams, tasks): `agent_of_post(user=..., post_id=...)`.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Model, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from sesame.models import AgentProfile, BorderControlPost, User
from sesame.selectors import current_membership, memberships_for_user

View = Callable[..., HttpResponse]
M = TypeVar("M", bound=Model)
T = TypeVar("T")


# --- members of a company --------------------------------------------------------------------


def member_required(view: View) -> View:
    """The signed-in user works for a company they chose; `request.membership` is set.

    No membership: 403. Several memberships and none chosen in this session: the company
    chooser, which comes back here once a company is chosen."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        membership = current_membership(request)
        if membership is None:
            if memberships_for_user(user=request.user).exists():  # type: ignore[arg-type]
                return redirect_to_chooser(request)
            raise PermissionDenied
        request.membership = membership  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def redirect_to_chooser(request: HttpRequest) -> HttpResponse:
    """To the company chooser, which brings a GET request back where it was going."""
    url = reverse("company-switch")
    if request.method != "GET":
        return redirect(url)
    return redirect(f"{url}?{urlencode({'next': request.get_full_path()})}")


# --- agents of a post, with a second factor ----------------------------------------------------


def _agent(user: Any) -> AgentProfile | None:
    """The user's agent profile (post selected, `has_totp` annotated), in one query."""
    if user is None or not user.is_authenticated:
        return None
    from allauth.mfa.models import Authenticator

    totp = Authenticator.objects.filter(user=OuterRef("user"), type=Authenticator.Type.TOTP)
    return (
        AgentProfile.objects.select_related("post")
        .annotate(has_totp=Exists(totp))
        .filter(user=user)
        .first()
    )


def _agent_cached(request: HttpRequest) -> AgentProfile | None:
    """`_agent` once per request."""
    if not hasattr(request, "_sesame_agent"):
        request._sesame_agent = _agent(getattr(request, "user", None))  # type: ignore[attr-defined]
    return request._sesame_agent  # type: ignore[attr-defined]


def is_agent(request: HttpRequest) -> bool:
    """The signed-in user is an agent (whether or not they have enrolled a second factor)."""
    return _agent_cached(request) is not None


def agent_without_second_factor(request: HttpRequest) -> bool:
    """The signed-in user is an agent who has not enrolled a second factor yet."""
    agent = _agent_cached(request)
    return agent is not None and not agent.has_totp  # type: ignore[attr-defined]


def request_agent(request: HttpRequest) -> AgentProfile | None:
    """The signed-in agent, with `.post`, for a view open to several roles; None for anyone who
    is not an agent. An agent without a second factor is refused (403): the middleware sends
    them to enrolment before any page, so only a request that bypassed it gets here."""
    agent = _agent_cached(request)
    if agent is None:
        return None
    if not agent.has_totp:  # type: ignore[attr-defined]
        raise PermissionDenied
    request.agent = agent  # type: ignore[attr-defined]
    return agent


def agent_required(view: View) -> View:
    """Only agents with a second factor; sets `request.agent` (with `.post`). An agent without
    a second factor is sent to enrolment; anyone else is refused (403)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        agent = _agent_cached(request)
        if agent is None:
            raise PermissionDenied
        if not agent.has_totp:  # type: ignore[attr-defined]
            return redirect("mfa_activate_totp")
        request.agent = agent  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def of_post(
    queryset: QuerySet[M], *, post: BorderControlPost | None, field: str = "post"
) -> QuerySet[M]:
    """The objects of `queryset` attached to `post` (through `field`); none at all for no post,
    so an object of no post is never an agent's."""
    if post is None or post.pk is None:
        return queryset.none()
    return queryset.filter(**{field: post})


def post_object_or_404(
    obj: T | None, *, post: BorderControlPost | None, field: str = "post_id"
) -> T:
    """`obj` when it belongs to `post`; Http404 when it is absent, of another post or of none."""
    if obj is None or post is None or getattr(obj, field, None) is None:
        raise Http404
    if getattr(obj, field) != post.pk:
        raise Http404
    return obj


def agent_of_post(*, user: User, post_id: int | None) -> bool:
    """`user` is an agent of the post `post_id` with a second factor (False for no post)."""
    if post_id is None:
        return False
    agent = _agent(user)
    return agent is not None and agent.has_totp and agent.post_id == post_id  # type: ignore[attr-defined]
