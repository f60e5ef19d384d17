"""Writes of the dossier. Each public function is one transaction and says what it guarantees.

Bytes are stored before the row that names them is written, in the same call; a failure after
storing deletes them again, so a refused or failed upload leaves nothing behind.
"""

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dossier.errors import DossierRefusal, NotYourType, ReadOnly
from dossier.models import AccessAction, AccessLog, Document, Dossier, Share
from dossier.selectors import OWNER, Access, Reader, dossier_completeness
from dossier.signals import document_added, dossier_completed
from dossier.storage import storage_delete, storage_name_new, storage_save
from dossier.types import (
    COMPANY,
    CONTENTS,
    PARTNER,
    SHARE_ROLE_CHOICES,
    SYSTEM,
    TYPES,
    types_for_partner,
)
from sesame.identifiers import compact
from sesame.models import Company
from tracking.models import Consignment

logger = logging.getLogger("sesame.dossier")
PARIS = ZoneInfo("Europe/Paris")
RETENTION_YEARS = 3  # UCC art. 51; French customs code art. 65


@dataclass(frozen=True)
class Received:
    """Bytes the portal has inspected: where they are (`content`), their hash, size, type."""

    content: File
    filename: str
    content_type: str
    size: int
    sha256: str


def _dossier_locked(*, consignment: Consignment) -> Dossier:
    """The consignment's dossier row, created if needed, locked to the end of the transaction:
    writes to one dossier (version numbers, completeness, purge) happen one at a time."""
    Dossier.objects.bulk_create([Dossier(consignment=consignment)], ignore_conflicts=True)
    return Dossier.objects.select_for_update().get(consignment=consignment)


def _completeness_check(*, consignment: Consignment, dossier: Dossier) -> None:
    if dossier.completed_at is not None:
        return
    if dossier_completeness(consignment=consignment).complete:
        dossier.completed_at = timezone.now()
        dossier.save(update_fields=["completed_at"])
        dossier_completed.send(sender=Dossier, consignment=consignment)


def _document_add(
    *,
    consignment: Consignment,
    received: Received,
    type: str,
    reference: str,
    origin: str,
    partner: str = "",
    by: str,
    issued_on: dt.date | None = None,
    issuer: str = "",
    reason: str = "",
    source_key: str = "",
) -> tuple[Document, bool]:
    if received.size <= 0:
        raise DossierRefusal(_("The file is empty."), code="empty", field="file")
    if received.content_type not in CONTENTS:
        raise DossierRefusal(_("This content is not accepted."), code="unsupported_media")
    reference = (reference or "").strip()
    reason = (reason or "").strip()
    dossier = _dossier_locked(consignment=consignment)
    current = Document.objects.filter(
        consignment=consignment, type=type, reference=reference, current=True
    ).first()
    if current is not None and current.sha256 == received.sha256:
        return current, False  # the same bytes again: nothing added
    if current is not None and not reason:
        raise DossierRefusal(
            _("A new version needs a reason."), code="reason_required", field="reason"
        )
    name = storage_save(
        name=storage_name_new(
            consignment_id=consignment.pk, extension=CONTENTS[received.content_type].extension
        ),
        content=received.content,
    )
    try:
        if current is not None:
            Document.objects.filter(pk=current.pk).update(current=False)
        document = Document.objects.create(
            consignment=consignment,
            type=type,
            reference=reference,
            version=current.version + 1 if current else 1,
            current=True,
            replaces=current,
            origin=origin,
            partner=partner,
            filename=received.filename,
            content_type=received.content_type,
            size=received.size,
            sha256=received.sha256,
            storage_name=name,
            issued_on=issued_on,
            issuer=issuer,
            reason=reason if current else "",
            uploaded_by=by[:254],
            source_key=source_key,
        )
        document_added.send(sender=Document, document=document)
        _completeness_check(consignment=consignment, dossier=dossier)
    except BaseException:
        storage_delete(name=name)
        raise
    return document, True


@transaction.atomic
def document_upload(
    *,
    access: Access,
    reader: Reader,
    received: Received,
    type: str,
    reference: str = "",
    issued_on: dt.date | None = None,
    issuer: str = "",
    reason: str = "",
) -> tuple[Document, bool]:
    """The owner company adds a document (or a version of it) to a consignment's dossier.

    Returns (document, created). The same bytes as the current version of (type, reference)
    add nothing (created False); other bytes add version n + 1, which needs a reason and
    becomes the only current one. Only the owner writes (ReadOnly for a shared company or an
    agent); only the owner's types (a partner's or the portal's type is refused). Sends
    `document_added` and, when the dossier becomes complete, `dossier_completed`."""
    if not access.can_write:
        raise ReadOnly(_("This dossier is shared with you read-only."))
    kind = TYPES.get(type)
    if kind is None:
        raise DossierRefusal(_("Unknown document type."), code="invalid_choice", field="type")
    if kind.origin == SYSTEM:
        raise DossierRefusal(
            _("Sesame writes this type of document itself."), code="system_type", field="type"
        )
    if kind.origin == PARTNER:
        raise DossierRefusal(
            _("This type of document is sent by %(partner)s.") % {"partner": kind.partner},
            code="partner_type",
            field="type",
        )
    return _document_add(
        consignment=access.consignment,
        received=received,
        type=type,
        reference=reference,
        origin=COMPANY,
        by=reader.by,
        issued_on=issued_on,
        issuer=issuer,
        reason=reason,
    )


@transaction.atomic
def partner_file_add(
    *,
    consignment: Consignment,
    partner: str,
    received: Received,
    type: str,
    reference: str = "",
    issued_on: dt.date | None = None,
    issuer: str = "",
    reason: str = "",
    by: str = "",
) -> tuple[Document, bool]:
    """A partner system adds one of its own types of document (NotYourType otherwise), with
    the same version rules as an upload; `origin` partner. Returns (document, created)."""
    if type not in types_for_partner(partner):
        raise NotYourType(
            _("%(partner)s may send only: %(types)s.")
            % {"partner": partner, "types": ", ".join(types_for_partner(partner)) or "-"}
        )
    return _document_add(
        consignment=consignment,
        received=received,
        type=type,
        reference=reference,
        origin=PARTNER,
        partner=partner,
        by=by or partner,
        issued_on=issued_on,
        issuer=issuer or partner,
        reason=reason,
    )


def system_document_add(
    *, consignment: Consignment, type: str, reference: str, filename: str, pdf: bytes, key: str
) -> Document:
    """Store a PDF the portal generated, once per `key` (inside the caller's transaction; the
    database refuses a second document with the same key)."""
    import hashlib

    existing = Document.objects.filter(consignment=consignment, source_key=key).first()
    if existing is not None:
        return existing
    document, _created = _document_add(
        consignment=consignment,
        received=Received(
            content=ContentFile(pdf, name=filename),
            filename=filename,
            content_type="application/pdf",
            size=len(pdf),
            sha256=hashlib.sha256(pdf).hexdigest(),
        ),
        type=type,
        reference=reference,
        origin=SYSTEM,
        by="Sesame",
        issuer="Sesame",
        reason=_("Generated again by Sesame."),
        source_key=key,
    )
    return document


def _log(*, documents: Iterable[Document], reader: Reader, action: str) -> int:
    now = timezone.now()
    rows = [
        AccessLog(
            document=document,
            action=action,
            at=now,
            by=reader.by[:254],
            company_eori=reader.company.eori if reader.company is not None else "",
            partner=reader.partner,
        )
        for document in documents
    ]
    AccessLog.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def document_download_record(*, document: Document, reader: Reader) -> None:
    """Record that `reader` downloads `document` (who, which company or partner, when): one
    INSERT, its own transaction."""
    _log(documents=[document], reader=reader, action=AccessAction.DOWNLOAD)


@transaction.atomic
def dossier_export_record(*, documents: list[Document], reader: Reader) -> int:
    """Record a ZIP export in the log of each document it contains (action `zip`)."""
    return _log(documents=documents, reader=reader, action=AccessAction.ZIP)


ROLES = {code for code, _label in SHARE_ROLE_CHOICES}


@transaction.atomic
def share_create(*, access: Access, eori: str, role: str, by: str) -> Share:
    """The owner shares the consignment read-only with another company of the portal (its role
    given); sharing again updates the role. Refused: not the owner (ReadOnly), an unknown role,
    an EORI of no company on the portal, the owner's own EORI."""
    if access.role != OWNER:
        raise ReadOnly(_("Only the owner company shares its dossier."))
    if role not in ROLES:
        raise DossierRefusal(_("Unknown role."), code="invalid_choice", field="role")
    company = Company.objects.filter(eori=compact(eori or "")).first()
    if company is None:
        raise DossierRefusal(
            _("No company with this EORI is on the portal."), code="company_unknown", field="eori"
        )
    if company.pk == access.consignment.company_id:
        raise DossierRefusal(
            _("The consignment already belongs to this company."), code="own_company", field="eori"
        )
    share, created = Share.objects.get_or_create(
        consignment=access.consignment, company=company, defaults={"role": role, "created_by": by}
    )
    if not created and share.role != role:
        share.role = role
        share.save(update_fields=["role"])
    return share


@transaction.atomic
def share_end(*, access: Access, eori: str) -> bool:
    """End a share now: from the next request on, the company reads nothing of the dossier.
    Returns False when there was no such share."""
    if access.role != OWNER:
        raise ReadOnly(_("Only the owner company ends a share."))
    deleted, _rows = Share.objects.filter(
        consignment=access.consignment, company__eori=compact(eori or "")
    ).delete()
    return bool(deleted)


# --- retention --------------------------------------------------------------------------------


def retain_until_for(released_on: dt.date) -> dt.date:
    """DOSSIER.md §1: 31 December of the third year after the year of release."""
    return dt.date(released_on.year + RETENTION_YEARS, 12, 31)


@transaction.atomic
def dossier_release_record(*, consignment: Consignment, released_at: dt.datetime) -> Dossier:
    """The consignment was released (BAE): its dossier is kept until the end of the third year
    after the year of release (the latest release when there are several)."""
    dossier = _dossier_locked(consignment=consignment)
    released_on = released_at.astimezone(PARIS).date()
    if dossier.released_on is None or released_on > dossier.released_on:
        dossier.released_on = released_on
        dossier.retain_until = retain_until_for(released_on)
        dossier.save(update_fields=["released_on", "retain_until"])
    return dossier


@transaction.atomic
def legal_hold_set(*, consignment: Consignment, hold: bool, reason: str = "") -> Dossier:
    """Put the consignment's dossier on legal hold (nothing of it is purged while held), or lift
    the hold. Audited (pghistory) with the staff member's request context."""
    dossier = _dossier_locked(consignment=consignment)
    dossier.legal_hold = hold
    dossier.legal_hold_reason = reason[:300] if hold else ""
    dossier.save(update_fields=["legal_hold", "legal_hold_reason"])
    return dossier


def retention_purge(*, today: dt.date | None = None) -> int:
    """Delete the bytes of every document whose dossier's retention has ended (released, kept
    until before `today`, not on legal hold); the row keeps its metadata and SHA-256, with
    `purged_at`. One transaction per dossier, under its lock (a hold set meanwhile wins).
    Never touches a consignment not released. Returns how many documents were purged."""
    today = today or timezone.localdate()
    purged = 0
    candidates = (
        Dossier.objects.filter(
            released_on__isnull=False,
            retain_until__lt=today,
            legal_hold=False,
            consignment__documents__purged_at__isnull=True,
        )
        .values_list("consignment_id", flat=True)
        .distinct()
    )
    for consignment_id in list(candidates):
        with transaction.atomic():
            dossier = Dossier.objects.select_for_update().get(consignment_id=consignment_id)
            if dossier.legal_hold or dossier.retain_until is None or dossier.retain_until >= today:
                continue
            documents = list(
                Document.objects.select_for_update()
                .filter(consignment_id=consignment_id, purged_at__isnull=True)
                .order_by("pk")
            )
            now = timezone.now()
            for document in documents:
                name = document.storage_name
                Document.objects.filter(pk=document.pk).update(storage_name="", purged_at=now)
                storage_delete(name=name)  # last: a failed commit leaves a row to purge again
                purged += 1
        logger.info("dossier %s: retention ended, %s document(s) purged", consignment_id, purged)
    return purged
