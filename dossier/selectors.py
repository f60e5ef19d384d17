"""Reads of the dossier, and the one rule of who reads which consignment's dossier.

`Reader` is whoever acts: a company (its users or its API keys), an agent of a border control
post, or a partner system. Every read of a consignment or a document goes through
`consignment_for_reader` / `document_for_reader`, so the rule lives here only: the owner
company; a company it is shared with (read-only); the agents of the consignment's post; a
partner, for the documents it brought. Anything else is "not found".
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from dossier.errors import AmbiguousConsignment, ConsignmentUnknown
from dossier.models import AccessLog, Document, Dossier, Share
from dossier.types import required_types
from sesame.models import BorderControlPost, Company
from tracking.models import Consignment
from tracking.selectors import ConsignmentAmbiguous, consignment_named_by_partner
from tracking.selectors import ConsignmentUnknown as ConsignmentNotNamed

OWNER = "owner"
SHARED = "shared"
AGENT = "agent"


@dataclass(frozen=True)
class Reader:
    """Who acts: `by` is what the logs show (a user's email, an API key's name)."""

    by: str
    company: Company | None = None
    partner: str = ""
    post: BorderControlPost | None = None


@dataclass(frozen=True)
class Access:
    consignment: Consignment
    role: str  # OWNER, SHARED or AGENT

    @property
    def can_write(self) -> bool:
        return self.role == OWNER


def consignments_readable(*, reader: Reader) -> QuerySet[Consignment]:
    """The consignments whose dossier `reader` may read."""
    consignments = Consignment.objects.select_related("company", "post")
    if reader.company is not None:
        shared = Share.objects.filter(company=reader.company).values("consignment_id")
        return consignments.filter(Q(company=reader.company) | Q(pk__in=shared))
    if reader.post is not None:
        return consignments.filter(post=reader.post)
    return consignments.none()


def consignment_for_reader(*, reader: Reader, pk: Any) -> Access:
    """The consignment `pk` and the reader's role on it; Http404 when it may not see it."""
    consignment = consignments_readable(reader=reader).filter(pk=pk).first()
    if consignment is None:
        raise Http404("No such consignment.")
    if reader.company is not None:
        role = OWNER if consignment.company_id == reader.company.pk else SHARED
    else:
        role = AGENT
    return Access(consignment, role)


def consignments_shared_with(*, company: Company) -> QuerySet[Share]:
    """What other companies share with `company`, newest first."""
    return (
        Share.objects.filter(company=company)
        .select_related("consignment__company", "consignment__post")
        .order_by("-created_at", "-id")
    )


def document_for_reader(*, reader: Reader, pk: Any) -> tuple[Document, str]:
    """A document and the reader's role (OWNER, SHARED, AGENT, or "partner" for a partner's
    own document); Http404 when the reader may not see it."""
    document = Document.objects.select_related("consignment__company").filter(pk=pk).first()
    if document is None:
        raise Http404("No such document.")
    if reader.partner:
        if document.origin == "partner" and document.partner == reader.partner:
            return document, "partner"
        raise Http404("No such document.")
    if reader.company is not None and document.consignment.company_id == reader.company.pk:
        return document, OWNER  # the owner: no second query
    return document, consignment_for_reader(reader=reader, pk=document.consignment_id).role


def documents_of_consignment(*, consignment: Consignment) -> QuerySet[Document]:
    """Every document and version of the dossier, system documents included, newest first."""
    return Document.objects.filter(consignment=consignment).order_by("-uploaded_at", "-id")


def documents_current(*, consignment: Consignment) -> QuerySet[Document]:
    return documents_of_consignment(consignment=consignment).filter(current=True)


@dataclass(frozen=True)
class Completeness:
    required: list[str]
    present: list[str]
    missing: list[str]

    @property
    def complete(self) -> bool:
        return not self.missing


def dossier_completeness(*, consignment: Consignment) -> Completeness:
    """DOSSIER.md §1: the required types of the consignment's categories, which are present (a
    current version, purged bytes included: the dossier held it) and which are missing."""
    required = required_types(list(consignment.categories))
    held = set(
        Document.objects.filter(consignment=consignment, current=True, type__in=required)
        .values_list("type", flat=True)
        .distinct()
    )
    present = [code for code in required if code in held]
    return Completeness(required, present, [code for code in required if code not in held])


def dossier_state(*, consignment: Consignment) -> Dossier | None:
    return Dossier.objects.filter(consignment=consignment).first()


def access_log_of_document(*, document: Document) -> QuerySet[AccessLog]:
    return AccessLog.objects.filter(document=document).order_by("-at", "-id")


def access_log_of_consignment(*, consignment: Consignment, limit: int = 200) -> list[AccessLog]:
    """The latest reads of any document of the dossier (for the owner's page)."""
    return list(
        AccessLog.objects.filter(document__consignment=consignment)
        .select_related("document")
        .order_by("-at", "-id")[:limit]
    )


def shares_of_consignment(*, consignment: Consignment) -> QuerySet[Share]:
    return Share.objects.filter(consignment=consignment).select_related("company")


def consignment_for_partner_file(
    *,
    container_number: str = "",
    ched_reference: str = "",
    company_eori: str = "",
    consignment_reference: str = "",
) -> Consignment:
    """The consignment a partner's file is about, named as partners name it for events
    (``tracking.selectors.consignment_named_by_partner``, the one rule): ConsignmentUnknown (404,
    unlike an event's 422: a file for nothing is refused outright) when none matches,
    AmbiguousConsignment (409) when several active ones hold the container or CHED."""
    try:
        return consignment_named_by_partner(
            company_eori=company_eori,
            reference=consignment_reference,
            container_number=container_number,
            ched_reference=ched_reference,
        )
    except ConsignmentNotNamed:
        raise ConsignmentUnknown("No consignment matches.") from None
    except ConsignmentAmbiguous:
        raise AmbiguousConsignment(
            "Several active consignments hold it: name the consignment by company_eori and "
            "consignment_reference."
        ) from None
