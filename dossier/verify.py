"""Offline check of a dossier export: the signature of manifest.json, then every file's
SHA-256 and size against the manifest; says what, if anything, was altered."""

import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dossier.export import INDEX, MANIFEST, OWN_FILES, SIGNATURE
from dossier.signing import verify


@dataclass
class Report:
    files_checked: int = 0
    signature_valid: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.signature_valid and not self.problems


def _read(archive: zipfile.ZipFile, name: str) -> tuple[str | None, int, bytes | None]:
    """(sha256 hex, size, bytes of a small file) of a member, or (None, 0, None) when its
    stored data is damaged (CRC or compression error)."""
    digest = hashlib.sha256()
    size = 0
    keep = name in OWN_FILES
    kept = bytearray()
    try:
        with archive.open(name) as member:
            while chunk := member.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
                if keep:
                    kept.extend(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError):
        return None, 0, None
    return digest.hexdigest(), size, bytes(kept) if keep else None


def verify_export(path: Path, *, public_pem: str | None = None) -> Report:
    """Check the export at `path` (see the module). Never raises for a damaged archive: every
    problem is in the report."""
    report = Report()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"not a readable ZIP archive: {exc}")
        return report
    with archive:
        names = archive.namelist()
        for own in (MANIFEST, SIGNATURE):
            if own not in names:
                report.problems.append(f"{own}: missing")
        if report.problems:
            return report
        _sha, _size, manifest_bytes = _read(archive, MANIFEST)
        _sha, _size, signature = _read(archive, SIGNATURE)
        if manifest_bytes is None:
            report.problems.append(f"{MANIFEST}: altered (its stored bytes are damaged)")
            return report
        if signature is None:
            report.problems.append(f"{SIGNATURE}: altered (its stored bytes are damaged)")
            return report
        try:
            report.signature_valid = verify(
                manifest_bytes, signature.decode("ascii"), public_pem=public_pem
            )
        except UnicodeDecodeError:
            report.signature_valid = False
        if not report.signature_valid:
            report.problems.append(
                f"{MANIFEST}: the signature in {SIGNATURE} does not match (manifest or "
                "signature altered, or signed by another key)"
            )
        try:
            manifest: dict[str, Any] = json.loads(manifest_bytes)
            entries = {entry["path"]: entry for entry in manifest["documents"]}
        except (ValueError, KeyError, TypeError):
            report.problems.append(f"{MANIFEST}: not a dossier manifest")
            return report
        expected = {**entries, INDEX: {"sha256": manifest.get("index_sha256"), "size": None}}
        for name, entry in expected.items():
            if name not in names:
                report.problems.append(f"{name}: missing")
                continue
            sha, size, _kept = _read(archive, name)
            report.files_checked += 1
            if sha is None:
                report.problems.append(f"{name}: altered (its stored bytes are damaged)")
            elif sha != entry.get("sha256") or (entry.get("size") not in (None, size)):
                report.problems.append(f"{name}: altered (SHA-256 differs from the manifest)")
        for name in names:
            if name not in expected and name not in OWN_FILES:
                report.problems.append(f"{name}: not listed in the manifest")
    return report
