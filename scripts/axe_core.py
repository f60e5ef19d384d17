"""axe-core (the accessibility engine the browser tests inject into each page), installed from
npm into .local/ when missing: `python scripts/axe_core.py` (run by `make test`) prints the path
of axe.min.js. Nothing minified of a third party is committed; the version is pinned here."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "4.14.1"
PREFIX = ROOT / ".local" / f"axe-core-{VERSION}"
SCRIPT = PREFIX / "node_modules" / "axe-core" / "axe.min.js"


def ensure() -> Path:
    """The path of axe.min.js, installing axe-core@VERSION with npm first when needed (and
    Debian's npm when it is missing and this user may install packages)."""
    if SCRIPT.exists():
        return SCRIPT
    if not shutil.which("npm"):
        sys.path.insert(0, str(ROOT / "scripts"))
        import services

        services.apt_install("npm")
    PREFIX.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(PREFIX),
            "--no-audit",
            "--no-fund",
            "--no-save",
            "--loglevel=error",
            f"axe-core@{VERSION}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if not SCRIPT.exists():
        raise RuntimeError(f"npm installed axe-core@{VERSION} but {SCRIPT} is missing")
    return SCRIPT


if __name__ == "__main__":
    print(ensure())
