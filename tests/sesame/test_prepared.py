"""Server-side prepared statements (sesame/prepared.py): prepared once per session, kept across
rolled-back transactions, prepared again on a new connection, and no laxer than plain SQL."""

import pytest
from django.db import DataError, connection, transaction

from gun.models import Declaration, GunRun
from gun.sql import insert_sql
from sesame.prepared import Prepared, insert_statement, named
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _declaration() -> Declaration:
    company = CompanyFactory()
    return Declaration.objects.create(
        company=company, client_reference="PREPARED-1", importer_eori=company.eori
    )


def _server_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def test_prepared_once_per_session_and_answers() -> None:
    statement = named("test_add", "SELECT $1 + $2", ["integer", "integer"])
    with connection.cursor() as cursor:
        cursor.execute(statement.ensure(), [2, 3])
        assert cursor.fetchone() == (5,)
    assert statement.name in _server_names()
    # The second use sends only EXECUTE: preparing again would fail ("already exists").
    with connection.cursor() as cursor:
        cursor.execute(statement.ensure(), [40, 2])
        assert cursor.fetchone() == (42,)


def test_survives_a_rolled_back_transaction() -> None:
    statement = Prepared("test_rollback_survivor", ["text"], "SELECT upper($1)")
    with pytest.raises(RuntimeError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement.ensure(), ["in"])
        raise RuntimeError("roll back")
    with connection.cursor() as cursor:
        cursor.execute(statement.ensure(), ["after"])
        assert cursor.fetchone() == ("AFTER",)


def test_prepared_again_on_a_new_connection() -> None:
    statement = Prepared("test_reconnect", [], "SELECT 7")
    with connection.cursor() as cursor:
        cursor.execute(statement.ensure())
    connection.close()  # the server forgets the session's statements
    with connection.cursor() as cursor:
        cursor.execute(statement.ensure())
        assert cursor.fetchone() == (7,)
    assert "test_reconnect" in _server_names()


def test_a_value_too_long_is_refused_not_cut() -> None:
    """The arrays are cast to unbounded types: the column still refuses a longer value."""
    declaration = _declaration()
    run = GunRun(declaration=declaration, stage="validation", outcome="accepted", by="x" * 201)
    sql, params = insert_sql(GunRun, [run])
    with pytest.raises(DataError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    assert not GunRun.objects.filter(declaration=declaration).exists()


def test_insert_keeps_row_order_and_returns_ids_in_it() -> None:
    declaration = _declaration()
    runs = [
        GunRun(declaration=declaration, stage="validation", outcome="accepted", by=f"by-{n}")
        for n in range(4)
    ]
    statement, fields = insert_statement(GunRun, returning=True)
    assert [f.name for f in fields][:2] == ["declaration", "stage"]
    columns = [
        [f.get_db_prep_save(f.pre_save(run, True), connection=connection) for run in runs]
        for f in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement.ensure(), columns)
        ids = [pk for (pk,) in cursor.fetchall()]
    stored = dict(GunRun.objects.filter(declaration=declaration).values_list("pk", "by"))
    assert [stored[pk] for pk in ids] == [f"by-{n}" for n in range(4)]
