"""French by default, English on request, both catalogues complete for what exists."""

import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_catalogue_is_complete(language: str) -> None:
    catalogue = polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))
    assert catalogue.untranslated_entries() == []
    assert catalogue.fuzzy_entries() == []
    assert (ROOT / "locale" / language / "LC_MESSAGES" / "django.mo").exists()


def test_catalogue_covers_every_string_of_the_code(tmp_path: Path) -> None:
    """makemessages finds no string that the French catalogue lacks."""
    import shutil

    copy = tmp_path / "locale"
    shutil.copytree(ROOT / "locale", copy)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "fr",
            "--ignore=.venv",
            "--ignore=.local",
            "--ignore=tests",
            "--ignore=bench",
            "--no-obsolete",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "SESAME_DEV": "1"},
    )
    assert result.returncode == 0, result.stderr
    regenerated = polib.pofile(str(ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"))
    # Restore the committed catalogue whatever happens next.
    shutil.copy(
        copy / "fr" / "LC_MESSAGES" / "django.po",
        ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po",
    )
    missing = [entry.msgid for entry in regenerated.untranslated_entries()]
    assert missing == []


def test_french_is_the_default_and_english_is_available() -> None:
    with translation.override("fr"):
        assert translation.gettext("Dashboard") == "Tableau de bord"
    with translation.override("en"):
        assert translation.gettext("Dashboard") == "Dashboard"
