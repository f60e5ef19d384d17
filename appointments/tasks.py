"""Periodic work (Celery beat, sesame/settings.py CELERY_BEAT_SCHEDULE): reminders and the
waitlist's expiries and offers. Each is a service function; state lives in the database, so a
beat or worker restart neither loses nor repeats anything."""

from typing import Any

from celery import shared_task


@shared_task(name="appointments.reminders", ignore_result=True)
def reminders() -> int:
    from appointments.services import reminders_send

    return reminders_send()


@shared_task(name="appointments.waitlist_sweep", ignore_result=True)
def waitlist_sweep() -> dict[str, Any]:
    from appointments.services import waitlist_sweep as sweep

    return sweep()
