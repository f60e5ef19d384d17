"""The shared CSV writer: BOM, separator per language, formula cells neutralised, streamed."""

import csv
import io

import pytest
from django.utils import translation

from sesame.exports import csv_cell, csv_response


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+33612345678", "'+33612345678"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("ACME-0042", "ACME-0042"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_cell_a_spreadsheet_would_evaluate_is_neutralised(value: object, expected: str) -> None:
    assert csv_cell(value) == expected


def _read(response: object, delimiter: str) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[attr-defined]
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:]), delimiter=delimiter))


def test_french_export_has_a_bom_and_semicolons() -> None:
    with translation.override("fr"):
        response = csv_response(
            filename="lots", header=["Référence", "Statut"], rows=[["=1+1", "Arrivé"]]
        )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="lots-')
    assert _read(response, ";") == [["Référence", "Statut"], ["'=1+1", "Arrivé"]]


def test_english_export_uses_commas() -> None:
    with translation.override("en"):
        response = csv_response(filename="x", header=["Reference"], rows=iter([["a,b"]]))
    assert _read(response, ",") == [["Reference"], ["a,b"]]
