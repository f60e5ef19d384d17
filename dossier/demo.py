"""Demo documents for `manage.py demo_data`: a dossier with versions, a partner's file and a
share, built through the services (real PDFs, stored in the dossier storage)."""

import hashlib

from django.core.files.base import ContentFile

from dossier import pdf, selectors, services
from dossier.models import Document
from dossier.services import Received
from sesame.models import Company
from tracking.models import Consignment


def _received(title: str, lines: list[str]) -> Received:
    data = pdf.render(
        pdf.Sheet(
            title=title,
            subtitle="Document de démonstration",
            facts=[("Émis par", "Sesame (démonstration)")],
            sections=[pdf.Section("Contenu", lines=lines)],
        )
    )
    return Received(
        content=ContentFile(data, name="demo.pdf"),
        filename=f"{title.lower().replace(' ', '-')}.pdf",
        content_type="application/pdf",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def demo_load(*, consignment: Consignment, share_with: Company | None, by: str) -> None:
    """Idempotent: nothing is added when the consignment already has documents."""
    if Document.objects.filter(consignment=consignment).exists():
        return
    reader = selectors.Reader(by=by, company=consignment.company)
    access = selectors.consignment_for_reader(reader=reader, pk=consignment.pk)
    services.document_upload(
        access=access,
        reader=reader,
        received=_received(
            "Facture commerciale", ["Semences de luzerne, 500 kg", "Montant : 1 250 EUR"]
        ),
        type="commercial_invoice",
        reference=f"INV-{consignment.reference}",
    )
    services.document_upload(
        access=access,
        reader=reader,
        received=_received(
            "Facture commerciale", ["Semences de luzerne, 500 kg", "Montant : 1 180 EUR"]
        ),
        type="commercial_invoice",
        reference=f"INV-{consignment.reference}",
        reason="Montant corrigé après remise",
    )
    services.document_upload(
        access=access,
        reader=reader,
        received=_received("Connaissement", [consignment.transport_document_number]),
        type="transport_document",
        reference=consignment.transport_document_number,
    )
    for ched in consignment.ched_references[:1]:
        services.partner_file_add(
            consignment=consignment,
            partner="TRACES",
            received=_received("DSCE", [ched]),
            type="ched",
            reference=ched,
        )
    if share_with is not None:
        services.share_create(access=access, eori=share_with.eori, role="forwarder", by=by)
