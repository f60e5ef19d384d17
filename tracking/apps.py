from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "tracking"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Tracking")

    def ready(self) -> None:
        from sesame.registry import AGENT, OPERATOR, register_nav, register_panel
        from tracking import panels

        register_nav(_("Consignments"), "tracking:list", OPERATOR, AGENT, order=10)
        register_panel(
            "tracking/panel_operator.html", OPERATOR, context=panels.operator_panel, order=10
        )
        register_panel("tracking/panel_agent.html", AGENT, context=panels.agent_panel, order=10)
