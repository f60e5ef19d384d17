"""`python manage.py set_calendar --post FRLEH4 --service SIVEP --hours "mon-fri 08:00-12:00
13:30-17:00; sat 08:00-12:00" --slot-minutes 30 --capacity 4 --notice-hours 24
--horizon-days 60` (idempotent: replaces the calendar)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from appointments.errors import AppointmentError
from appointments.models import Service
from appointments.services import calendar_set
from sesame.models import BorderControlPost


class Command(BaseCommand):
    help = "Create or replace the calendar of a border control post and service."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--post", required=True)
        parser.add_argument("--service", required=True, choices=Service.values)
        parser.add_argument("--hours", required=True)
        parser.add_argument("--slot-minutes", type=int, default=30)
        parser.add_argument("--capacity", type=int, default=4)
        parser.add_argument("--notice-hours", type=int, default=24)
        parser.add_argument("--horizon-days", type=int, default=60)

    def handle(self, *args: Any, **options: Any) -> None:
        post = BorderControlPost.objects.filter(code=options["post"]).first()
        if post is None:
            raise CommandError(f"No border control post {options['post']}.")
        try:
            calendar = calendar_set(
                post=post,
                service=options["service"],
                hours=options["hours"],
                slot_minutes=options["slot_minutes"],
                capacity=options["capacity"],
                notice_hours=options["notice_hours"],
                horizon_days=options["horizon_days"],
            )
        except AppointmentError as exc:
            raise CommandError(f"{exc.field or 'calendar'}: {exc.detail}") from None
        self.stdout.write(
            f"{post.code} {calendar.service}: {calendar.hours}; {calendar.slot_minutes} min, "
            f"{calendar.capacity} per slot, notice {calendar.notice_hours} h, "
            f"horizon {calendar.horizon_days} days"
        )
