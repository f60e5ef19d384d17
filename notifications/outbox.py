"""What the outboxes of notifications and webhooks share: writing the outcomes of a batch."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connection

_pools: dict[str, tuple[int, ThreadPoolExecutor]] = {}
_pools_guard = threading.Lock()


def process_threads(name: str, size: int) -> ThreadPoolExecutor:
    """This process's pool of ``size`` threads called ``name`` for a batch's network calls
    (made after a fork, never shared with the parent process)."""
    with _pools_guard:
        found = _pools.get(name)
        if found is None or found[0] != os.getpid():
            found = (os.getpid(), ThreadPoolExecutor(max_workers=size, thread_name_prefix=name))
            _pools[name] = found
        return found[1]


def values_update(
    *,
    table: str,
    alias_columns: str,
    types: list[str],
    rows: list[list[Any]],
    assignments: str,
    where: str,
    leading: list[Any],
) -> int:
    """One UPDATE ... FROM (VALUES ...) for many rows (Django's bulk_update builds a CASE per
    row and column, which costs more CPU than the whole batch's HTTP calls). Returns the number
    of rows updated. ``table``, ``alias_columns``, ``assignments`` and ``where`` are SQL written
    by the caller (``d`` the table, ``v`` the values); every value is a parameter."""
    group = "(" + ", ".join(f"%s::{kind}" for kind in types) + ")"
    sql = (
        f"UPDATE {table} AS d SET {assignments} "  # noqa: S608
        f"FROM (VALUES {', '.join([group] * len(rows))}) AS v({alias_columns}) WHERE {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*leading, *(value for row in rows for value in row)])
        return cursor.rowcount
