"""One Redis pub/sub subscription per server process, fanned out to each client's queue.

The hub starts lazily with the first stream, pattern-subscribes to every company channel of
this database, and hands each message to the queues registered for that company. A client
too slow to drain its queue is told to reconnect (it then catches up with Last-Event-ID).
"""

import asyncio
import json
import logging
import os
from collections import defaultdict
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings

from tracking.live import channel_prefix

logger = logging.getLogger(__name__)

QUEUE_SIZE = 1000
OVERFLOW: dict[str, Any] = {"overflow": True}  # sentinel: the client must reconnect


class Hub:
    def __init__(self) -> None:
        self.queues: dict[int, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @property
    def client_count(self) -> int:
        return sum(len(queues) for queues in self.queues.values())

    async def subscribe(self, company_id: int) -> asyncio.Queue[dict[str, Any]]:
        """A queue receiving every message of this company's channel from now on."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self.queues[company_id].add(queue)
        if self.task is None or self.task.done():
            self.ready.clear()
            self.task = asyncio.create_task(self._run(), name="tracking-hub")
        await self.ready.wait()
        return queue

    def unsubscribe(self, company_id: int, queue: asyncio.Queue[dict[str, Any]]) -> None:
        queues = self.queues.get(company_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self.queues[company_id]

    def dispatch(self, company_id: int, message: dict[str, Any]) -> None:
        for queue in list(self.queues.get(company_id, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                self.unsubscribe(company_id, queue)
                queue.get_nowait()
                queue.put_nowait(OVERFLOW)

    async def _run(self) -> None:
        prefix = channel_prefix()
        delay = 0.5
        while True:
            client = aioredis.Redis.from_url(settings.REDIS_URL)
            try:
                await client.client_setname(f"sesame-streams-{os.getpid()}")
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                await pubsub.psubscribe(prefix + "*")
                self.ready.set()
                delay = 0.5
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    channel = message["channel"].decode()
                    try:
                        company_id = int(channel[len(prefix) :])
                        data = json.loads(message["data"])
                    except ValueError:
                        continue
                    self.dispatch(company_id, data)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("tracking hub lost Redis; reconnecting")
                # Clients may have missed messages: make them reconnect and catch up.
                for company_id in list(self.queues):
                    for queue in list(self.queues.get(company_id, ())):
                        self.unsubscribe(company_id, queue)
                        queue.put_nowait(OVERFLOW) if not queue.full() else None
                self.ready.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
                self.ready.clear()
            finally:
                await client.aclose()


_hubs: dict[int, Hub] = {}


def hub() -> Hub:
    """The hub of this process (one per event loop: uvicorn runs one loop per process)."""
    loop = asyncio.get_running_loop()
    key = id(loop)
    current = _hubs.get(key)
    if current is None:
        current = _hubs[key] = Hub()
    return current
