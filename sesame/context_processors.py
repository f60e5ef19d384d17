from types import SimpleNamespace
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from sesame.registry import AGENT, HEADER_ITEMS, NAV_ITEMS, OPERATOR

SITE_CONFIG = SimpleNamespace(site_title="Sesame", site_tagline="", mourning=False)


def portal(request: HttpRequest) -> dict[str, Any]:
    """Site settings for the DSFR templates and the menu of the signed-in user's role."""
    context: dict[str, Any] = {"SITE_CONFIG": SITE_CONFIG, "header_items": HEADER_ITEMS}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context

    def nav_items() -> list[dict[str, Any]]:
        from sesame.access import is_agent

        role = AGENT if is_agent(request) else OPERATOR
        items = []
        for item in NAV_ITEMS:
            if role in item.roles:
                url = reverse(item.url_name)
                items.append(
                    {"label": item.label, "url": url, "active": request.path.startswith(url)}
                )
        return items

    context["nav_items"] = nav_items

    def active_membership() -> Any:
        from sesame.selectors import current_membership

        return current_membership(request)

    context["active_membership"] = active_membership

    def company_stream_url() -> str:
        """The live stream of the active company's events, for those who have one (agents and
        people who have not chosen a company yet have none: the header polls instead)."""
        return reverse("tracking_streams:company") if active_membership() else ""

    context["company_stream_url"] = company_stream_url
    return context
