"""The ZIP export opened back: layout, hashes, signature; verify_dossier finds one flipped
byte in any file and in the manifest; on both storages."""

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dossier.models import AccessLog
from dossier.signing import verify
from tests.dossier.conftest import XML, pdf_bytes, png_bytes
from tests.dossier.helpers import add
from tests.tracking.conftest import make_consignment

pytestmark = pytest.mark.django_db


def export(api, key, consignment) -> bytes:
    response = api(key).get(f"/api/v1/consignments/{consignment.pk}/dossier.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith("attachment;")
    return b"".join(response.streaming_content)


@pytest.fixture
def dossier_zip(api, company, company_key, dossier_storage, tmp_path) -> tuple[Path, dict]:
    consignment = make_consignment(company, reference="LOT/42")
    v1, v2 = pdf_bytes("v1"), pdf_bytes("v2")
    add(consignment, v1, reference="INV-1")
    add(consignment, v2, reference="INV-1", reason="Corrected")
    add(consignment, png_bytes(), type_="packing_list")
    add(consignment, XML, type_="other", reference="E-CERT")
    content = export(api, company_key, consignment)
    path = tmp_path / "dossier.zip"
    path.write_bytes(content)
    return path, {"v1": v1, "v2": v2, "consignment": consignment}


def test_the_export_holds_every_file_with_its_hash_and_a_valid_signature(dossier_zip):
    path, data = dossier_zip
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        manifest_bytes = archive.read("manifest.json")
        manifest = json.loads(manifest_bytes)
        signature = archive.read("manifest.sig").decode()
        assert signature.endswith("\n") and signature.count("\n") == 1
        assert verify(manifest_bytes, signature)
        assert names[0] == "index.html"
        assert set(names) == {"index.html", "manifest.json", "manifest.sig"} | {
            entry["path"] for entry in manifest["documents"]
        }
        assert len(manifest["documents"]) == 4
        for entry in manifest["documents"]:
            content = archive.read(entry["path"])
            assert hashlib.sha256(content).hexdigest() == entry["sha256"]
            assert len(content) == entry["size"]
            folder = "documents/" if entry["current"] else "versions/"
            assert entry["path"].startswith(folder)
            assert set(entry) == {
                "path",
                "type",
                "reference",
                "version",
                "current",
                "origin",
                "sha256",
                "size",
                "uploaded_at",
                "uploaded_by",
            }
        old = next(e for e in manifest["documents"] if not e["current"])
        assert archive.read(old["path"]) == data["v1"]
        assert manifest["consignment"]["reference"] == "LOT/42"
        index = archive.read("index.html")
        assert hashlib.sha256(index).hexdigest() == manifest["index_sha256"]
        for entry in manifest["documents"]:
            assert entry["path"].encode() in index  # the offline index links every file
    call_command("verify_dossier", str(path), stdout=io.StringIO())


def _data_offset(path: Path, name: str) -> tuple[int, int]:
    """Where a member's stored bytes start in the archive, and how many there are."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    raw = path.read_bytes()
    header = info.header_offset
    name_length = int.from_bytes(raw[header + 26 : header + 28], "little")
    extra_length = int.from_bytes(raw[header + 28 : header + 30], "little")
    return header + 30 + name_length + extra_length, info.compress_size


def test_verify_dossier_finds_one_flipped_byte_in_any_file(dossier_zip, tmp_path):
    path, _data = dossier_zip
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert len(names) == 7
    for name in names:
        start, length = _data_offset(path, name)
        raw = bytearray(path.read_bytes())
        raw[start + length // 2] ^= 0x01
        altered = tmp_path / f"altered-{names.index(name)}.zip"
        altered.write_bytes(bytes(raw))
        errors = io.StringIO()
        with pytest.raises(CommandError):
            call_command("verify_dossier", str(altered), stdout=io.StringIO(), stderr=errors)
        assert name in errors.getvalue(), (name, errors.getvalue())


def _rewrite(path: Path, target: Path, change: dict[str, bytes]) -> None:
    """The archive rewritten properly (valid CRCs) with some members' bytes replaced."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            out.writestr(info, change.get(info.filename, source.read(info.filename)))


def test_verify_dossier_finds_a_document_replaced_with_valid_zip_checksums(dossier_zip, tmp_path):
    path, _data = dossier_zip
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    target = manifest["documents"][0]["path"]
    forged = tmp_path / "forged.zip"
    _rewrite(path, forged, {target: pdf_bytes("forged")})
    errors = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_dossier", str(forged), stdout=io.StringIO(), stderr=errors)
    assert f"{target}: altered (SHA-256" in errors.getvalue()


def test_verify_dossier_finds_an_edited_manifest_and_another_key(dossier_zip, tmp_path, settings):
    path, _data = dossier_zip
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["documents"][0]["sha256"] = "0" * 64
    forged = tmp_path / "forged-manifest.zip"
    _rewrite(path, forged, {"manifest.json": json.dumps(manifest, indent=2).encode()})
    errors = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_dossier", str(forged), stdout=io.StringIO(), stderr=errors)
    assert "manifest.json: the signature" in errors.getvalue()
    # The genuine export, checked against a key that is not the portal's: refused.
    settings.DOSSIER_SIGNING_KEY_FILE = str(tmp_path / "another-key.pem")
    with pytest.raises(CommandError):
        call_command("verify_dossier", str(path), stdout=io.StringIO(), stderr=io.StringIO())


def test_public_key_endpoint_verifies_the_export(
    api, company_key, partner_key, dossier_zip, tmp_path
):
    path, _data = dossier_zip
    body = api(partner_key("SEMAE")).get("/api/v1/dossier/signing-key/").json()
    assert body["algorithm"] == "Ed25519"
    assert body["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")
    pem = tmp_path / "portal.pem"
    pem.write_text(body["public_key_pem"])
    out = io.StringIO()
    call_command("verify_dossier", str(path), "--public-key", str(pem), stdout=out)
    assert out.getvalue().startswith("OK: signature valid, 5 file(s)")


def test_an_export_is_recorded_in_each_document_log(api, company, company_key, dossier_storage):
    consignment = make_consignment(company)
    first = add(consignment, pdf_bytes("a"))
    second = add(consignment, pdf_bytes("b"), type_="transport_document")
    export(api, company_key, consignment)
    for document in (first, second):
        entry = AccessLog.objects.get(document=document)
        assert (entry.action, entry.company_eori, entry.partner) == ("zip", company.eori, "")
    log = api(company_key).get(f"/api/v1/documents/{first.pk}/access-log/").json()
    assert log["results"][0]["action"] == "zip"
    assert log["results"][0]["company_eori"] == company.eori
    assert log["results"][0]["partner"] is None


def test_an_empty_dossier_exports_a_signed_archive(api, company, company_key, tmp_path):
    consignment = make_consignment(company)
    path = tmp_path / "empty.zip"
    path.write_bytes(export(api, company_key, consignment))
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["index.html", "manifest.json", "manifest.sig"]
    call_command("verify_dossier", str(path), stdout=io.StringIO())
