from typing import Any

from django.apps import AppConfig
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


def _coming(request: HttpRequest) -> dict[str, Any]:
    from django.utils import timezone

    from appointments.selectors import appointments_for_company

    company = request.membership.company  # type: ignore[attr-defined]
    coming = appointments_for_company(company=company).filter(
        status__in=["booked", "checked_in"], end__gte=timezone.now()
    )
    return {"appointments": list(coming[:5])}


def _today(request: HttpRequest) -> dict[str, Any]:
    from django.utils import timezone

    from appointments.selectors import agenda

    post = request.agent.post  # type: ignore[attr-defined]
    return {"appointments": list(agenda(post=post, day=timezone.localdate())), "post": post}


class AppointmentsConfig(AppConfig):
    name = "appointments"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Appointments")

    def ready(self) -> None:
        from sesame.registry import AGENT, OPERATOR, register_nav, register_panel

        register_nav(_("Appointments"), "appointments:list", OPERATOR, order=15)
        register_nav(_("Agenda"), "appointments:agenda", AGENT, order=15)
        register_panel("appointments/panel_operator.html", OPERATOR, context=_coming, order=15)
        register_panel("appointments/panel_agent.html", AGENT, context=_today, order=15)
