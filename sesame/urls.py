from importlib import import_module
from importlib.util import find_spec

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from sesame import errors, key_pages, views
from sesame.api.errors import api_not_found

APPS = ["gun", "tracking", "appointments", "dossier", "notifications"]

# The API docs' bundles (served by the portal, drf-spectacular-sidecar) write <style> elements and
# ReDoc searches in a worker started from a blob: URL; their scripts stay static files.
_docs_csp = csp_update({"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("company/members/", views.members, name="members"),
    path("company/members/<int:pk>/remove/", views.member_remove, name="member-remove"),
    path("company/switch/", views.company_switch, name="company-switch"),
    path(
        "company/invitations/<int:pk>/resend/",
        views.invitation_resend,
        name="invitation-resend",
    ),
    path(
        "company/invitations/<int:pk>/cancel/",
        views.invitation_cancel,
        name="invitation-cancel",
    ),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    # allauth's sign-in with precise statuses for a refused sign-in (sesame.views.LoginView).
    path("accounts/login/", views.LoginView.as_view(), name="account_login"),
    path("company/api-keys/", key_pages.api_keys, name="company-api-keys"),
    path(
        "company/api-keys/<str:prefix>/revoke/",
        key_pages.api_key_revoke,
        name="company-api-key-revoke",
    ),
    path("profile/", views.profile, name="profile"),
    path("health/", views.health, name="health"),
    # Browsers ask for /favicon.ico whatever the page declares.
    path("favicon.ico", views.favicon),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        _docs_csp(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="swagger-ui",
    ),
    path("api/redoc/", _docs_csp(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    path("api/v1/", include("sesame.api.urls")),
    re_path(r"^api/", api_not_found),
]
# Each app's pages under /<app>/ and its live streams under /streams/ (routed to the ASGI server).
for app in APPS:
    if find_spec(f"{app}.urls"):
        urlpatterns.insert(-1, path(f"{app}/", include(import_module(f"{app}.urls"))))
    if find_spec(f"{app}.stream_urls"):
        urlpatterns.insert(-1, path("streams/", include(import_module(f"{app}.stream_urls"))))

# The portal's error pages (sesame.errors), whatever DEBUG says.
handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = errors.server_error
