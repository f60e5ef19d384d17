"""The API docs are served by the portal itself (no CDN): Swagger UI at /api/docs/, ReDoc at
/api/redoc/, both rendering the operations in a real browser under the site's CSP."""

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from tests.pages.browser import Console

pytestmark = pytest.mark.django_db


def test_swagger_ui_loads_its_assets_from_the_portal(client) -> None:
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert "<script>" not in html  # the start script is its own response
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


def test_redoc_loads_its_bundle_from_the_portal(client) -> None:
    page = client.get("/api/redoc/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in html
    assert "https://" not in html and "<script>" not in html
    assert finders.find("drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")
    assert settings.SPECTACULAR_SETTINGS["REDOC_DIST"] == "SIDECAR"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_the_operations(page, live_server) -> None:
    console = Console(page)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock", timeout=20_000)
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/declarations/" in text for text in summaries)
    assert any("/api/v1/me/" in text for text in summaries)
    console.assert_clean()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_redoc_renders_the_operations(page, live_server) -> None:
    console = Console(page)
    page.goto(f"{live_server.url}/api/redoc/")
    page.wait_for_selector("[data-section-id^='operation/']", timeout=20_000)
    assert page.locator("[data-section-id^='operation/']").count() >= 5
    assert "/api/v1/declarations/" in page.inner_text("body")
    console.assert_clean()
