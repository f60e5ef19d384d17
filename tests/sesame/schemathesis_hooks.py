"""Schemathesis hooks (loaded by the CLI run of tests/sesame/test_schemathesis.py): strategies
for the identifier formats the OpenAPI document names (sesame/api/fields.py), so generated
values carry valid check digits and positive tests reach the business rules."""

from __future__ import annotations

import re

import schemathesis
from hypothesis import strategies as st
from stdnum import iso6346, luhn

DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@st.composite
def _eori(draw: st.DrawFn) -> str:
    body = draw(st.text(DIGITS, min_size=8, max_size=8))
    siren = body + luhn.calc_check_digit(body)
    if draw(st.booleans()):
        return f"FR{siren}"
    establishment = draw(st.text(DIGITS, min_size=4, max_size=4))
    return f"FR{siren}{establishment}{luhn.calc_check_digit(siren + establishment)}"


@st.composite
def _container(draw: st.DrawFn) -> str:
    owner = draw(st.text(LETTERS, min_size=3, max_size=3))
    category = draw(st.sampled_from("UJZR"))
    serial = draw(st.text(DIGITS, min_size=6, max_size=6))
    number = f"{owner}{category}{serial}"
    return number + iso6346.calc_check_digit(number)


@st.composite
def _ched(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["A", "P", "D", "PP"]))
    country = draw(st.text(LETTERS, min_size=2, max_size=2))
    year = draw(st.integers(2000, 2100))
    serial = draw(st.text(DIGITS, min_size=7, max_size=7))
    return f"CHED{kind}.{country}.{year}.{serial}"


schemathesis.openapi.format("eori", _eori())
schemathesis.openapi.format("iso6346", _container())
schemathesis.openapi.format("ched", _ched())
# A list's cursor is opaque (only the values a list gave are valid): the first page's.
schemathesis.openapi.format("cursor", st.just(""))


CONTROLS = re.compile("[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]")


@schemathesis.hook
def before_call(ctx, case, **kwargs):  # type: ignore[no-untyped-def]
    """A schema-valid cursor is still opaque (the coverage phase makes values without the
    format above): one the document allows becomes the first page's. One it forbids (a control
    character, too long: a negative case) is sent as made."""
    value = (case.query or {}).get("cursor")
    if isinstance(value, str) and len(value) <= 1000 and not CONTROLS.search(value):
        case.query["cursor"] = ""
