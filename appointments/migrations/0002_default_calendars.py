"""Seeded calendars (APPOINTMENTS.md §1): every post and service, mon-fri 08:00-12:00
13:30-17:00, slots of 30 minutes, 4 per slot, 24 hours' notice, 60 days ahead."""

from django.db import migrations


def seed(apps, schema_editor):
    from appointments.services.calendars import calendars_seed

    calendars_seed(apps.get_model("appointments", "Calendar"), apps.get_model("sesame", "BorderControlPost"))


class Migration(migrations.Migration):
    dependencies = [("appointments", "0001_appointments"), ("sesame", "0002_border_control_posts")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
