from django.apps import AppConfig


class DossierConfig(AppConfig):
    name = "dossier"
    default_auto_field = "django.db.models.BigAutoField"
