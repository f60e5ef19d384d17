"""Dashboard panels (registered in TrackingConfig.ready)."""

from typing import Any

from django.http import HttpRequest

from tracking import selectors


def operator_panel(request: HttpRequest) -> dict[str, Any]:
    company = request.membership.company  # type: ignore[attr-defined]
    return {
        "consignments": selectors.consignments_for_company(company=company).order_by("-updated_at")[
            :5
        ]
    }


def agent_panel(request: HttpRequest) -> dict[str, Any]:
    post = request.agent.post  # type: ignore[attr-defined]
    return {"consignments": selectors.consignments_for_post(post=post)[:10], "post": post}
