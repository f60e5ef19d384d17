"""Properties of the GUN engine over generated declarations: deterministic, sorted output."""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from gun.engine import (
    Declaration,
    DocumentKey,
    DocumentRef,
    Imputation,
    Item,
    Lookup,
    PartnerDocument,
    PartnerLine,
    PartnerUnavailable,
    run_checks,
)

IMPORTERS = ["FR73282932000074", "FR55208131766522"]
REFERENCES: list[DocumentKey] = [
    ("2413", "2016-01-0000122-00"),
    ("2413", "2016-01-0000123-00"),
    ("2413", "2016-01-122-00"),
    ("2413", "2016-01-0000999-00"),
    ("N853", "CHEDP.FR.2024.0000001"),
    ("C640", "CHEDP.FR.2024.0000001"),
    ("C640", "CHEDA.FR.2024.0000002"),
    ("C638", "FR/24/0001"),
    ("C401", " FR/24/0002"),
    ("N935", "anything"),
]
COMMODITIES = ["1209918000", "0306000000", "0106000000"]
COUNTRIES = ["MA", "TH", "ZA"]
PARTNERS = ["SEMAE", "TRACES", "CITES"]

quantities = st.decimals(min_value=0, max_value=300, places=3, allow_nan=False)

sheets = st.none() | st.builds(
    Imputation,
    line_number=st.none() | st.integers(min_value=0, max_value=3),
    quantity=st.none() | quantities,
    unit=st.sampled_from([None, "", "KGM", "kgm", "TNE"]),
)


@st.composite
def documents(draw: st.DrawFn) -> DocumentRef:
    code, reference = draw(st.sampled_from(REFERENCES))
    return DocumentRef(code=code, reference=reference, imputation=draw(sheets))


@st.composite
def declarations(draw: st.DrawFn) -> Declaration:
    numbers = draw(st.lists(st.integers(1, 99), min_size=1, max_size=5, unique=True))
    items = tuple(
        Item(
            item_number=number,
            commodity_code=draw(st.sampled_from(COMMODITIES)),
            origin_country=draw(st.sampled_from(COUNTRIES)),
            net_mass_kg=draw(quantities),
            documents=tuple(draw(st.lists(documents(), max_size=4))),
        )
        for number in numbers
    )
    return Declaration(importer_eori=draw(st.sampled_from(IMPORTERS)), items=items)


@st.composite
def partner_documents(draw: st.DrawFn, key: DocumentKey) -> PartnerDocument:
    lines = tuple(
        PartnerLine(
            line=n,
            commodity_code=draw(st.sampled_from(["12099180", "0306", "0106", "9999"])),
            origin_country=draw(st.sampled_from(COUNTRIES)),
            quantity=Decimal(300),
            unit="KGM",
            available=draw(quantities),
        )
        for n in range(1, draw(st.integers(0, 2)) + 1)
    )
    return PartnerDocument(
        code=key[0],
        reference=key[1],
        status=draw(st.sampled_from(["VAL", "EPU"])),
        holder_eori=draw(st.sampled_from(IMPORTERS)),
        lines=lines,
        used_by_other=draw(st.booleans()),
    )


@st.composite
def worlds(draw: st.DrawFn) -> tuple[dict[DocumentKey, PartnerDocument], frozenset[str]]:
    known = draw(st.lists(st.sampled_from(REFERENCES), unique=True))
    store = {key: draw(partner_documents(key)) for key in known}
    return store, frozenset(draw(st.sets(st.sampled_from(PARTNERS), max_size=1)))


def lookup_in(store: dict[DocumentKey, PartnerDocument], unavailable: frozenset[str]) -> Lookup:
    def lookup(
        partner: str, keys: list[DocumentKey]
    ) -> Mapping[DocumentKey, PartnerDocument | None]:
        if partner in unavailable:
            raise PartnerUnavailable(partner)
        return {key: store.get(key) for key in keys}

    return lookup


@settings(max_examples=300, deadline=None)
@given(
    dec=declarations(),
    world=worlds(),
    shuffle=st.randoms(use_true_random=False),
)
def test_message_order_is_deterministic_and_sorted(
    dec: Declaration,
    world: tuple[dict[DocumentKey, PartnerDocument], frozenset[str]],
    shuffle: random.Random,
) -> None:
    lookup = lookup_in(*world)
    first = run_checks(declaration=dec, lookup=lookup)
    assert first == run_checks(declaration=dec, lookup=lookup)
    assert first == sorted(first, key=lambda m: m.sort_key)
    keys = [(m.item, m.document_index is None, m.document_index or 0, m.code) for m in first]
    assert keys == sorted(keys)

    items = list(dec.items)
    shuffle.shuffle(items)
    reordered = Declaration(importer_eori=dec.importer_eori, items=tuple(items))
    assert run_checks(declaration=reordered, lookup=lookup) == first


@settings(max_examples=200, deadline=None)
@given(dec=declarations(), world=worlds())
def test_every_message_belongs_to_a_gun_document_or_names_the_item_only(
    dec: Declaration, world: tuple[dict[DocumentKey, PartnerDocument], frozenset[str]]
) -> None:
    by_number = {item.item_number: item for item in dec.items}
    for message in run_checks(declaration=dec, lookup=lookup_in(*world)):
        if message.document_index is None:
            assert (message.code, message.document_code, message.reference) == ("F048", None, None)
            continue
        document = by_number[message.item].documents[message.document_index]
        assert (document.code, document.reference) == (message.document_code, message.reference)
        assert document.code != "N935"
