from django.apps import AppConfig


class GunConfig(AppConfig):
    name = "gun"
    verbose_name = "GUN"
    default_auto_field = "django.db.models.BigAutoField"
