from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SesameConfig(AppConfig):
    name = "sesame"
    verbose_name = _("Companies and people")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sesame import prepared  # noqa: F401  (forgets prepared statements on reconnection)
        from sesame.api import schema  # noqa: F401  (registers the OpenAPI security scheme)
