"""ASGI entry point: only the live streams are routed here (by the front); see DESIGN.md.

/streams/ goes to tracking's own small ASGI application (no Django request handler, so no
thread held per open stream); anything else to Django.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sesame.settings")
django_application = get_asgi_application()

from tracking.streams import application as streams_application  # noqa: E402 (after setup)


async def application(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] == "http" and scope["path"].startswith("/streams/"):
        await streams_application(scope, receive, send)
    else:
        await django_application(scope, receive, send)
