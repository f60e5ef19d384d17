"""A person, in chromium: drops a PDF on the Dossier tab, sees the upload go through and the
checklist turn complete, downloads the signed ZIP, previews the PDF in the page (last: headless
chromium saves a PDF shown in a frame as a download, and then holds back the next download)."""

import io
import tempfile
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dossier import services
from tests.dossier.conftest import pdf_bytes
from tests.dossier.helpers import add, received
from tests.dossier.test_front import Front
from tests.tracking.conftest import make_consignment, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DROP = """
async ([selector, name, base64]) => {
  const bytes = Uint8Array.from(atob(base64), c => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type: "application/pdf" }));
  const zone = document.querySelector(selector);
  zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true }));
  zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
}
"""


@pytest.mark.parametrize("dossier_storage", ["filesystem"], indirect=True)
def test_drop_preview_complete_and_download(page, company, operator, dossier_storage):
    import base64

    front = Front(dossier_storage)
    try:
        consignment = make_consignment(company, categories=["food_non_animal"])
        add(consignment, pdf_bytes("invoice"))
        services.partner_file_add(
            consignment=consignment,
            partner="TRACES",
            received=received(pdf_bytes("ched")),
            type="ched",
        )
        page.context.add_cookies(
            [{"name": "sessionid", "value": session_cookie(operator), "url": front.url}]
        )
        page.goto(f"{front.url}/tracking/{consignment.pk}/")
        page.get_by_test_id("dossier-tab").click()
        checklist = page.get_by_test_id("checklist")
        expect(checklist.locator('[data-type="transport_document"]')).to_have_attribute(
            "data-present", "false"
        )
        expect(page.get_by_test_id("dossier-status")).to_have_attribute("data-complete", "false")
        # A wrong file dropped: a clear refusal, nothing added.
        page.select_option("#id_type", "transport_document")
        page.evaluate(
            DROP, ["[data-testid=drop-zone]", "bl.pdf", base64.b64encode(b"not a pdf").decode()]
        )
        expect(page.get_by_test_id("upload-message")).to_contain_text("n'est pas accepté")
        # The bill of lading dropped on the zone.
        page.evaluate(
            DROP, ["[data-testid=drop-zone]", "bl.pdf", base64.b64encode(pdf_bytes("bl")).decode()]
        )
        expect(page.get_by_test_id("upload-message")).to_contain_text("ajouté (version 1)")
        expect(page.get_by_test_id("dossier-status")).to_have_attribute("data-complete", "true")
        expect(
            page.get_by_test_id("checklist").locator('[data-type="transport_document"]')
        ).to_have_attribute("data-present", "true")
        # The whole dossier as a signed ZIP.
        with page.expect_download() as download:
            page.get_by_test_id("zip-link").click()
        path = Path(tempfile.mkdtemp()) / "dossier.zip"
        download.value.save_as(path)
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        assert "manifest.sig" in names
        assert any(name.startswith("documents/transport_document/") for name in names)
        # Previewed in the page.
        with page.expect_response(lambda r: "/preview/" in r.url) as previewed:
            page.get_by_test_id("documents-transport_document").get_by_test_id(
                "preview-link"
            ).click()
        assert previewed.value.status == 200
        assert previewed.value.headers["content-type"] == "application/pdf"
        expect(page.get_by_test_id("preview")).to_be_visible()
        expect(page.locator(".dossier-preview-frame")).to_be_visible()
        from django.core.management import call_command

        call_command("verify_dossier", str(path), stdout=io.StringIO())
    finally:
        front.stop()
