"""The portal's own documents as real PDF files, drawn with ReportLab (platypus).

ReportLab is a maintained, pure-Python PDF library with no system dependency (no browser, no
Pango/Cairo as HTML-to-PDF tools need): tables and headings are all these documents need. Its
standard fonts use WinAnsi encoding, which covers French (accents, œ, €). The documents are in
French, the language of the formalities, with the codes and numbers of the customs systems.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle


@dataclass(frozen=True)
class Section:
    title: str
    rows: Sequence[Sequence[Any]] = ()  # a table: the first row is the header
    lines: Sequence[str] = ()  # or paragraphs
    widths: Sequence[float] | None = None


@dataclass(frozen=True)
class Sheet:
    """What a generated document says: a title, key facts, then sections."""

    title: str
    subtitle: str
    facts: Sequence[tuple[str, str]]
    sections: Sequence[Section] = field(default_factory=tuple)
    footer: str = ""


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def render(sheet: Sheet) -> bytes:
    """The sheet as a PDF (A4), in memory: these documents are a few pages at most."""
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=sheet.title,
        author="Sesame",
        subject=sheet.subtitle,
        creator="Sesame",
    )
    story: list[Any] = [
        Paragraph(escape(sheet.title), styles["Title"]),
        Paragraph(escape(sheet.subtitle), styles["Heading3"]),
        Spacer(1, 4 * mm),
    ]
    if sheet.facts:
        facts = Table(
            [
                [Paragraph(f"<b>{escape(label)}</b>", small), Paragraph(escape(value), small)]
                for label, value in sheet.facts
            ],
            colWidths=[55 * mm, 125 * mm],
        )
        facts.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story += [facts, Spacer(1, 4 * mm)]
    for section in sheet.sections:
        story.append(Paragraph(escape(section.title), styles["Heading2"]))
        for line in section.lines:
            story.append(Paragraph(escape(line), styles["BodyText"]))
        if section.rows:
            table = Table(
                [[Paragraph(escape(_text(cell)), small) for cell in row] for row in section.rows],
                colWidths=[width * mm for width in section.widths] if section.widths else None,
                repeatRows=1,
            )
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3e3fd")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story.append(table)
        story.append(Spacer(1, 3 * mm))
    if sheet.footer:
        story.append(Paragraph(escape(sheet.footer), small))
    document.build(story)
    return buffer.getvalue()
