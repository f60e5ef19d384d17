from celery import shared_task
from django.db import connection


@shared_task(name="sesame.ping")
def ping(value: str) -> dict[str, str]:
    """Round trip through a worker: proves the broker, the worker and its database work."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
    return {"echo": value, "database": database}


@shared_task(name="sesame.idempotency_purge")
def idempotency_purge() -> int:
    """Delete the Idempotency-Key records past their 24 hours."""
    from sesame.api.idempotency import idempotency_records_purge

    return idempotency_records_purge()
