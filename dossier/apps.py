from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DossierConfig(AppConfig):
    name = "dossier"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("Import dossier")

    def ready(self) -> None:
        from dossier.receivers import on_event_recorded
        from sesame.registry import OPERATOR, register_nav
        from tracking.signals import event_recorded

        event_recorded.connect(on_event_recorded, dispatch_uid="dossier.system_documents")
        register_nav(_("Shared with us"), "dossier:shared", OPERATOR, order=15)
