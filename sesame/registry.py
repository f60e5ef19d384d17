"""Small registries the apps fill in their AppConfig.ready(): menu entries and dashboard panels.

`sesame` knows no app; each app says what it adds to the shared pages.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

OPERATOR = "operator"
AGENT = "agent"


@dataclass(frozen=True)
class NavItem:
    label: Any  # a lazy translation
    url_name: str
    roles: frozenset[str]
    order: int = 100


@dataclass(frozen=True)
class Panel:
    """A block of a dashboard: its template and a function building its context."""

    template: str
    roles: frozenset[str]
    context: Callable[[HttpRequest], dict[str, Any]] = field(default=lambda request: {})
    order: int = 100


NAV_ITEMS: list[NavItem] = []
PANELS: list[Panel] = []
HEADER_ITEMS: list[str] = []  # templates included in the header tools (e.g. an inbox badge)


def register_nav(label: Any, url_name: str, *roles: str, order: int = 100) -> None:
    item = NavItem(label, url_name, frozenset(roles), order)
    if item not in NAV_ITEMS:
        NAV_ITEMS.append(item)
        NAV_ITEMS.sort(key=lambda entry: entry.order)


def register_panel(
    template: str,
    *roles: str,
    context: Callable[[HttpRequest], dict[str, Any]] | None = None,
    order: int = 100,
) -> None:
    panel = Panel(template, frozenset(roles), context or (lambda request: {}), order)
    if all(existing.template != template for existing in PANELS):
        PANELS.append(panel)
        PANELS.sort(key=lambda entry: entry.order)


def register_header_item(template: str) -> None:
    if template not in HEADER_ITEMS:
        HEADER_ITEMS.append(template)
