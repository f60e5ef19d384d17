from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from appointments.signals import appointment_changed
        from dossier.signals import document_added, dossier_completed
        from notifications.receivers import (
            on_appointment_changed,
            on_document_added,
            on_dossier_completed,
            on_event_recorded,
        )
        from sesame.registry import AGENT, OPERATOR, register_header_item, register_nav
        from tracking.signals import event_recorded

        event_recorded.connect(on_event_recorded, dispatch_uid="notifications.outbox")
        appointment_changed.connect(on_appointment_changed, dispatch_uid="notifications.notices")
        document_added.connect(on_document_added, dispatch_uid="notifications.dossier_document")
        dossier_completed.connect(on_dossier_completed, dispatch_uid="notifications.dossier_done")
        self._connect_feed()
        register_header_item("notifications/_header_item.html")
        register_nav(_("Notifications"), "notifications:inbox", OPERATOR, AGENT, order=80)

    def _connect_feed(self) -> None:
        """The change feed listens to each source that exists in this build."""
        from importlib import import_module
        from importlib.util import find_spec

        from notifications.receivers import FEED_SOURCES

        for module, name, receiver in FEED_SOURCES:
            if find_spec(module.split(".")[0]) is None or find_spec(module) is None:
                continue
            signal = getattr(import_module(module), name)
            signal.connect(receiver, dispatch_uid=f"notifications.feed.{module}.{name}")
