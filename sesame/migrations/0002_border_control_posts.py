"""Reference data: the border control posts of the three FRANCE SESAME ports."""

from django.db import migrations

from sesame.migrations._reference import load_border_control_posts


def load(apps, schema_editor):
    load_border_control_posts(apps.get_model("sesame", "BorderControlPost"))


class Migration(migrations.Migration):
    dependencies = [("sesame", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
