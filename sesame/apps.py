from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SesameConfig(AppConfig):
    name = "sesame"
    verbose_name = _("Companies and people")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from allauth.mfa.signals import authentication_failed

        from sesame import prepared  # noqa: F401  (forgets prepared statements on reconnection)
        from sesame.api import schema  # noqa: F401  (registers the OpenAPI security scheme)
        from sesame.receivers import on_second_factor_failed

        authentication_failed.connect(on_second_factor_failed, dispatch_uid="sesame.mfa_failed")
