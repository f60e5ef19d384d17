"""One Redis pub/sub subscription per server process, fanned out to each client's queue.

The hub starts lazily with the first stream, pattern-subscribes to every company channel of
this database, encodes each message once into its SSE frame and hands the bytes to the queues
of the clients following that company (and that consignment, for a consignment stream). A
client too slow to drain its queue is told to reconnect (it then catches up with
Last-Event-ID). A ticker puts a heartbeat comment into every queue, so a stream never needs a
timer of its own.
"""

import asyncio
import json
import logging
import os
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings

from tracking.live import channel_prefix

logger = logging.getLogger(__name__)

QUEUE_SIZE = 1000
HEARTBEAT = float(os.environ.get("SESAME_SSE_HEARTBEAT", "15"))
PING = b": ping\n\n"
# Queue items are (event id, frame bytes); id 0 marks a heartbeat. A bare sentinel ends the
# stream: OVERFLOW (the client must reconnect and catch up), CLOSED (the client went away).
OVERFLOW = object()
CLOSED = object()
_PING_ITEM = (0, PING)


def frame(message: dict[str, Any]) -> bytes:
    """The SSE frame of one event (the same bytes whether live or caught up)."""
    data = {key: message[key] for key in ("id", "consignment", "kind", "occurred_at")}
    return f"id: {message['id']}\ndata: {json.dumps(data)}\n\n".encode()


class Client:
    """One open stream: what it follows and the queue its coroutine drains."""

    __slots__ = ("company_id", "consignment_id", "queue")

    def __init__(self, company_id: int, consignment_id: int | None) -> None:
        self.company_id = company_id
        self.consignment_id = consignment_id
        # Unbounded so that a sentinel always fits; the hub enforces QUEUE_SIZE itself.
        self.queue: asyncio.Queue[Any] = asyncio.Queue()


class Hub:
    def __init__(self) -> None:
        self.clients: dict[int, set[Client]] = {}
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.ticker: asyncio.Task[None] | None = None

    @property
    def client_count(self) -> int:
        return sum(len(clients) for clients in self.clients.values())

    async def subscribe(self, company_id: int, consignment_id: int | None = None) -> Client:
        """A client receiving every message of this company (or of this one consignment of it)
        published from now on."""
        client = Client(company_id, consignment_id)
        self.clients.setdefault(company_id, set()).add(client)
        if self.task is None or self.task.done():
            self.ready.clear()
            self.task = asyncio.create_task(self._run(), name="tracking-hub")
        if self.ticker is None or self.ticker.done():
            self.ticker = asyncio.create_task(self._tick(), name="tracking-hub-heartbeat")
        await self.ready.wait()
        return client

    def unsubscribe(self, client: Client) -> None:
        clients = self.clients.get(client.company_id)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self.clients[client.company_id]

    def dispatch(self, company_id: int, message: dict[str, Any]) -> None:
        """Hand one message to the clients concerned; encoded once for all of them."""
        clients = self.clients.get(company_id)
        if not clients:
            return
        consignment_id = message.get("consignment")
        item = (message["id"], frame(message))
        for client in list(clients):
            if client.consignment_id is not None and client.consignment_id != consignment_id:
                continue
            if client.queue.qsize() >= QUEUE_SIZE:
                self.unsubscribe(client)
                client.queue.put_nowait(OVERFLOW)
            else:
                client.queue.put_nowait(item)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            for clients in list(self.clients.values()):
                for client in clients:
                    client.queue.put_nowait(_PING_ITEM)

    def _drop_all(self) -> None:
        """Clients may have missed messages: make them reconnect and catch up."""
        for clients in list(self.clients.values()):
            for client in list(clients):
                self.unsubscribe(client)
                client.queue.put_nowait(OVERFLOW)

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
                        self.dispatch(company_id, data)
                    except (ValueError, KeyError, TypeError, AttributeError):
                        logger.warning("tracking hub ignored a malformed message on %s", channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("tracking hub lost Redis; reconnecting")
                self._drop_all()
                self.ready.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
                self.ready.clear()
            finally:
                await client.aclose()

    def close(self) -> None:
        for task in (self.task, self.ticker):
            if task is not None:
                task.cancel()


_hubs: dict[int, Hub] = {}


def hub() -> Hub:
    """The hub of this process (one per event loop: uvicorn runs one loop per process)."""
    loop = asyncio.get_running_loop()
    key = id(loop)
    current = _hubs.get(key)
    if current is None:
        current = _hubs[key] = Hub()
    return current
