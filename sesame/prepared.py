"""Server-side prepared statements for the fixed-shape SQL of hot paths.

psycopg2 sends every statement as text, so PostgreSQL parses, analyses and plans it each time:
for the statements of a GUN validation that was most of the database's CPU (planning a
join of a few rows costs more than running it). A ``Prepared`` statement is ``PREPARE``d once
per database connection, the first time it is used on it, and then sent as ``EXECUTE name(…)``;
the connection (``plan_cache_mode = force_generic_plan``, see settings) keeps one plan for it.

Statements take arrays where the number of rows varies (``unnest``), so one shape serves any
number of items. Prepared statements live as long as the session: they survive a rolled-back
transaction and are forgotten (here and by the server) when the connection is replaced, which
``connection_created`` tells. They need a session of their own: behind a pooler in transaction
mode they would not be found.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.signals import connection_created
from django.db.models import Field, Model
from django.dispatch import receiver

_DONE = "sesame_prepared"


@receiver(connection_created)
def _new_session(sender: Any, connection: Any, **kwargs: Any) -> None:
    setattr(connection, _DONE, set())


class Prepared:
    """One statement: ``name``, its parameter types (PostgreSQL names) and its SQL with
    ``$1 … $n``. ``sql()`` is what to send (``EXECUTE name(%s::type, …)``, the parameters then
    passed as usual) once ``ensure()`` has prepared it on the connection."""

    def __init__(self, name: str, types: Sequence[str], body: str) -> None:
        self.name = name
        self.types = list(types)
        self.body = body
        args = ", ".join(f"%s::{t}" for t in self.types)
        self.call = f"EXECUTE {name}({args})" if self.types else f"EXECUTE {name}"

    def ensure(self, using: str = DEFAULT_DB_ALIAS) -> str:
        """Prepare on the current connection when not done yet; returns ``EXECUTE …``."""
        connection = connections[using]
        connection.ensure_connection()
        done = getattr(connection, _DONE, None)
        if done is None:  # connected before this module was imported
            done = set()
            setattr(connection, _DONE, done)
        if self.name not in done:
            types = f" ({', '.join(self.types)})" if self.types else ""
            with connection.cursor() as cursor:
                # No parameter here: psycopg2 leaves the text as it is ($1 … $n).
                cursor.execute(f"PREPARE {self.name}{types} AS {self.body}")
            done.add(self.name)
        return self.call


def named(prefix: str, body: str, types: Sequence[str]) -> Prepared:
    """A ``Prepared`` whose name is derived from its text: two shapes never share a name."""
    digest = hashlib.sha1(  # noqa: S324 - a name, not a secret
        (body + "|" + ",".join(types)).encode()
    ).hexdigest()[:12]
    return Prepared(f"{prefix}_{digest}", types, body)


def db_type(field: Field) -> str:
    """The PostgreSQL type of a concrete field's column (a foreign key: its target's)."""
    connection = connections[DEFAULT_DB_ALIAS]
    target = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
    kind = target.db_type(connection) or "text"
    # Without modifiers: an explicit cast to varchar(n) would cut a longer value silently,
    # where the column's own assignment refuses it.
    return re.sub(r"\(.*?\)", "", kind).strip()


_inserts: dict[tuple[type[Model], bool, bool], tuple[Prepared, list[Field]]] = {}


def insert_statement(
    model: type[Model], *, with_pk: bool = False, returning: bool = False
) -> tuple[Prepared, list[Field]]:
    """``INSERT INTO t (cols) SELECT * FROM unnest($1, …) [RETURNING id]``: any number of rows,
    one array per column (rows keep their order); and the fields in column order."""
    found = _inserts.get((model, with_pk, returning))
    if found is None:
        meta = model._meta
        fields = [f for f in meta.concrete_fields if with_pk or not f.primary_key]
        columns = ", ".join(f'"{f.column}"' for f in fields)
        arrays = ", ".join(f"${n}" for n in range(1, len(fields) + 1))
        body = f'INSERT INTO "{meta.db_table}" ({columns}) SELECT * FROM unnest({arrays})'  # noqa: S608
        if returning:
            body = (
                f'INSERT INTO "{meta.db_table}" ({columns}) SELECT {columns} FROM '  # noqa: S608
                f"unnest({arrays}) WITH ORDINALITY AS v({columns}, n) ORDER BY n RETURNING id"
            )
        types = [f"{db_type(f)}[]" for f in fields]
        prepared = named(f"ins_{meta.db_table}"[:40], body, types)
        found = _inserts[(model, with_pk, returning)] = (prepared, fields)
    return found
