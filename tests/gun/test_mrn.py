"""MRN check character (DESIGN.md, reference data and identifiers)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gun.engine import is_valid_mrn, make_mrn, mrn_check_character
from gun.engine.mrn import CHARACTER_VALUES

VALID = ["21DE27364916384836", "25GB2XHHM4884KEAR1", "24GBBGBKCDMS965015"]


@pytest.mark.parametrize("mrn", VALID)
def test_published_examples_are_valid(mrn: str) -> None:
    assert is_valid_mrn(mrn)
    assert mrn_check_character(mrn[:17]) == mrn[17]


@pytest.mark.parametrize(
    "mrn",
    [
        pytest.param("21DE27364916384835", id="wrong_check_character"),
        pytest.param("25GB2XHHM4884KEAR2", id="wrong_check_character_2"),
        pytest.param("24GBBGBKCDMS965016", id="wrong_check_character_3"),
        pytest.param("21DE27364916384846", id="one_digit_changed"),
        pytest.param("25GB2XHHM4884KEBR1", id="one_letter_changed"),
        pytest.param("24GBGBBKCDMS965015", id="two_letters_swapped"),
        pytest.param("25gb2xhhm4884kear1", id="lower_case"),
        pytest.param("21DE2736491638483", id="too_short"),
        pytest.param("21DE273649163848366", id="too_long"),
        pytest.param("2XDE27364916384836", id="year_not_digits"),
        pytest.param("2112736491638483 6", id="space"),
        pytest.param("", id="empty"),
    ],
)
def test_altered_mrns_are_invalid(mrn: str) -> None:
    assert not is_valid_mrn(mrn)


def test_non_string_is_invalid() -> None:
    assert not is_valid_mrn(None)
    assert not is_valid_mrn(21_000_000_000_000_000)


@pytest.mark.parametrize(
    ("letter", "value"),
    [("A", 10), ("B", 12), ("K", 21), ("L", 23), ("U", 32), ("V", 34), ("W", 35), ("Z", 38)],
)
def test_letter_values_skip_multiples_of_eleven(letter: str, value: int) -> None:
    assert CHARACTER_VALUES[letter] == value
    assert all(v % 11 for v in CHARACTER_VALUES.values() if v >= 10)


def test_make_mrn_builds_a_valid_french_import_mrn() -> None:
    mrn = make_mrn(year=2025, serial="2XHHM4884KEA")
    assert mrn == "25FR2XHHM4884KEAR" + mrn_check_character("25FR2XHHM4884KEAR")
    assert len(mrn) == 18
    assert is_valid_mrn(mrn)


def test_make_mrn_reproduces_a_published_example() -> None:
    assert make_mrn(year=25, country="GB", serial="2XHHM4884KEA") == "25GB2XHHM4884KEAR1"


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"year": -1, "serial": "A" * 12}, id="negative_year"),
        pytest.param({"year": 2025, "serial": "A" * 11}, id="short_serial"),
        pytest.param({"year": 2025, "serial": "a" * 12}, id="lower_case_serial"),
        pytest.param({"year": 2025, "serial": "A" * 12, "country": "FRA"}, id="bad_country"),
        pytest.param({"year": 2025, "serial": "A" * 12, "procedure": "1"}, id="bad_procedure"),
    ],
)
def test_make_mrn_refuses_bad_parts(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make_mrn(**kwargs)  # type: ignore[arg-type]


def test_check_character_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        mrn_check_character("21de2736491638483")
    with pytest.raises(ValueError):
        mrn_check_character("21DE273649163848")


ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@given(
    year=st.integers(min_value=2000, max_value=2099),
    serial=st.text(alphabet=ALNUM, min_size=12, max_size=12),
    procedure=st.sampled_from("ABRTX"),
)
def test_every_made_mrn_is_valid_and_any_changed_check_character_is_not(
    year: int, serial: str, procedure: str
) -> None:
    mrn = make_mrn(year=year, serial=serial, procedure=procedure)
    assert is_valid_mrn(mrn)
    assert mrn.startswith(f"{year % 100:02d}FR{serial}{procedure}")
    for other in "0123456789":
        if other != mrn[17]:
            assert not is_valid_mrn(mrn[:17] + other)
