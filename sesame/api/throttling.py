"""Rate limits per API key, counted in Redis, with `429`, `Retry-After` and `RateLimit` headers.

Every request of a key counts against the `api` rate; a view with a ``throttle_scope`` (DRF's
attribute) also counts against that scope's rate. Rates are DRF's
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``"6000/min"``); a scope without a rate fails
loudly. The counters are sliding-window counters of the ``limits`` library in Redis, shared by
every process: two counters per key and policy, atomic, no list of timestamps (DRF's own
throttles keep one per client in the cache, read and written back without a lock).

Each response of a key-authenticated request carries the policies and the state of the one
nearest exhaustion, as in the IETF draft "RateLimit header fields for HTTP":
``RateLimit-Policy: "api";q=6000;w=60, "gun-validate";q=30;w=60`` and
``RateLimit: "gun-validate";r=12;t=30`` (r: requests left, t: seconds until one more is
allowed at most). A refused request is ``429`` with ``Retry-After`` (DRF adds it from ``wait``)
and the error body code ``throttled``. Redis unreachable: requests are let through (logged).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from sesame.api.permissions import request_key

DEFAULT_SCOPE = "api"
HEADERS_ATTRIBUTE = "_sesame_ratelimit_headers"
logger = logging.getLogger(__name__)

_limiter: list[SlidingWindowCounterRateLimiter] = []  # one per process, built on first use


def limiter() -> SlidingWindowCounterRateLimiter:
    if not _limiter:
        prefix = f"{settings.CACHES['default'].get('KEY_PREFIX', 'sesame')}:ratelimit"
        storage = RedisStorage(settings.REDIS_URL, key_prefix=prefix, wrap_exceptions=True)
        _limiter.append(SlidingWindowCounterRateLimiter(storage))
    return _limiter[0]


@dataclass(frozen=True)
class Policy:
    name: str
    quota: int
    window: int  # seconds

    @property
    def item(self) -> RateLimitItemPerSecond:
        return RateLimitItemPerSecond(self.quota, self.window)


PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def policy(name: str) -> Policy:
    """The policy of a throttle scope, from DRF's rates setting (DRF's syntax: ``30/min``)."""
    rate = str(api_settings.DEFAULT_THROTTLE_RATES.get(name) or "")
    quota, _, period = rate.partition("/")
    if not quota.isdigit() or period[:1] not in PERIODS:
        raise ImproperlyConfigured(
            f"No valid rate in DEFAULT_THROTTLE_RATES for {name!r}: {rate!r}"
        )
    return Policy(name, int(quota), PERIODS[period[0]])


@dataclass(frozen=True)
class State:
    policy: Policy
    allowed: bool
    remaining: int
    reset_in: float  # seconds


def _hit(policy: Policy, identity: str) -> State:
    rate_limiter = limiter()
    allowed = rate_limiter.hit(policy.item, identity, policy.name)
    stats = rate_limiter.get_window_stats(policy.item, identity, policy.name)
    return State(policy, allowed, stats.remaining, max(stats.reset_time - time.time(), 0.0))


def _headers(states: list[State]) -> dict[str, str]:
    nearest = min(states, key=lambda state: (state.allowed, state.remaining / state.policy.quota))
    return {
        "RateLimit-Policy": ", ".join(
            f'"{state.policy.name}";q={state.policy.quota};w={state.policy.window}'
            for state in states
        ),
        "RateLimit": f'"{nearest.policy.name}";r={nearest.remaining};'
        f"t={math.ceil(nearest.reset_in)}",
    }


class KeyRateThrottle(BaseThrottle):
    """Counts a key's request against `api` and the view's ``throttle_scope`` (if any)."""

    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        key = request_key(request)
        if key is None:
            return True
        names = [DEFAULT_SCOPE]
        scope = getattr(view, "throttle_scope", None)
        if scope and scope != DEFAULT_SCOPE:
            names.append(scope)
        rates = api_settings.DEFAULT_THROTTLE_RATES
        # A scope set to None is lifted on purpose (e.g. GUN_VALIDATION_RATE=none); a scope
        # missing from the setting is a configuration error (policy raises).
        policies = [policy(name) for name in names if not (name in rates and rates[name] is None)]
        if not policies:
            return True
        try:
            states = [_hit(item, key.prefix) for item in policies]
        except StorageError:
            logger.warning("rate limits unavailable (Redis); request let through")
            return True
        setattr(request._request, HEADERS_ATTRIBUTE, _headers(states))
        refused = [state for state in states if not state.allowed]
        if refused:
            self._wait = max(1.0, max(state.reset_in for state in refused))
            return False
        return True

    def wait(self) -> float | None:
        return None if self._wait is None else float(math.ceil(self._wait))


class RateLimitHeadersMiddleware:
    """Adds the headers the throttle computed to the response (429 included)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        headers = getattr(request, HEADERS_ATTRIBUTE, None)
        if headers:
            for name, value in headers.items():
                response.headers.setdefault(name, value)
        return response
