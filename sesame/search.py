"""Search of the list pages: what was typed matches any part of an indexed text (prefixes and
parts of references, containers, BLs, MRNs, CHEDs), case-insensitive.

Each app declares the text of a row as one expression (e.g. tracking.selectors.
CONSIGNMENT_SEARCH_TEXT), indexed by a trigram GIN index created by a migration on exactly that
expression; ``search_filter`` keeps the rows whose text contains the typed words.
"""

from typing import Any

from django.db.models import Func, Q, QuerySet, TextField

MAX_LENGTH = 70
ALIAS = "search_text"


def search_variants(text: str) -> list[str]:
    """What to look for: the typed text, trimmed, upper-cased, inner spaces collapsed; and
    without its spaces too when it has some (a container typed "CSQU 305438 3")."""
    term = " ".join((text or "").split()).upper()[:MAX_LENGTH]
    if not term:
        return []
    compact = term.replace(" ", "")
    return [term] if compact == term else [term, compact]


class SearchText(Func):
    """The upper-cased text of a row, its parts joined by single spaces:
    ``UPPER(a || ' ' || b …)``, written exactly as the trigram index of the migration writes
    it (Concat() would wrap every part in COALESCE and no longer match the index). Parts must
    not be NULL (wrap a nullable column in Coalesce)."""

    template = "UPPER(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = TextField()


def search_filter(queryset: QuerySet, expression: Any, text: str) -> QuerySet:
    """``queryset`` narrowed to rows whose ``expression`` contains what was typed (every row
    when nothing was)."""
    variants = search_variants(text)
    if not variants:
        return queryset
    condition = Q()
    for variant in variants:
        condition |= Q(**{f"{ALIAS}__contains": variant})
    return queryset.alias(**{ALIAS: expression}).filter(condition)
