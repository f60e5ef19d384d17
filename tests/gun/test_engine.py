"""The GUN rule engine against the rule book (GUN_RULES §2, §3), one table per rule row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from gun.engine import (
    PROFILES,
    RULES,
    Declaration,
    DocumentKey,
    DocumentRef,
    Imputation,
    Item,
    Message,
    PartnerDocument,
    PartnerLine,
    PartnerUnavailable,
    profile_for,
    run_checks,
)
from gun.engine.rules import SHEET_FIELD_MESSAGES

IMPORTER = "FR73282932000074"
OTHER_IMPORTER = "FR55208131766522"
DI = "2016-01-0000122-00"
DI_2 = "2016-01-0000123-00"
CHEDP = "CHEDP.FR.2024.0000001"
CHEDA = "CHEDA.FR.2024.0000002"
CITES = "FR/24/0001"
SEED = "1209918000"  # TARIC code under the DI's tariff number 12099180

Expected = tuple[str, int, int | None]  # (code, item, document_index)


def sheet(
    line: int | None = 1, quantity: str | None = "100", unit: str | None = "KGM"
) -> Imputation:
    return Imputation(
        line_number=line, quantity=None if quantity is None else Decimal(quantity), unit=unit
    )


def doc(code: str, reference: str, imputation: Imputation | None = None) -> DocumentRef:
    return DocumentRef(code=code, reference=reference, imputation=imputation)


def di(reference: str = DI, imputation: Imputation | None = None) -> DocumentRef:
    return doc("2413", reference, imputation if imputation is not None else sheet())


def item(
    *documents: DocumentRef,
    number: int = 1,
    commodity: str = SEED,
    origin: str = "MA",
    net_mass: str = "100",
) -> Item:
    return Item(
        item_number=number,
        commodity_code=commodity,
        origin_country=origin,
        net_mass_kg=Decimal(net_mass),
        documents=documents,
    )


def declaration(*items: Item, importer: str = IMPORTER) -> Declaration:
    return Declaration(importer_eori=importer, items=items)


def line(
    commodity: str = "12099180", origin: str = "MA", available: str = "1000", number: int = 1
) -> PartnerLine:
    return PartnerLine(
        line=number,
        commodity_code=commodity,
        origin_country=origin,
        quantity=Decimal("1000"),
        unit="KGM",
        available=Decimal(available),
    )


def published(
    code: str,
    reference: str,
    *lines: PartnerLine,
    status: str = "VAL",
    holder: str = IMPORTER,
    used_by_other: bool = False,
) -> PartnerDocument:
    return PartnerDocument(
        code=code,
        reference=reference,
        status=status,
        holder_eori=holder,
        lines=lines or (line(),),
        used_by_other=used_by_other,
    )


@dataclass
class Partners:
    """An in-memory stand-in for the partner systems; records every lookup."""

    documents: Iterable[PartnerDocument] = ()
    unavailable: frozenset[str] = frozenset()
    calls: list[tuple[str, list[DocumentKey]]] = field(default_factory=list)

    def __call__(
        self, partner: str, keys: list[DocumentKey]
    ) -> Mapping[DocumentKey, PartnerDocument | None]:
        self.calls.append((partner, list(keys)))
        if partner in self.unavailable:
            raise PartnerUnavailable(partner, "connection refused")
        known = {(d.code, d.reference): d for d in self.documents}
        return {key: known.get(key) for key in keys}


def run(dec: Declaration, partners: Partners, **kwargs: object) -> list[Expected]:
    messages = run_checks(declaration=dec, lookup=partners, **kwargs)  # type: ignore[arg-type]
    return [(m.code, m.item, m.document_index) for m in messages]


STANDARD_DOCUMENTS = (
    published("2413", DI, line(available="123")),
    published("2413", DI_2, line(available="123")),
    published("N853", CHEDP, line("0306"), line("1602", origin="TH")),
    published("C640", CHEDA, line("0106")),
    published("C638", CITES, line("0106", origin="ZA")),
)


# --- one row per rule --------------------------------------------------------------------------

RULE_ROWS: list[tuple[str, Declaration, Partners, list[Expected]]] = [
    ("clean_di", declaration(item(di())), Partners(STANDARD_DOCUMENTS), []),
    (
        "t001_partner_unreachable",
        declaration(item(di())),
        Partners(STANDARD_DOCUMENTS, unavailable=frozenset({"SEMAE"})),
        [("T001", 1, 0)],
    ),
    (
        "f001_reference_malformed",
        declaration(item(di("2016-01-122-00"))),
        Partners(STANDARD_DOCUMENTS),
        [("F001", 1, 0)],
    ),
    (
        "f001_reference_unknown_to_partner",
        declaration(item(di("2016-01-9999999-00"))),
        Partners(STANDARD_DOCUMENTS),
        [("F001", 1, 0)],
    ),
    (
        "f001_cites_reference_with_trailing_space",
        declaration(item(doc("C638", CITES + " "), commodity="0106", origin="ZA")),
        Partners(STANDARD_DOCUMENTS),
        [("F001", 1, 0)],
    ),
    (
        "f001_cites_reference_over_35_characters",
        declaration(item(doc("C638", "X" * 36), commodity="0106", origin="ZA")),
        Partners(STANDARD_DOCUMENTS),
        [("F001", 1, 0)],
    ),
    (
        "f022_di_exhausted",
        declaration(item(di())),
        Partners([published("2413", DI, line(), status="EPU")]),
        [("F022", 1, 0)],
    ),
    (
        "f022_ched_used_by_another_declaration",
        declaration(item(doc("N853", CHEDP), commodity="0306000000")),
        Partners([published("N853", CHEDP, line("0306"), used_by_other=True)]),
        [("F022", 1, 0)],
    ),
    (
        "f022_cites_cancelled",
        declaration(item(doc("C638", CITES), commodity="0106", origin="ZA")),
        Partners([published("C638", CITES, line("0106", origin="ZA"), status="ANN")]),
        [("F022", 1, 0)],
    ),
    (
        "f041_di_without_sheet",
        declaration(item(doc("2413", DI))),
        Partners(STANDARD_DOCUMENTS),
        [("F041", 1, 0)],
    ),
    (
        "f031_line_number_empty",
        declaration(item(di(imputation=sheet(line=None)))),
        Partners(STANDARD_DOCUMENTS),
        [("F031", 1, 0)],
    ),
    (
        "f030_line_number_not_one",
        declaration(item(di(imputation=sheet(line=2)))),
        Partners(STANDARD_DOCUMENTS),
        [("F030", 1, 0)],
    ),
    (
        "f030_line_number_zero",
        declaration(item(di(imputation=sheet(line=0)))),
        Partners(STANDARD_DOCUMENTS),
        [("F030", 1, 0)],
    ),
    (
        "f045_quantity_empty",
        declaration(item(di(imputation=sheet(quantity=None)))),
        Partners(STANDARD_DOCUMENTS),
        [("F045", 1, 0)],
    ),
    (
        "f042_unit_empty",
        declaration(item(di(imputation=sheet(unit=None)))),
        Partners(STANDARD_DOCUMENTS),
        [("F042", 1, 0)],
    ),
    (
        "f042_unit_blank",
        declaration(item(di(imputation=sheet(unit="  ")))),
        Partners(STANDARD_DOCUMENTS),
        [("F042", 1, 0)],
    ),
    (
        "f034_unit_lower_case",
        declaration(item(di(imputation=sheet(unit="kgm")))),
        Partners(STANDARD_DOCUMENTS),
        [("F034", 1, 0)],
    ),
    (
        "f034_unit_other_than_kgm",
        declaration(item(di(imputation=sheet(unit="TNE")))),
        Partners(STANDARD_DOCUMENTS),
        [("F034", 1, 0)],
    ),
    (
        "f034_unit_with_space",
        declaration(item(di(imputation=sheet(unit="KGM ")))),
        Partners(STANDARD_DOCUMENTS),
        [("F034", 1, 0)],
    ),
    (
        "f033_quantity_above_available",
        declaration(item(di(imputation=sheet(quantity="123.001")), net_mass="123")),
        Partners(STANDARD_DOCUMENTS),
        [("F033", 1, 0)],
    ),
    (
        "f033_passes_at_exactly_available",
        declaration(item(di(imputation=sheet(quantity="123")), net_mass="123")),
        Partners(STANDARD_DOCUMENTS),
        [],
    ),
    (
        "f032_di_commodity_code_outside_tariff_number",
        declaration(item(di(), commodity="1001990000")),
        Partners(STANDARD_DOCUMENTS),
        [("F032", 1, 0)],
    ),
    (
        "f032_ched_no_line_matches",
        declaration(item(doc("N853", CHEDP), commodity="0201100000")),
        Partners(STANDARD_DOCUMENTS),
        [("F032", 1, 0)],
    ),
    (
        "f032_ched_second_line_matches",
        declaration(item(doc("N853", CHEDP), commodity="1602320000", origin="TH")),
        Partners(STANDARD_DOCUMENTS),
        [],
    ),
    (
        "f046_di_origin_differs",
        declaration(item(di(), origin="CL")),
        Partners(STANDARD_DOCUMENTS),
        [("F046", 1, 0)],
    ),
    (
        "f046_ched_no_line_from_origin",
        declaration(item(doc("N853", CHEDP), commodity="0306000000", origin="VN")),
        Partners(STANDARD_DOCUMENTS),
        [("F046", 1, 0)],
    ),
    (
        "f046_cites_origin_differs",
        declaration(item(doc("C638", CITES), commodity="0106", origin="KE")),
        Partners(STANDARD_DOCUMENTS),
        [("F046", 1, 0)],
    ),
    (
        "f047_di_holder_differs",
        declaration(item(di()), importer=OTHER_IMPORTER),
        Partners(STANDARD_DOCUMENTS),
        [("F047", 1, 0)],
    ),
    (
        "f047_ched_holder_differs",
        declaration(item(doc("C640", CHEDA), commodity="0106"), importer=OTHER_IMPORTER),
        Partners(STANDARD_DOCUMENTS),
        [("F047", 1, 0)],
    ),
    (
        "f047_cites_holder_differs",
        declaration(
            item(doc("C638", CITES), commodity="0106", origin="ZA"), importer=OTHER_IMPORTER
        ),
        Partners(STANDARD_DOCUMENTS),
        [("F047", 1, 0)],
    ),
    (
        "f048_net_mass_far_from_sheet",
        declaration(item(di(), net_mass="200")),
        Partners(STANDARD_DOCUMENTS),
        [("F048", 1, None)],
    ),
    (
        "ched_sheet_is_ignored",
        declaration(
            item(doc("N853", CHEDP, sheet(line=7, quantity=None, unit="xx")), commodity="0306")
        ),
        Partners(STANDARD_DOCUMENTS),
        [],
    ),
    (
        "cites_sheet_is_ignored",
        declaration(
            item(doc("C638", CITES, sheet(line=None, unit=None)), commodity="0106", origin="ZA")
        ),
        Partners(STANDARD_DOCUMENTS),
        [],
    ),
]


@pytest.mark.parametrize(
    ("declaration_", "partners", "expected"),
    [pytest.param(*row[1:], id=row[0]) for row in RULE_ROWS],
)
def test_each_rule_raises_its_message(
    declaration_: Declaration, partners: Partners, expected: list[Expected]
) -> None:
    assert run(declaration_, partners) == expected


def test_every_message_code_has_a_rule_row() -> None:
    raised = {code for row in RULE_ROWS for code, _, _ in row[3]}
    assert raised == set(RULES)


def test_messages_name_item_document_and_reference() -> None:
    dec = declaration(item(di(imputation=sheet(line=3)), number=4))
    [message] = run_checks(declaration=dec, lookup=Partners(STANDARD_DOCUMENTS))
    assert message == Message(
        code="F030", item=4, document_code="2413", reference=DI, document_index=0
    )
    assert message.label == "N° de ligne non conforme"
    assert message.forceable is False


def test_f048_names_the_item_only() -> None:
    dec = declaration(item(di(), number=3, net_mass="50"))
    [message] = run_checks(declaration=dec, lookup=Partners(STANDARD_DOCUMENTS))
    assert (message.code, message.item, message.document_code, message.reference) == (
        "F048",
        3,
        None,
        None,
    )


# --- F001 stops everything else on that document -----------------------------------------------


def test_ched_reference_under_the_wrong_ched_code_is_f001_and_nothing_else() -> None:
    partners = Partners(
        [published("N853", CHEDP, line("9999", origin="XX"), status="ANN", holder="FR0")]
    )
    dec = declaration(item(doc("C640", CHEDP, sheet(line=None)), commodity="0306"))
    assert run(dec, partners) == [("F001", 1, 0)]
    assert partners.calls == []  # a malformed reference is never sent


def test_f001_unknown_document_gets_no_sheet_checks() -> None:
    dec = declaration(item(di("2016-01-9999999-00", sheet(line=None, quantity=None, unit="x"))))
    assert run(dec, Partners(STANDARD_DOCUMENTS)) == [("F001", 1, 0)]


def test_paper_di_without_sheet_is_f001_not_f041() -> None:
    dec = declaration(item(doc("2413", "2016-01-9999999-00")))
    assert run(dec, Partners(STANDARD_DOCUMENTS)) == [("F001", 1, 0)]


def test_lookup_answer_missing_a_reference_counts_as_unknown() -> None:
    def forgetful(partner: str, keys: list[DocumentKey]) -> dict[DocumentKey, PartnerDocument]:
        return {}

    dec = declaration(item(di()))
    assert [m.code for m in run_checks(declaration=dec, lookup=forgetful)] == ["F001"]


# --- F022 does not stop the other checks -------------------------------------------------------


def test_f022_keeps_running_the_other_checks() -> None:
    partners = Partners(
        [published("2413", DI, line("0601", origin="NL", available="0"), status="EPU")]
    )
    dec = declaration(item(di(imputation=sheet(line=2))), importer=OTHER_IMPORTER)
    assert [code for code, _, _ in run(dec, partners)] == [
        "F022",
        "F030",
        "F032",
        "F033",
        "F046",
        "F047",
    ]


# --- sheet checks ------------------------------------------------------------------------------


def test_f041_suppresses_every_sheet_check_and_f048() -> None:
    dec = declaration(item(doc("2413", DI), net_mass="999"))
    assert run(dec, Partners(STANDARD_DOCUMENTS)) == [("F041", 1, 0)]


def test_empty_sheet_raises_every_empty_field_message_but_no_f030_or_f034() -> None:
    dec = declaration(item(di(imputation=Imputation())))
    assert run(dec, Partners(STANDARD_DOCUMENTS)) == [
        ("F031", 1, 0),
        ("F042", 1, 0),
        ("F045", 1, 0),
    ]


# --- F048: net mass against the DI sheets ------------------------------------------------------


@pytest.mark.parametrize(
    ("net_mass", "quantity", "raised"),
    [
        pytest.param("100", "100", False, id="equal"),
        pytest.param("101", "100", False, id="exactly_1kg_above"),
        pytest.param("99", "100", False, id="exactly_1kg_below"),
        pytest.param("100.999", "100", False, id="just_under_1kg_above"),
        pytest.param("101.001", "100", True, id="1.001kg_above"),
        pytest.param("98.999", "100", True, id="1.001kg_below"),
        pytest.param("50", "100", True, id="far_below"),
        pytest.param("150", "100", True, id="far_above"),
    ],
)
def test_f048_boundary(net_mass: str, quantity: str, raised: bool) -> None:
    dec = declaration(item(di(imputation=sheet(quantity=quantity)), net_mass=net_mass))
    codes = [code for code, _, _ in run(dec, Partners(STANDARD_DOCUMENTS))]
    assert codes == (["F048"] if raised else [])


def test_f048_passes_at_exactly_one_kilogram() -> None:
    dec = declaration(item(di(imputation=sheet(quantity="99")), net_mass="100"))
    assert run(dec, Partners(STANDARD_DOCUMENTS)) == []


def test_f048_fails_at_one_kilogram_and_one_gram() -> None:
    dec = declaration(item(di(imputation=sheet(quantity="98.999")), net_mass="100"))
    assert run(dec, Partners(STANDARD_DOCUMENTS)) == [("F048", 1, None)]


def test_f048_sums_every_kgm_di_sheet_of_the_item() -> None:
    dec = declaration(
        item(
            di(DI, sheet(quantity="60")),
            di(DI_2, sheet(quantity="40.5")),
            di(DI_2, sheet(quantity="1000", unit="TNE")),  # not KGM: F034, not summed
            net_mass="101",
        )
    )
    assert run(dec, Partners(STANDARD_DOCUMENTS)) == [("F033", 1, 2), ("F034", 1, 2)]


def test_item_without_kgm_sheet_gets_no_f048() -> None:
    dec = declaration(
        item(di(imputation=sheet(unit=None)), doc("2413", DI_2), net_mass="5000"),
        item(doc("N935", "whatever"), number=2, net_mass="5000"),
    )
    assert run(dec, Partners(STANDARD_DOCUMENTS)) == [("F042", 1, 0), ("F041", 1, 1)]


def test_f048_counts_the_sheet_of_a_di_that_got_f001() -> None:
    dec = declaration(item(di("2016-01-9999999-00", sheet(quantity="100")), net_mass="100"))
    assert run(dec, Partners(STANDARD_DOCUMENTS)) == [("F001", 1, 0)]


def test_f048_other_items_are_independent() -> None:
    dec = declaration(
        item(di(imputation=sheet(quantity="10")), number=1, net_mass="10"),
        item(di(DI_2, sheet(quantity="10")), number=2, net_mass="12"),
    )
    assert run(dec, Partners(STANDARD_DOCUMENTS)) == [("F048", 2, None)]


# --- F033: running total per document across the declaration -----------------------------------


def _consuming_items(*quantities: str, reference: str = DI) -> tuple[Item, ...]:
    return tuple(
        item(di(reference, sheet(quantity=q)), number=n, net_mass=q)
        for n, q in enumerate(quantities, start=1)
    )


def test_f033_flags_the_first_exceeding_sheet_and_every_later_one() -> None:
    partners = Partners([published("2413", DI, line(available="100"))])
    dec = declaration(*_consuming_items("40", "50", "10", "0.001", "5"))
    assert run(dec, partners) == [("F033", 4, 0), ("F033", 5, 0)]


def test_f033_follows_item_numbers_not_the_order_given() -> None:
    partners = Partners([published("2413", DI, line(available="100"))])
    items = _consuming_items("40", "50", "20", "5")
    forward = run(declaration(*items), partners)
    backward = run(declaration(*reversed(items)), partners)
    assert forward == backward == [("F033", 3, 0), ("F033", 4, 0)]


def test_f033_keeps_separate_totals_per_reference() -> None:
    partners = Partners(
        [published("2413", DI, line(available="100")), published("2413", DI_2, line())]
    )
    dec = declaration(
        item(di(DI, sheet(quantity="80")), di(DI_2, sheet(quantity="80")), net_mass="160"),
        item(
            di(DI_2, sheet(quantity="80")), di(DI, sheet(quantity="20")), number=2, net_mass="100"
        ),
        item(di(DI, sheet(quantity="1")), number=3, net_mass="1"),
    )
    assert run(dec, partners) == [("F033", 3, 0)]


def test_f033_within_one_item_follows_document_order() -> None:
    partners = Partners([published("2413", DI, line(available="100"))])
    dec = declaration(
        item(di(DI, sheet(quantity="60")), di(DI, sheet(quantity="60")), net_mass="120")
    )
    assert run(dec, partners) == [("F033", 1, 1)]


def test_f033_sheet_without_quantity_neither_adds_nor_is_flagged() -> None:
    partners = Partners([published("2413", DI, line(available="100"))])
    dec = declaration(
        item(di(DI, sheet(quantity="150")), net_mass="150"),
        item(di(DI, sheet(quantity=None)), number=2),
    )
    assert run(dec, partners) == [("F033", 1, 0), ("F045", 2, 0)]


# --- several messages at once, in a stable order -----------------------------------------------


def test_several_messages_come_by_item_then_document_then_code() -> None:
    dec = declaration(
        item(
            doc("N935", "free"),
            di(imputation=sheet(line=2, unit="kg")),
            doc("C640", CHEDP),
            number=2,
            commodity="0601100000",
            net_mass="5",
        ),
        item(doc("2413", DI_2), di(imputation=sheet(quantity="20")), number=1, net_mass="20"),
        importer=OTHER_IMPORTER,
    )
    assert run(dec, Partners(STANDARD_DOCUMENTS)) == [
        ("F041", 1, 0),
        ("F047", 1, 0),
        ("F047", 1, 1),
        ("F030", 2, 1),
        ("F032", 2, 1),
        ("F034", 2, 1),
        ("F047", 2, 1),
        ("F001", 2, 2),
    ]


def test_f048_sorts_after_the_item_documents() -> None:
    dec = declaration(
        item(di(imputation=sheet(line=2)), doc("C640", CHEDP), net_mass="500"),
        item(di(DI_2), number=2),
    )
    assert run(dec, Partners(STANDARD_DOCUMENTS)) == [
        ("F030", 1, 0),
        ("F001", 1, 1),
        ("F048", 1, None),
    ]


# --- documents that are not GUN documents ------------------------------------------------------


def test_non_gun_document_needs_nothing_and_triggers_no_lookup() -> None:
    partners = Partners(STANDARD_DOCUMENTS)
    dec = declaration(item(doc("N935", "anything at all"), doc("Y923", ""), net_mass="1"))
    assert run(dec, partners) == []
    assert partners.calls == []
    assert profile_for("N935") is None


# --- partners: one lookup each, T001 for the unreachable one only ------------------------------


def test_lookup_once_per_partner_with_deduplicated_well_formed_references() -> None:
    partners = Partners(STANDARD_DOCUMENTS)
    dec = declaration(
        item(di(DI), di("bad"), doc("N853", CHEDP), commodity="0306", net_mass="100"),
        item(di(DI), di(DI_2), doc("C640", CHEDA), number=2, net_mass="200"),
    )
    run(dec, partners)
    assert partners.calls == [
        ("SEMAE", [("2413", DI), ("2413", DI_2)]),
        ("TRACES", [("N853", CHEDP), ("C640", CHEDA)]),
    ]


def test_t001_for_one_partner_while_another_partner_is_still_checked() -> None:
    partners = Partners(STANDARD_DOCUMENTS, unavailable=frozenset({"SEMAE"}))
    dec = declaration(
        item(di(), doc("N853", CHEDP), di(DI_2), commodity="1209918000"),
        item(di(), number=2),
    )
    assert run(dec, partners) == [
        ("T001", 1, 0),
        ("F032", 1, 1),
        ("T001", 1, 2),
        ("F048", 1, None),
        ("T001", 2, 0),
    ]


def test_t001_still_runs_the_sheet_checks() -> None:
    partners = Partners(STANDARD_DOCUMENTS, unavailable=frozenset({"SEMAE"}))
    dec = declaration(item(di(imputation=sheet(line=2, quantity="5000")), net_mass="5000"))
    assert run(dec, partners) == [("F030", 1, 0), ("T001", 1, 0)]


def test_malformed_reference_is_f001_even_when_its_partner_is_down() -> None:
    partners = Partners(STANDARD_DOCUMENTS, unavailable=frozenset({"SEMAE"}))
    assert run(declaration(item(di("2016-1-1-1"))), partners) == [("F001", 1, 0)]
    assert partners.calls == []


# --- check modes -------------------------------------------------------------------------------


def test_passive_check_is_recorded_as_passive() -> None:
    dec = declaration(item(di(), origin="CL", net_mass="300"))
    messages = run_checks(
        declaration=dec,
        lookup=Partners(STANDARD_DOCUMENTS),
        check_modes={("2413", "F046"): "passive", ("2413", "F048"): "passive"},
    )
    assert [(m.code, m.passive) for m in messages] == [("F046", True), ("F048", True)]


def test_passive_mode_of_one_profile_leaves_the_others_live() -> None:
    dec = declaration(item(doc("N853", CHEDP), commodity="0306", origin="CL"))
    messages = run_checks(
        declaration=dec,
        lookup=Partners(STANDARD_DOCUMENTS),
        check_modes={("2413", "F046"): "passive", ("N853", "F046"): "live"},
    )
    assert [(m.code, m.passive) for m in messages] == [("F046", False)]


def test_passive_f001_still_stops_the_document() -> None:
    dec = declaration(item(di("bad", sheet(line=None))))
    messages = run_checks(
        declaration=dec,
        lookup=Partners(STANDARD_DOCUMENTS),
        check_modes={("2413", "F001"): "passive"},
    )
    assert [(m.code, m.passive) for m in messages] == [("F001", True)]


@pytest.mark.parametrize(
    "modes",
    [
        pytest.param({("2413", "F046"): "off"}, id="unknown_mode"),
        pytest.param({("C640", "F033"): "passive"}, id="check_not_in_profile"),
        pytest.param({("N935", "F001"): "passive"}, id="not_a_gun_profile"),
    ],
)
def test_bad_check_modes_are_refused(modes: dict[tuple[str, str], str]) -> None:
    with pytest.raises(ValueError):
        run_checks(
            declaration=declaration(item(di())),
            lookup=Partners(STANDARD_DOCUMENTS),
            check_modes=modes,
        )


# --- the catalogue and the profiles ------------------------------------------------------------

RULE_BOOK_LABELS = {
    "T001": "Erreur technique",
    "F001": "Référence du document non reconnue",
    "F022": "Document non valide",
    "F041": "Fiche d'imputation absente",
    "F031": "N° de ligne non renseigné",
    "F030": "N° de ligne non conforme",
    "F045": "Quantité non renseignée",
    "F042": "Unité de mesure non renseignée",
    "F034": "Unité de mesure non-conforme",
    "F033": "Quantité trop importante sur la fiche d'imputation",
    "F032": "Produits déclarés non conformes au document",
    "F046": "Pays d'origine non conforme au document",
    "F047": "Importateur non conforme au document",
    "F048": (
        "Incohérence entre la masse nette de l'article (case 38) et la/les quantité(s) "
        "déclarée(s) sur la/les fiche(s) d'imputation"
    ),
}


@pytest.mark.parametrize(("code", "label"), sorted(RULE_BOOK_LABELS.items()))
def test_catalogue_label_is_the_rule_book_label(code: str, label: str) -> None:
    definition = RULES[code]
    assert definition.label_fr == label
    assert definition.label_en and definition.advice_fr and definition.advice_en
    assert definition.forceable is (code in {"T001", "F001", "F032"})


def test_catalogue_holds_exactly_the_rule_book_codes() -> None:
    assert set(RULES) == set(RULE_BOOK_LABELS)


def test_unknown_message_code_is_refused() -> None:
    with pytest.raises(ValueError):
        Message(code="F999", item=1)


@pytest.mark.parametrize(
    ("code", "partner", "single_use", "checks"),
    [
        (
            "2413",
            "SEMAE",
            False,
            "T001 F001 F022 F030 F031 F032 F033 F034 F041 F042 F045 F046 F047 F048",
        ),
        ("C640", "TRACES", True, "T001 F001 F022 F032 F046 F047"),
        ("N853", "TRACES", True, "T001 F001 F022 F032 F046 F047"),
        ("C678", "TRACES", True, "T001 F001 F022 F032 F046 F047"),
        ("C085", "TRACES", True, "T001 F001 F022 F032 F046 F047"),
        ("C638", "CITES", True, "T001 F001 F022 F046 F047"),
        ("C639", "CITES", True, "T001 F001 F022 F046 F047"),
        ("C401", "CITES", True, "T001 F001 F022 F046 F047"),
    ],
)
def test_profile_matches_the_rule_book(
    code: str, partner: str, single_use: bool, checks: str
) -> None:
    profile = profile_for(code)
    assert profile is not None
    assert (profile.partner, profile.single_use) == (partner, single_use)
    assert sorted(profile.checks) == sorted(checks.split())
    assert profile.sheet_required is (code == "2413")
    assert profile.unit == ("KGM" if code == "2413" else None)


def test_profiles_are_exactly_the_rule_book_codes() -> None:
    assert set(PROFILES) == {"2413", "C640", "N853", "C678", "C085", "C638", "C639", "C401"}


@pytest.mark.parametrize("profile", PROFILES.values(), ids=list(PROFILES))
def test_required_sheet_fields_are_checked_by_the_profile(profile: object) -> None:
    assert profile is not None
    fields = profile.required_sheet_fields  # type: ignore[attr-defined]
    codes = profile.checks  # type: ignore[attr-defined]
    assert {SHEET_FIELD_MESSAGES[f] for f in fields} <= set(codes)


@pytest.mark.parametrize(
    ("code", "reference", "well_formed"),
    [
        ("2413", "2016-01-0000122-00", True),
        ("2413", "2016-01-0000122-0", False),
        ("2413", "2016-01-0000122-00 ", False),
        ("2413", "2016-01-0000122-00\n", False),
        ("2413", "٢٠١٦-01-0000122-00", False),  # non-ASCII digits
        ("2413", "2016/01/0000122/00", False),
        ("C640", "CHEDA.FR.2024.0000001", True),
        ("C640", "CHEDP.FR.2024.0000001", False),
        ("N853", "CHEDP.FR.2024.0000001", True),
        ("N853", "CHEDPP.FR.2024.0000001", False),
        ("C678", "CHEDD.IT.2019.0133774", True),
        ("C678", "CHEDD.it.2019.0133774", False),
        ("C085", "CHEDPP.NL.2023.1234567", True),
        ("C085", "CHEDP.NL.2023.1234567", False),
        ("C638", "A", True),
        ("C639", "24 FR 000123 / IMP", True),
        ("C401", "X" * 35, True),
        ("C401", "X" * 36, False),
        ("C638", "", False),
        ("C638", " FR123", False),
        ("C639", "FR123 ", False),
        ("C401", "FR123\u00a0", False),
    ],
)
def test_reference_patterns(code: str, reference: str, well_formed: bool) -> None:
    profile = profile_for(code)
    assert profile is not None
    assert profile.reference_is_well_formed(reference) is well_formed
