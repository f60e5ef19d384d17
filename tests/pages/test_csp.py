"""A Content-Security-Policy on every response, pages, API, errors and static files: scripts only
from the portal's files, never inline; and no template of the portal relies on inline code."""

import re
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import ROOT
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part
    }


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",
        "/dashboard/",
        "/tracking/",
        "/no/such/page/",
        "/api/v1/me/",
        "/api/schema/",
        "/health/",
        "/static/sesame/sesame.css",
    ],
)
def test_every_response_carries_the_policy(path: str) -> None:
    client = Client()
    client.force_login(MembershipFactory().user)
    policy = directives(client.get(path))
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["style-src"]


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_allow_inline_styles_but_never_inline_scripts(path: str) -> None:
    policy = directives(Client().get(path))
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" in policy["style-src"]


TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>"), "inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "event handler attribute"),
    (re.compile(r"\sstyle\s*=\s*\""), "style attribute"),
    (re.compile(r"javascript:", re.IGNORECASE), "javascript: URL"),
]


def page_templates() -> list[Path]:
    found = []
    for directory in TEMPLATE_DIRS:
        for path in directory.rglob("*.html"):
            if "email" not in path.parts:  # emails are not pages: their styles are inline
                found.append(path)
    return found


def test_templates_hold_no_inline_script_or_style() -> None:
    templates = page_templates()
    assert len(templates) > 20
    offences = [
        f"{path.relative_to(ROOT)}: {label}"
        for path in templates
        for pattern, label in INLINE
        if pattern.search(path.read_text())
    ]
    assert offences == []
