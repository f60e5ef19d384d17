"""Rate limits of the GUN's costly operations, per API key (``throttle_scope`` on the view,
the rate of that scope in ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``).

Anticipation and validation answer with what the GUN learned from partner documents: a limit
per key keeps a client from probing them in bulk (docs/gun.md, "Mandates").
"""

from __future__ import annotations

from typing import Any

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle

from sesame.api.permissions import request_key


class KeyScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle counted per API key (the client's address only without one), the
    rates read from the settings at each request (so they can be set per deployment)."""

    def get_rate(self) -> str | None:
        self.THROTTLE_RATES = dict(api_settings.DEFAULT_THROTTLE_RATES)  # type: ignore[arg-type]
        return super().get_rate()

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        key = request_key(request)
        ident = f"key-{key.prefix}" if key is not None else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


def scoped_throttles() -> list[type[BaseThrottle]]:
    """The project's throttles when it configures some (they honour ``throttle_scope``), else
    the per-key scoped throttle above."""
    configured: list[type[BaseThrottle]] = list(api_settings.DEFAULT_THROTTLE_CLASSES)  # type: ignore[arg-type]
    return configured or [KeyScopedRateThrottle]
