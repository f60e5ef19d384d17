"""The rule book as data (DOSSIER.md §1): document types and who brings each, the content the
portal accepts, and what each goods category requires in the dossier."""

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

COMPANY = "company"
PARTNER = "partner"
SYSTEM = "system"
ORIGINS = (COMPANY, PARTNER, SYSTEM)


@dataclass(frozen=True)
class DocumentType:
    code: str
    label: Any  # lazy translation
    origin: str  # who brings it: COMPANY (the owner), PARTNER (`partner`) or SYSTEM
    partner: str = ""


_TYPES = [
    DocumentType("commercial_invoice", _("Commercial invoice"), COMPANY),
    DocumentType("packing_list", _("Packing list"), COMPANY),
    DocumentType(
        "transport_document", _("Transport document (bill of lading, air waybill, CMR)"), COMPANY
    ),
    DocumentType("certificate_of_origin", _("Certificate of origin"), COMPANY),
    DocumentType("phytosanitary_certificate", _("Phytosanitary certificate"), COMPANY),
    DocumentType("health_certificate", _("Health certificate"), COMPANY),
    DocumentType("other", _("Other document"), COMPANY),
    DocumentType("ched", _("CHED (common health entry document)"), PARTNER, "TRACES"),
    DocumentType("organic_certificate", _("Organic certificate of inspection"), PARTNER, "TRACES"),
    DocumentType("fl_certificate", _("Marketing-standard certificate (F&L)"), PARTNER, "DGCCRF"),
    DocumentType("cites_permit", _("CITES permit"), PARTNER, "CITES"),
    DocumentType("seed_import_declaration", _("Seed import declaration (SEMAE)"), PARTNER, "SEMAE"),
    DocumentType("customs_declaration", _("Customs declaration summary"), SYSTEM),
    DocumentType("release_note", _("Release note (BAE)"), SYSTEM),
    DocumentType("inspection_report", _("Inspection report"), SYSTEM),
]

TYPES: dict[str, DocumentType] = {kind.code: kind for kind in _TYPES}
TYPE_CHOICES = [(kind.code, kind.label) for kind in _TYPES]
COMPANY_TYPE_CHOICES = [(kind.code, kind.label) for kind in _TYPES if kind.origin == COMPANY]


def types_for_origin(origin: str) -> list[str]:
    return [kind.code for kind in _TYPES if kind.origin == origin]


def types_for_partner(partner: str) -> list[str]:
    return [kind.code for kind in _TYPES if kind.origin == PARTNER and kind.partner == partner]


@dataclass(frozen=True)
class Content:
    """Accepted content, decided from the bytes: its MIME type and the extension written."""

    content_type: str
    extension: str
    label: str
    previewable: bool


PDF = Content("application/pdf", ".pdf", "PDF", True)
CONTENTS: dict[str, Content] = {
    content.content_type: content
    for content in (
        PDF,
        Content("image/png", ".png", "PNG", True),
        Content("image/jpeg", ".jpg", "JPEG", True),
        Content("image/tiff", ".tif", "TIFF", False),  # browsers do not show TIFF
        Content("application/xml", ".xml", "XML", False),
    )
}

# Completeness (DOSSIER.md §1): every consignment, then each category in the table's order.
REQUIRED_ALWAYS = ("commercial_invoice", "transport_document")
REQUIRED_BY_CATEGORY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("plants", ("ched", "phytosanitary_certificate")),
    ("live_animals", ("ched", "health_certificate")),
    ("animal_products", ("ched", "health_certificate")),
    ("food_non_animal", ("ched",)),
    ("fl_marketing", ("fl_certificate",)),
    ("organic", ("organic_certificate",)),
)


def required_types(categories: list[str]) -> list[str]:
    """The types a dossier of these goods categories must hold, in the rule book's order."""
    required = list(REQUIRED_ALWAYS)
    for category, types in REQUIRED_BY_CATEGORY:
        if category in categories:
            required.extend(code for code in types if code not in required)
    return required


class ShareRole:
    IMPORTER = "importer"
    FORWARDER = "forwarder"
    HAULIER = "haulier"
    REPRESENTATIVE = "representative"


SHARE_ROLE_CHOICES = [
    (ShareRole.IMPORTER, _("Importer")),
    (ShareRole.FORWARDER, _("Freight forwarder")),
    (ShareRole.HAULIER, _("Haulier")),
    (ShareRole.REPRESENTATIVE, _("Customs representative")),
]
