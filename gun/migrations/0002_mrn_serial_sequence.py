"""The MRN serial: a PostgreSQL sequence, so two validations never get the same MRN."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("gun", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS gun_mrn_serial START 1",
            "DROP SEQUENCE IF EXISTS gun_mrn_serial",
        ),
    ]
