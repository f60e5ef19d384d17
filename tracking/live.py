"""Publishing recorded events on Redis pub/sub, one channel per company.

Channel names carry the database name, so two databases sharing one Redis (pub/sub ignores
Redis database numbers) never see each other's events.
"""

import json
import logging
from functools import cache

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


def channel_prefix() -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "sesame")
    return f"{prefix}:{settings.DATABASES['default']['NAME']}:tracking:company:"


def company_channel(company_id: int) -> str:
    return f"{channel_prefix()}{company_id}"


@cache
def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


def publish(
    *, company_id: int, event_id: int, consignment_id: int, kind: str, occurred_at: str
) -> None:
    """Announce an event to the stream servers; a Redis outage loses only the live push
    (clients catch up from the database with Last-Event-ID when they reconnect)."""
    message = json.dumps(
        {
            "id": event_id,
            "consignment": consignment_id,
            "kind": kind,
            "occurred_at": occurred_at,
            "company": company_id,
        }
    )
    try:
        _client().publish(company_channel(company_id), message)
    except redis.RedisError:
        logger.exception("could not publish tracking event %s", event_id)
