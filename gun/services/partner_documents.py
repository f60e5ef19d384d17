"""Partner documents published into the portal by their partner system (the local adapter)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from gun.engine import profile_for
from gun.errors import GunConflict, GunForbidden, GunInvalid
from gun.models import PartnerDocument, PartnerDocumentLine

LINE_FIELDS = ("commodity_code", "origin_country", "quantity", "unit")


def partner_document_publish(
    *, partner: str, data: Mapping[str, Any]
) -> tuple[PartnerDocument, bool]:
    """Publish or update a document (idempotent on code + reference); returns (doc, created).

    Guarantees: only the document code's own partner may publish it (403 otherwise); the
    balances stay consistent: a line's new initial quantity below what is reserved + imputed
    on it is refused (409 ``quantity_below_used``), and a line in use cannot be dropped (409
    ``line_in_use``). The document and its lines are locked (pk order) like every ledger move.
    Publishing the same content twice changes nothing.
    """
    code, reference = data["code"], data["reference"]
    profile = profile_for(code)
    if profile is None:
        raise GunInvalid("code", "not_gun_document", f"{code} is not a GUN document code.")
    if profile.partner != partner:
        raise GunForbidden(
            "document_code_not_allowed", f"{partner} may not publish {code} documents."
        )
    if not profile.reference_is_well_formed(reference):
        raise GunInvalid(
            "reference", "reference_malformed", f"This is not a {code} reference pattern."
        )
    with transaction.atomic():
        PartnerDocument.objects.bulk_create(
            [
                PartnerDocument(
                    partner=partner,
                    code=code,
                    reference=reference,
                    status=data["status"],
                    holder_eori=data["holder_eori"],
                    issued_on=data.get("issued_on"),
                    single_use=profile.single_use,
                )
            ],
            ignore_conflicts=True,
        )
        document = PartnerDocument.objects.select_for_update().get(code=code, reference=reference)
        created = document.version == 1 and not document.lines.exists()
        lines = {
            line.line: line
            for line in PartnerDocumentLine.objects.select_for_update()
            .filter(document=document)
            .order_by("pk")
        }
        changed = False
        for name in ("status", "holder_eori", "issued_on"):
            value = data.get(name)
            if getattr(document, name) != value:
                setattr(document, name, value)
                changed = True
        incoming = {line["line"]: line for line in data["lines"]}
        for number, line in lines.items():
            if number not in incoming:
                if line.reserved or line.imputed or line.ledger_entries.exists():
                    raise GunConflict(
                        "line_in_use", f"Line {number} holds reservations or imputations."
                    )
                line.delete()
                changed = True
        new_lines: list[PartnerDocumentLine] = []
        for number, values in sorted(incoming.items()):
            existing = lines.get(number)
            if existing is None:
                new_lines.append(
                    PartnerDocumentLine(
                        document=document, line=number, **{f: values[f] for f in LINE_FIELDS}
                    )
                )
                continue
            line = existing
            if values["quantity"] < line.reserved + line.imputed:
                raise GunConflict(
                    "quantity_below_used",
                    f"Line {number}: the initial quantity cannot go below the "
                    f"{line.reserved + line.imputed} already reserved or imputed.",
                    line=number,
                )
            if any(getattr(line, f) != values[f] for f in LINE_FIELDS):
                for f in LINE_FIELDS:
                    setattr(line, f, values[f])
                line.save(update_fields=list(LINE_FIELDS))
                changed = True
        if new_lines:
            PartnerDocumentLine.objects.bulk_create(new_lines)
            changed = changed or not created
        if changed and not created:
            document.version += 1
        if changed or created:
            document.save()
    return document, created
