"""Adapters by link kind; a partner without a PartnerLink row is ``local``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gun.adapters.base import Adapter
from gun.adapters.http import HttpAdapter
from gun.adapters.local import LocalAdapter
from gun.models import PartnerLink

ADAPTERS: dict[str, Callable[[str, Any], Adapter]] = {
    "local": LocalAdapter,
    "http": HttpAdapter,
}


def _build(partner: str, link: PartnerLink | None) -> Adapter:
    if link is None:
        return LocalAdapter(partner)
    return ADAPTERS[link.kind](partner, link)


def adapter_for(partner: str) -> Adapter:
    """The adapter reaching ``partner`` now (one query)."""
    return _build(partner, PartnerLink.objects.filter(partner=partner).first())


def _links() -> dict[str, PartnerLink]:
    return {link.partner: link for link in PartnerLink.objects.all()}


def adapters_for(partners: Iterable[str], *, cached: bool = False) -> dict[str, Adapter]:
    """Adapters for several partners in one query; ``cached``: from this process's copy of the
    links while it is current (``gun.selectors.config_cached``: dropped on any change)."""
    wanted = set(partners)
    if cached:
        from gun.selectors import config_cached

        links = config_cached("partner_links", _links)
    else:
        links = {link.partner: link for link in PartnerLink.objects.filter(partner__in=wanted)}
    return {partner: _build(partner, links.get(partner)) for partner in wanted}
