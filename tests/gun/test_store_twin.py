"""The validation's two stores write the same rows (gun/sql.py): the same scenarios run through
the prepared store (the hot path) and through the ORM store (the plain reference), each from
the same data, and every row written is compared (ids, times and serials aside). The prepared
path may then change freely: this test says whether it still writes what the ORM would."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings

from gun import selectors
from gun.models import (
    Control,
    Declaration,
    GunMessage,
    GunRun,
    LedgerEntry,
    PartnerDocument,
    PartnerDocumentLine,
    Reservation,
)
from gun.services import GunConflict, declaration_register, declaration_replace
from gun.services import declaration_validate as validate
from tests.gun.factories import (
    di_doc,
    item,
    payload,
    publish_ched,
    publish_di,
    service_data,
)

pytestmark = pytest.mark.django_db

UNKNOWN_DI = "2016-01-9999999-00"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MODELS = (Declaration, GunRun, GunMessage, LedgerEntry, Reservation, Control)
VOLATILE = {"at", "sent_at", "opened_at", "created_at", "updated_at", "validated_at"}


class Rollback(Exception):
    """Ends a run: everything it wrote is rolled back once snapshotted."""


def _di(n: int, quantity: str, company) -> PartnerDocument:
    """A DI with a fixed reference: each run is rolled back, so both stores see the same."""
    return publish_di(
        holder=company.eori, quantity=quantity, reference=f"2016-01-{9000000 + n:07d}-00"
    )


def _ched(n: int, company) -> PartnerDocument:
    return publish_ched(holder=company.eori, reference=f"CHEDP.FR.2024.{9000000 + n:07d}")


def _register(company, body: dict) -> Declaration:
    return declaration_register(company=company, data=service_data(body), by="t").declaration


def accepted(company) -> None:
    first = _di(1, "100", company)
    second = _di(2, "50", company)
    ched = _ched(3, company)
    body = payload(
        company.eori,
        item(1, di_doc(first.reference, "60"), net_mass="60"),
        item(
            2,
            di_doc(first.reference, "30"),
            di_doc(second.reference, "10"),
            {"code": "N853", "reference": ched.reference, "date": None, "imputation": None},
            net_mass="40",
        ),
        item(3, {"code": "N853", "reference": ched.reference, "date": None, "imputation": None}),
    )
    validate(declaration=_register(company, body), by="t")


def with_control(company) -> None:
    di = _di(4, "100", company)
    body = payload(
        company.eori,
        item(1, di_doc(UNKNOWN_DI, "5"), net_mass="5"),
        item(2, di_doc(di.reference, "7"), net_mass="7", commodity="0101210000"),
        mentions=["73000"],
    )
    validate(declaration=_register(company, body), by="t")


def rejected(company) -> None:
    di = _di(5, "10", company)
    body = payload(
        company.eori,
        item(1, di_doc(di.reference, "6"), net_mass="6"),
        item(2, di_doc(di.reference, "6"), net_mass="6"),
    )
    validate(declaration=_register(company, body), by="t")


def f033_race_loser(company) -> None:
    """Two declarations for the last kilograms: the second to take the lock gets F033."""
    di = _di(6, "10", company)
    body = payload(company.eori, item(1, di_doc(di.reference, "8"), net_mass="8"))
    winner, loser = _register(company, body), _register(company, body)
    validate(declaration=winner, by="t")
    assert validate(declaration=loser, by="t").rejected


def replaced_between_read_and_lock(company) -> None:
    di = _di(7, "100", company)
    other = _di(8, "100", company)
    stored = _register(company, payload(company.eori, item(1, di_doc(di.reference, "10"))))
    read, content = selectors.declaration_with_content(pk=stored.pk, company=company)
    replacement = payload(company.eori, item(1, di_doc(other.reference, "20"), net_mass="20"))
    declaration_replace(declaration=stored, data=service_data(replacement), by="someone")
    assert read is not None
    validate(declaration=read, content=content, by="t")


def single_use_taken(company) -> None:
    """A CHED held by another declaration: F022 at the check, nothing written of it."""
    ched = _ched(9, company)
    document = {"code": "N853", "reference": ched.reference, "date": None, "imputation": None}
    first = _register(company, payload(company.eori, item(1, document)))
    second = _register(company, payload(company.eori, item(1, document)))
    validate(declaration=first, by="t")
    assert validate(declaration=second, by="t").rejected


SCENARIOS: dict[str, Callable[[Any], None]] = {
    "accepted": accepted,
    "with_control": with_control,
    "rejected": rejected,
    "f033_race_loser": f033_race_loser,
    "replaced_between_read_and_lock": replaced_between_read_and_lock,
    "single_use_taken": single_use_taken,
}


def _snapshot() -> dict[str, list[tuple]]:
    """Every row the GUN wrote, with ids, uuids and times replaced by stable labels."""
    labels: dict[object, str] = {}
    for model in (*MODELS, PartnerDocument, PartnerDocumentLine):
        order = "created_at" if model is Declaration else "pk"
        for n, pk in enumerate(model.objects.order_by(order, "pk").values_list("pk", flat=True)):
            labels[(model, pk)] = f"{model.__name__}#{n}"
            if model is Declaration:
                labels[str(pk)] = f"{model.__name__}#{n}"

    def norm(model: type, name: str, value: object) -> object:
        field = model._meta.get_field(name.removesuffix("_id"))
        if name in VOLATILE:
            return value is not None
        if name == "mrn":
            return value is not None and len(str(value)) == 18
        if field.primary_key:
            return labels[(model, value)]
        if field.is_relation and value is not None:
            return labels.get((field.related_model, value), value)
        if isinstance(value, str):
            return UUID.sub(lambda m: labels.get(m.group(0), "?"), value)
        return value

    snapshot: dict[str, list[tuple]] = {}
    for model in (*MODELS, PartnerDocument, PartnerDocumentLine):
        names = [f.attname for f in model._meta.concrete_fields]
        rows = model.objects.values_list(*names)
        snapshot[model.__name__] = sorted(
            (
                tuple((name, norm(model, name, v)) for name, v in zip(names, row, strict=True))
                for row in rows
            ),
            key=repr,
        )
    return snapshot


def _run(store: str, scenario: Callable[[Any], None], company) -> dict[str, list[tuple]]:
    taken: dict[str, list[tuple]] = {}
    with override_settings(GUN_VALIDATION_STORE=store):
        try:
            with transaction.atomic():
                try:
                    scenario(company)
                except GunConflict as exc:
                    taken["conflict"] = [(exc.code,)]
                taken.update(_snapshot())
                raise Rollback
        except Rollback:
            pass
    return taken


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_prepared_store_writes_what_the_orm_store_writes(company, name):
    scenario = SCENARIOS[name]
    prepared = _run("prepared", scenario, company)
    orm = _run("orm", scenario, company)
    assert prepared["Declaration"], "the scenario wrote nothing"
    assert set(prepared) == set(orm)
    for table in prepared:
        assert prepared[table] == orm[table], table


def test_the_scenarios_cover_every_outcome(company):
    """Guard: the twin runs compare accepted, forced and rejected runs, ledger rows included."""
    outcomes = set()
    for scenario in SCENARIOS.values():
        rows = _run("prepared", scenario, company)
        outcomes |= {dict(row)["outcome"] for row in rows["GunRun"]}
        if scenario is accepted:
            assert rows["LedgerEntry"] and rows["Reservation"]
            assert any(dict(row)["used_state"] == "reserved" for row in rows["PartnerDocument"])
        if scenario is with_control:
            assert rows["Control"]
    assert {"accepted", "accepted_with_control", "rejected", "informative"} <= outcomes
