"""Fill the catalogues after `make messages`: English msgstr = msgid; French from a given
mapping (JSON file or inline pairs); report what is still missing."""

import json
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    french: dict[str, str] = json.loads(Path(argv[0]).read_text()) if argv else {}
    en = polib.pofile(str(ROOT / "locale/en/LC_MESSAGES/django.po"))
    for entry in en:
        entry.msgstr = entry.msgid
        if entry.msgid_plural:
            entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    en.save()
    fr = polib.pofile(str(ROOT / "locale/fr/LC_MESSAGES/django.po"))
    for entry in fr:
        if entry.msgid in french:
            entry.msgstr = french[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
    fr.save()
    missing = [e.msgid for e in fr.untranslated_entries()] + [e.msgid for e in fr.fuzzy_entries()]
    for msgid in missing:
        print(f"missing: {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
