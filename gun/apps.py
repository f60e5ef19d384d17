from typing import Any

from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


def _recent_declarations(request: HttpRequest) -> dict[str, Any]:
    from gun.selectors import declarations_for_company

    company = request.membership.company  # type: ignore[attr-defined]
    return {"gun_declarations": list(declarations_for_company(company=company)[:5])}


def _open_controls(request: HttpRequest) -> dict[str, Any]:
    from gun.selectors import open_controls_count

    return {"gun_open_controls": open_controls_count(post_id=request.agent.post_id)}  # type: ignore[attr-defined]


class GunConfig(AppConfig):
    name = "gun"
    verbose_name = "GUN"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sesame.registry import AGENT, OPERATOR, register_nav, register_panel

        register_nav(_("Declarations"), "gun:declarations", OPERATOR, order=20)
        register_nav(_("Partner documents"), "gun:partner-documents", OPERATOR, order=21)
        register_nav(_("Mandates"), "gun:mandates", OPERATOR, order=22)
        register_nav(_("GUN controls"), "gun:review-queue", AGENT, order=20)
        register_nav(_("Partner links"), "gun:partner-links", OPERATOR, AGENT, order=80)
        register_panel(
            "gun/panel_recent_declarations.html", OPERATOR, context=_recent_declarations, order=20
        )
        register_panel("gun/panel_open_controls.html", AGENT, context=_open_controls, order=20)
