"""The hand-written SQL's guards (gun/sql.py): names come from the models, a misspelled column
raises instead of writing a default, and a constraint is recognised by its name."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from gun import sql
from gun.models import LedgerEntry, PartnerDocumentLine
from tests.gun.factories import publish_di

pytestmark = pytest.mark.django_db


def test_a_misspelled_column_raises_instead_of_writing_a_default():
    with pytest.raises(ValueError, match="quantitty"):
        sql.insert_values_sql(LedgerEntry, [{"quantitty": Decimal(1)}], timezone.now())


def test_a_balance_refused_by_the_database_is_recognised_by_its_constraint_name(company):
    document = publish_di(holder=company.eori, quantity="5")
    line = PartnerDocumentLine.objects.get(document=document)
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        PartnerDocumentLine.objects.filter(pk=line.pk).update(reserved=Decimal(6))
    assert sql.constraint_name(refused.value) == "gun_line_reserved_plus_imputed_lte_initial"
    assert sql.constraint_name(refused.value) in sql.BALANCE_CONSTRAINTS


def test_the_balance_constraints_are_the_models_own():
    names = {c.name for c in PartnerDocumentLine._meta.constraints}
    assert {"gun_line_reserved_gte_0", "gun_line_reserved_plus_imputed_lte_initial"} <= names
    assert (
        names
        | {
            "gun_reservation_unique",
            "gun_reservation_quantity_gt_0",
        }
        >= sql.BALANCE_CONSTRAINTS
    )
    assert "gun_partner_line_unique" not in sql.BALANCE_CONSTRAINTS


def test_an_unknown_store_name_is_refused():
    from django.test import override_settings

    with override_settings(GUN_VALIDATION_STORE="gun.sql.NoSuchStore"), pytest.raises(ImportError):
        sql.validation_store()
