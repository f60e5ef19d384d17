"""`/api/v1/`: the shared endpoints, then each app's `api/urls.py` when it has one."""

from importlib import import_module
from importlib.util import find_spec

from django.urls import URLPattern, URLResolver, include, path

from sesame.api import keys, views

APPS = ["gun", "tracking", "appointments", "dossier", "notifications"]

urlpatterns: list[URLPattern | URLResolver] = [path("me/", views.me, name="api-me")]
urlpatterns += [
    path("keys/", keys.KeyList.as_view(), name="api-keys"),
    path("keys/<str:prefix>/", keys.KeyDetail.as_view(), name="api-key"),
    path("keys/<str:prefix>/revoke/", keys.KeyRevoke.as_view(), name="api-key-revoke"),
]
for app in APPS:
    if find_spec(f"{app}.api") and find_spec(f"{app}.api.urls"):
        urlpatterns.append(path("", include(import_module(f"{app}.api.urls"))))
