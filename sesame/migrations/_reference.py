"""Reference data shared by the data migration and the test suite (which flushes tables)."""

POSTS = [
    ("FRLEH4", "Le Havre port", "FRLEH"),
    ("FRDKK4", "Dunkerque port", "FRDKK"),
    ("FRMRS4", "Marseille port", "FRMRS"),
]


def load_border_control_posts(model=None) -> None:  # type: ignore[no-untyped-def]
    if model is None:
        from sesame.models import BorderControlPost as model
    for code, name, port in POSTS:
        model.objects.get_or_create(code=code, defaults={"name": name, "port": port})
