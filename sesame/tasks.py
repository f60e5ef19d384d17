from celery import shared_task
from django.db import connection


@shared_task(name="sesame.ping")
def ping(value: str) -> dict[str, str]:
    """Round trip through a worker: proves the broker, the worker and its database work."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        database = cursor.fetchone()[0]
    return {"echo": value, "database": database}
