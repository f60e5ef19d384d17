"""ASGI entry point: only the live streams are routed here (by the front); see DESIGN.md."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sesame.settings")
application = get_asgi_application()
