"""WSGI entry point: pages and the API, served by gunicorn's sync workers."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sesame.settings")
application = get_wsgi_application()
