"""System documents (DOSSIER.md §1): the portal writes them from tracking's committed events.

- `customs_declaration`: the summary of a linked GUN declaration once validated (events
  `declaration_validated` / `declaration_controlled`), read through `gun.selectors`;
- `release_note`: the release (BAE), on `release`; it also starts the dossier's retention;
- `inspection_report`: each completed appointment, on `identity_check` / `physical_check`
  events whose payload names an appointment (the appointments app records them).

The receiver writes a `Generation` row (one per document: its key) in the event's transaction
and enqueues the task after commit. The task builds the PDF, then in one transaction under the
row's lock stores it, writes the Document (unique per key) and marks the row done: a killed
worker leaves the row pending, and a later run (redelivery or the sweep) generates it once.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dossier import pdf
from dossier.models import Document, Generation, GenerationStatus
from dossier.services import dossier_release_record, system_document_add
from tracking.kinds import KINDS as EVENT_KINDS
from tracking.models import Consignment, Event

logger = logging.getLogger("sesame.dossier")
PARIS = ZoneInfo("Europe/Paris")

DECLARATION_EVENTS = ("declaration_validated", "declaration_controlled")
CHECK_EVENTS = ("identity_check", "physical_check")
# A pending generation older than this is handed to a worker again by the sweep.
SWEEP_AFTER = dt.timedelta(minutes=2)


@dataclass(frozen=True)
class Wanted:
    type: str
    key: str


def wanted_for_event(event: Event) -> Wanted | None:
    """The system document an event calls for, if any (pure: the event's kind and payload)."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    if event.kind in DECLARATION_EVENTS:
        declaration = str(payload.get("declaration_id") or payload.get("mrn") or "")
        return (
            Wanted("customs_declaration", f"customs_declaration:{declaration}")
            if declaration
            else None
        )
    if event.kind == "release":
        mrn = str(payload.get("mrn") or "")
        return Wanted("release_note", f"release_note:{mrn or f'event-{event.pk}'}")
    if event.kind in CHECK_EVENTS and payload.get("appointment"):
        return Wanted("inspection_report", f"inspection_report:{payload['appointment']}")
    return None


def generation_request(*, event: Event) -> Generation | None:
    """Inside the transaction recording `event`: note the system document it calls for (once
    per key) and hand it to a worker after commit; a release also starts the retention."""
    if event.kind == "release":
        dossier_release_record(consignment=event.consignment, released_at=event.occurred_at)
    wanted = wanted_for_event(event)
    if wanted is None:
        return None
    Generation.objects.bulk_create(
        [Generation(consignment=event.consignment, type=wanted.type, key=wanted.key, event=event)],
        ignore_conflicts=True,
    )
    generation = Generation.objects.get(consignment=event.consignment, key=wanted.key)
    if generation.status == GenerationStatus.PENDING:
        transaction.on_commit(lambda: _enqueue(generation.pk))
    return generation


def _enqueue(generation_id: int) -> None:
    from dossier.tasks import generate

    generate.delay(generation_id)


def generations_sweep() -> list[int]:
    """Hand again to the workers every generation still pending after SWEEP_AFTER (its worker
    died, or the broker lost the task). Returns their ids."""
    ids = list(
        Generation.objects.filter(
            status=GenerationStatus.PENDING, created_at__lt=timezone.now() - SWEEP_AFTER
        ).values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        _enqueue(pk)
    return ids


def generation_run(*, generation_id: int) -> Document | None:
    """Generate the document of a pending generation, once: the PDF is built from the data as
    it is now, then stored with its Document in one transaction under the row's lock; a row
    already done (another worker finished first) returns its document without a second one."""
    generation = Generation.objects.select_related("event").filter(pk=generation_id).first()
    if generation is None:
        return None
    if generation.status == GenerationStatus.DONE:
        return generation.document
    Generation.objects.filter(pk=generation_id).update(attempts=F("attempts") + 1)
    consignment = Consignment.objects.select_related("company", "post").get(
        pk=generation.consignment_id
    )
    reference, filename, sheet = _sheet(generation=generation, consignment=consignment)
    content = pdf.render(sheet)
    with transaction.atomic():
        locked = Generation.objects.select_for_update().get(pk=generation_id)
        if locked.status == GenerationStatus.DONE:
            return locked.document
        document = system_document_add(
            consignment=consignment,
            type=locked.type,
            reference=reference,
            filename=filename,
            pdf=content,
            key=locked.key,
        )
        locked.status = GenerationStatus.DONE
        locked.document = document
        locked.done_at = timezone.now()
        locked.last_error = ""
        locked.save(update_fields=["status", "document", "done_at", "last_error"])
    return document


def generation_failed(*, generation_id: int, error: str) -> None:
    Generation.objects.filter(pk=generation_id, status=GenerationStatus.PENDING).update(
        last_error=error[:2000]
    )


# --- what each document says ------------------------------------------------------------------


def _local(value: Any) -> str:
    if isinstance(value, str):
        value = parse_datetime(value)
    if not isinstance(value, dt.datetime):
        return ""
    return timezone.localtime(value, PARIS).strftime("%d/%m/%Y %H:%M")


def _consignment_facts(consignment: Consignment) -> list[tuple[str, str]]:
    return [
        ("Lot", consignment.reference),
        ("Opérateur", f"{consignment.company.name} ({consignment.company.eori})"),
        ("Port", consignment.get_port_display()),
        ("Poste de contrôle frontalier", consignment.post.code if consignment.post else "—"),
        ("Conteneurs", ", ".join(consignment.container_numbers) or "—"),
        ("DSCE", ", ".join(consignment.ched_references) or "—"),
    ]


STAGES = {
    "anticipation": "Anticipation",
    "validation": "Validation",
    "rectification": "Rectification",
}
OUTCOMES = {
    "informative": "Informatif",
    "accepted": "Acceptée",
    "accepted_with_control": "Acceptée sous contrôle",
    "rejected": "Rejetée",
}
PHASES = {"reserve": "Réservation", "release": "Libération", "impute": "Imputation"}


def _declaration_sheet(
    *, consignment: Consignment, generation: Generation
) -> tuple[str, str, pdf.Sheet]:
    from gun import selectors as gun_selectors

    payload = generation.event.payload or {}
    summary = gun_selectors.declaration_summary(
        company=consignment.company,
        declaration_id=str(payload.get("declaration_id") or ""),
        mrn=str(payload.get("mrn") or ""),
    )
    mrn = (summary or {}).get("mrn") or str(payload.get("mrn") or "")
    facts = [
        ("MRN", mrn or "—"),
        *_consignment_facts(consignment),
    ]
    sections: list[pdf.Section] = []
    if summary is None:
        sections.append(
            pdf.Section(
                "Déclaration",
                lines=[
                    "La déclaration n'est pas enregistrée dans le guichet unique de Sesame : "
                    "seul son numéro MRN est connu (événement du "
                    f"{_local(generation.event.occurred_at)})."
                ],
            )
        )
    else:
        facts += [
            ("Référence client", summary["client_reference"]),
            ("Importateur (EORI)", summary["importer_eori"]),
            ("Mentions spéciales", ", ".join(summary["special_mentions"]) or "—"),
            ("Validée le", _local(summary["validated_at"]) or "—"),
            ("Contrôle requis", "oui" if summary["control_required"] else "non"),
        ]
        items = [["Article", "Code marchandise", "Origine", "Masse nette (kg)"]]
        documents = [["Article", "Document", "Référence", "Date", "Quantité imputée", "Ligne"]]
        for item in summary["items"]:
            items.append(
                [
                    item["item_number"],
                    item["commodity_code"],
                    item["origin_country"],
                    item["net_mass_kg"],
                ]
            )
            for document in item["documents"]:
                quantity = document["imputation_quantity"]
                documents.append(
                    [
                        item["item_number"],
                        document["code"],
                        document["reference"],
                        document["date"] or "",
                        f"{quantity} {document['imputation_unit']}".strip()
                        if quantity is not None
                        else "—",
                        document["imputation_line_number"] or "",
                    ]
                )
        sections.append(pdf.Section("Articles", rows=items, widths=(20, 50, 30, 40)))
        sections.append(
            pdf.Section(
                "Documents (case 44) et fiches d'imputation",
                rows=documents,
                widths=(16, 20, 50, 24, 40, 16),
            )
        )
        ledger = [["Article", "Document", "Référence", "Ligne", "Mouvement", "Quantité"]]
        for entry in summary["ledger"]:
            ledger.append(
                [
                    entry["item_number"] or "",
                    entry["document_code"],
                    entry["reference"],
                    entry["line_number"] or "",
                    PHASES.get(entry["phase"], entry["phase"]),
                    entry["quantity"],
                ]
            )
        if len(ledger) > 1:
            sections.append(
                pdf.Section(
                    "Quantités réservées et imputées", rows=ledger, widths=(16, 20, 50, 16, 30, 30)
                )
            )
        messages = [["Étape", "Résultat", "Date", "Message", "Article", "Document"]]
        for run in summary["runs"]:
            if not run["messages"]:
                messages.append(
                    [
                        STAGES.get(run["stage"], run["stage"]),
                        OUTCOMES.get(run["outcome"], run["outcome"]),
                        _local(run["at"]),
                        "Aucun message",
                        "",
                        "",
                    ]
                )
            for message in run["messages"]:
                messages.append(
                    [
                        STAGES.get(run["stage"], run["stage"]),
                        OUTCOMES.get(run["outcome"], run["outcome"]),
                        _local(run["at"]),
                        f"{message['code']} — {message['label_fr']}",
                        message["item"],
                        f"{message['document_code']} {message['reference']}".strip(),
                    ]
                )
        sections.append(
            pdf.Section(
                "Messages du guichet unique (GUN)", rows=messages, widths=(24, 28, 28, 56, 14, 30)
            )
        )
    sheet = pdf.Sheet(
        title="Synthèse de la déclaration en douane",
        subtitle=f"Déclaration d'importation {mrn}".strip(),
        facts=facts,
        sections=sections,
        footer=f"Document établi par Sesame le {_local(timezone.now())}.",
    )
    return mrn or generation.key.split(":", 1)[1], f"declaration-{mrn or 'gun'}.pdf", sheet


def _release_sheet(
    *, consignment: Consignment, generation: Generation
) -> tuple[str, str, pdf.Sheet]:
    event = generation.event
    payload = event.payload or {}
    mrn = str(payload.get("mrn") or "")
    sheet = pdf.Sheet(
        title="Bon à enlever (BAE)",
        subtitle=f"Mainlevée de la marchandise — lot {consignment.reference}",
        facts=[
            ("MRN", mrn or "—"),
            *_consignment_facts(consignment),
            ("Mainlevée accordée le", _local(event.occurred_at)),
            ("Source", f"{event.source} ({event.author or event.source})"),
        ],
        sections=[
            pdf.Section(
                "Mainlevée",
                lines=[
                    "La douane a accordé la mainlevée : la marchandise peut être enlevée.",
                    *([f"Observation : {payload['note']}"] if payload.get("note") else []),
                ],
            )
        ],
        footer=f"Document établi par Sesame le {_local(timezone.now())}.",
    )
    return mrn, f"bae-{mrn or consignment.reference}.pdf", sheet


RESULTS = {"compliant": "Conforme", "non_compliant": "Non conforme"}
CHECKS = {"identity": "Contrôle d'identité", "physical": "Contrôle physique"}


def _inspection_sheet(
    *, consignment: Consignment, generation: Generation
) -> tuple[str, str, pdf.Sheet]:
    event = generation.event
    payload = event.payload or {}
    appointment = str(payload.get("appointment") or "")
    check = str(payload.get("check") or event.kind.replace("_check", ""))
    kind = EVENT_KINDS.get(event.kind)
    check_label = CHECKS.get(check, str(kind.label) if kind else check)
    sheet = pdf.Sheet(
        title="Rapport d'inspection",
        subtitle=f"{check_label} — rendez-vous {appointment}",
        facts=[
            *_consignment_facts(consignment),
            ("Rendez-vous", appointment),
            ("Service", str(payload.get("service") or "—")),
            (
                "Poste",
                str(payload.get("post") or (consignment.post.code if consignment.post else "—")),
            ),
            ("Début", _local(payload.get("start")) or "—"),
            ("Fin", _local(payload.get("end")) or "—"),
            ("Agent", event.author or "—"),
            (
                "Résultat",
                RESULTS.get(str(payload.get("result")), str(payload.get("result") or "—")),
            ),
        ],
        sections=[
            pdf.Section("Observations", lines=[str(payload.get("note") or "Aucune observation.")])
        ],
        footer=f"Document établi par Sesame le {_local(timezone.now())}.",
    )
    return appointment, f"inspection-{appointment}.pdf", sheet


_SHEETS = {
    "customs_declaration": _declaration_sheet,
    "release_note": _release_sheet,
    "inspection_report": _inspection_sheet,
}


def _sheet(*, generation: Generation, consignment: Consignment) -> tuple[str, str, pdf.Sheet]:
    """(reference, file name, sheet) of the document a generation asks for."""
    return _SHEETS[generation.type](consignment=consignment, generation=generation)
