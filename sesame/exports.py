"""CSV downloads that a spreadsheet opens safely and in the reader's language.

Every CSV the portal writes goes through `csv_response`: UTF-8 with a byte order mark (so a
spreadsheet does not read it as Latin-1), `;` as separator in French (the list separator of a
French spreadsheet) and `,` otherwise, and cells that a spreadsheet would take for a formula
neutralised (OWASP "CSV injection": a leading `=`, `+`, `-`, `@`, tab or carriage return gets a
leading apostrophe). Rows are streamed, so an export never holds the whole list in memory.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import get_language

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def csv_cell(value: Any) -> str:
    """One cell as text, neutralised when a spreadsheet would evaluate it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_datetime(value: datetime | None, language: str | None = None) -> str:
    """A date and time in local time, as a spreadsheet of that language reads it: 31/12/2026
    14:05 in French, 2026-12-31 14:05 otherwise."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    french = (language or get_language() or "fr").startswith("fr")
    return local.strftime("%d/%m/%Y %H:%M" if french else "%Y-%m-%d %H:%M")


def csv_delimiter(language: str | None = None) -> str:
    return ";" if (language or get_language() or "fr").startswith("fr") else ","


class _Echo:
    """A file-like object whose write returns what it was given (csv.writer into a stream)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(
    *, header: Sequence[Any], rows: Iterable[Sequence[Any]], delimiter: str
) -> Iterator[str]:
    writer = csv.writer(_Echo(), delimiter=delimiter)
    yield BOM + writer.writerow([csv_cell(cell) for cell in header])
    for row in rows:
        yield writer.writerow([csv_cell(cell) for cell in row])


def csv_response(
    *, filename: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """A streamed CSV attachment named `<filename>-<local date and time>.csv`."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        csv_lines(header=header, rows=rows, delimiter=csv_delimiter()),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    return response
