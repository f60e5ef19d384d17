from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from appointments.signals import appointment_changed
        from notifications.receivers import on_appointment_changed, on_event_recorded
        from sesame.registry import AGENT, OPERATOR, register_header_item, register_nav
        from tracking.signals import event_recorded

        event_recorded.connect(on_event_recorded, dispatch_uid="notifications.outbox")
        appointment_changed.connect(on_appointment_changed, dispatch_uid="notifications.notices")
        register_header_item("notifications/_header_item.html")
        register_nav(_("Notifications"), "notifications:inbox", OPERATOR, AGENT, order=80)
