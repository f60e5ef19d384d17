"""The ``http`` adapter: a remote partner endpoint (protocol in docs/gun.md, "HTTP adapter").

GET  {base_url}/documents/{code}/{reference}?declaration={id}  -> 200 document, 404 unknown
POST {base_url}/reservations | /releases | /imputations  (header Idempotency-Key) -> 200/201

Any time-out, refused connection, 5xx, 408, 429 or malformed JSON is ``PartnerUnavailable``
(T001 at lookup, a retry at propagation); another 4xx on a movement is ``PartnerRefused``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import requests
from django.db.models import Q
from django.utils import timezone

from gun.engine import (
    DocumentKey,
    PartnerDocument,
    PartnerLine,
    PartnerUnavailable,
    profile_for,
)
from gun.models import LedgerEntry, PartnerLink

MOVEMENT_PATHS = {"reserve": "reservations", "release": "releases", "impute": "imputations"}
TRANSIENT_STATUSES = {408, 429}


def _link_mark(link: PartnerLink, *, up: bool, error: str = "") -> None:
    """Flip the link's state (and ``since``) only when it changes: no write while steady."""
    changed = PartnerLink.objects.filter(~Q(up=up), pk=link.pk).update(
        up=up, since=timezone.now(), last_error=error[:2000]
    )
    if changed:
        link.up = up


class HttpAdapter:
    kind = "http"

    def __init__(self, partner: str, link: PartnerLink) -> None:
        self.partner = partner
        self.link = link
        self.timeout = (link.connect_timeout, link.read_timeout)
        self.base_url = link.base_url.rstrip("/")

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = requests.request(
                method, f"{self.base_url}/{path}", timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            self._down(f"{type(exc).__name__}: {exc}")
        if response.status_code >= 500 or response.status_code in TRANSIENT_STATUSES:
            self._down(f"HTTP {response.status_code}")
        return response

    def mark(self, *, up: bool, error: str = "") -> None:
        _link_mark(self.link, up=up, error=error)

    def _down(self, detail: str) -> None:
        self.mark(up=False, error=detail)
        raise PartnerUnavailable(self.partner, detail)

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            self._down("malformed JSON")

    def lookup(
        self, keys: list[DocumentKey], *, declaration_id: uuid.UUID | None
    ) -> Mapping[DocumentKey, PartnerDocument | None]:
        answer: dict[DocumentKey, PartnerDocument | None] = {}
        for code, reference in keys:
            response = self._request(
                "GET",
                f"documents/{quote(code, safe='')}/{quote(reference, safe='')}",
                params={"declaration": str(declaration_id)} if declaration_id else None,
            )
            if response.status_code == 404:
                answer[(code, reference)] = None
                continue
            if response.status_code != 200:
                self._down(f"HTTP {response.status_code}")
            answer[(code, reference)] = self._document(code, reference, self._json(response))
        _link_mark(self.link, up=True)
        return answer

    def _document(self, code: str, reference: str, body: Any) -> PartnerDocument:
        try:
            return PartnerDocument(
                code=code,
                reference=reference,
                status=str(body["status"]),
                holder_eori=str(body["holder_eori"]),
                used_by_other=bool(body.get("used_by_other", False)),
                lines=tuple(
                    PartnerLine(
                        line=int(line["line"]),
                        commodity_code=str(line.get("commodity_code") or ""),
                        origin_country=str(line.get("origin_country") or ""),
                        quantity=Decimal(str(line["quantity"])),
                        unit=str(line.get("unit") or ""),
                        available=Decimal(str(line["available"])),
                    )
                    for line in body.get("lines", [])
                ),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError):
            self._down("malformed document")
            raise  # unreachable: _down raises

    def send(self, entry: LedgerEntry) -> None:
        from gun.adapters.base import PartnerRefused

        profile = profile_for(entry.document_code)
        body = {
            "idempotency_key": entry.idempotency_key,
            "declaration": str(entry.declaration_id),
            "item": entry.item_number,
            "code": entry.document_code,
            "reference": entry.reference,
            "line": entry.line_number,
            "quantity": str(entry.quantity),
            # GUN_RULES §5: a single-use document is reserved and imputed whole.
            "whole_document": bool(profile is not None and profile.single_use),
            "at": entry.at.isoformat(),
        }
        response = self._request(
            "POST",
            MOVEMENT_PATHS[entry.phase],
            json=body,
            headers={"Idempotency-Key": entry.idempotency_key},
        )
        if response.status_code in (200, 201):
            _link_mark(self.link, up=True)
            return
        _link_mark(self.link, up=True)
        raise PartnerRefused(f"HTTP {response.status_code}: {response.text[:500]}")
