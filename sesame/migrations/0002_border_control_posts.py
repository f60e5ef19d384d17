"""Reference data: the border control posts of the three FRANCE SESAME ports."""

from django.db import migrations

POSTS = [
    ("FRLEH4", "Le Havre port", "FRLEH"),
    ("FRDKK4", "Dunkerque port", "FRDKK"),
    ("FRMRS4", "Marseille port", "FRMRS"),
]


def load(apps, schema_editor):
    post = apps.get_model("sesame", "BorderControlPost")
    for code, name, port in POSTS:
        post.objects.update_or_create(code=code, defaults={"name": name, "port": port})


class Migration(migrations.Migration):
    dependencies = [("sesame", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
