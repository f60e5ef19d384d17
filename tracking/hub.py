"""One Redis pub/sub subscription per server process, fanned out to each client's transport.

The hub starts lazily with the first stream, pattern-subscribes to every company channel of
this database, encodes each message once into its SSE frame and writes the bytes to the
clients following that company (and that consignment, for a consignment stream: filtered here,
before anything else runs for that client).

Writing costs no coroutine wake-up per stream: the hub calls the stream's ASGI `send` itself
and runs the returned coroutine to its first suspension (`_start`). When the server takes the
bytes at once, which is the rule for a client that reads, that is the whole write: no task, no
queue, no scheduling. Only when `send` has to wait (the client's socket buffer is full) does a
task carry that write on, and while it waits the next frames of that client gather in its
`pending` deque and go out in one write afterwards. A client with more than QUEUE_SIZE frames
pending is told to reconnect (it then catches up with Last-Event-ID). A ticker writes a
heartbeat comment the same way, so a stream never needs a timer of its own.

A client is not `live` until its stream has sent the opening and the catch-up: until then its
frames wait in `pending`, and the stream drains them itself, dropping the ids it caught up.
"""

import asyncio
import json
import logging
import os
import types
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings

from tracking.live import channel_prefix

logger = logging.getLogger(__name__)

QUEUE_SIZE = 1000
HEARTBEAT = float(os.environ.get("SESAME_SSE_HEARTBEAT", "15"))
PING = b": ping\n\n"
# Pending items are (event id, frame bytes); id 0 marks a heartbeat. `Client.ended` resolves to
# OVERFLOW (the client must reconnect and catch up) or CLOSED (the client went away, or its
# connection failed).
OVERFLOW = "overflow"
CLOSED = "closed"
_PING_ITEM = (0, PING)

Send = Callable[[dict[str, Any]], Awaitable[None]]


def frame(message: dict[str, Any]) -> bytes:
    """The SSE frame of one event (the same bytes whether live or caught up)."""
    data = {key: message[key] for key in ("id", "consignment", "kind", "occurred_at")}
    return f"id: {message['id']}\ndata: {json.dumps(data)}\n\n".encode()


def body(data: bytes) -> dict[str, Any]:
    """The ASGI message carrying these bytes on an open stream (never mutated once built, so one
    message serves every client of an event)."""
    return {"type": "http.response.body", "body": data, "more_body": True}


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> Generator[Any, Any, Any]:
    """Carry on a coroutine already run up to its first suspension (where it yielded
    `yielded`), passing values and exceptions (cancellation) through like `await`."""
    while True:
        try:
            value = yield yielded
        except BaseException as exc:  # handed to the coroutine, which decides
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                yielded = coro.send(value)
            except StopIteration as stop:
                return stop.value


def _start(coro: Coroutine[Any, Any, Any]) -> "asyncio.Task[Any] | None":
    """Run `coro` now, in the caller's step, up to its first suspension: None if it finished
    there (the common case for `send`), else a task that carries it on. Its exceptions are
    raised here when it fails before suspending."""
    try:
        yielded = coro.send(None)
    except StopIteration:
        return None
    return asyncio.ensure_future(_resume(coro, yielded))


class Client:
    """One open stream: what it follows, its ASGI `send`, the frames waiting for it."""

    __slots__ = (
        "caught_up",
        "company_id",
        "consignment_id",
        "ended",
        "live",
        "pending",
        "send",
        "writer",
    )

    def __init__(self, company_id: int, consignment_id: int | None, send: Send) -> None:
        self.company_id = company_id
        self.consignment_id = consignment_id
        self.send = send
        self.pending: deque[tuple[int, bytes]] = deque()
        self.writer: asyncio.Task[Any] | None = None  # a write waiting on the transport
        self.live = False
        self.caught_up: frozenset[int] = frozenset()
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def end(self, reason: str) -> None:
        if not self.ended.done():
            self.ended.set_result(reason)

    def go_live(self, caught_up: frozenset[int]) -> None:
        """Called by the stream once the opening and catch-up are sent: from now on the hub
        writes to this client directly (the frames that waited go out first, in one write)."""
        self.caught_up = caught_up
        self.live = True
        if self.pending and self.writer is None:
            self._flush()

    def deliver(self, item: tuple[int, bytes], message: dict[str, Any]) -> bool:
        """Write one frame (or queue it behind a write in progress); False if the client has
        too many frames pending and must reconnect."""
        if self.ended.done():
            return True
        if self.writer is not None or not self.live:
            if len(self.pending) >= QUEUE_SIZE:
                return False
            self.pending.append(item)
            return True
        if self.caught_up and item[0] in self.caught_up:
            return True
        self._write(message)
        return True

    def _write(self, message: dict[str, Any]) -> None:
        try:
            writer = _start(self.send(message))  # type: ignore[arg-type]
        except Exception:  # a broken connection ends this stream only
            self.end(CLOSED)
            return
        if writer is not None:
            self.writer = writer
            writer.add_done_callback(self._written)

    def _written(self, writer: "asyncio.Task[Any]") -> None:
        self.writer = None
        if writer.cancelled() or writer.exception() is not None:
            self.end(CLOSED)
            return
        if self.pending and not self.ended.done():
            self._flush()

    def _flush(self) -> None:
        caught_up = self.caught_up
        chunks = [data for pk, data in self.pending if not (pk and pk in caught_up)]
        self.pending.clear()
        if chunks:
            self._write(body(b"".join(chunks)))


class Hub:
    def __init__(self) -> None:
        self.clients: dict[int, set[Client]] = {}
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.ticker: asyncio.Task[None] | None = None

    @property
    def client_count(self) -> int:
        return sum(len(clients) for clients in self.clients.values())

    async def subscribe(
        self, company_id: int, consignment_id: int | None = None, *, send: Send
    ) -> Client:
        """A client receiving, through `send`, every message of this company (or of this one
        consignment of it) published from now on, once it goes live."""
        client = Client(company_id, consignment_id, send)
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

    def _overflow(self, client: Client) -> None:
        self.unsubscribe(client)
        client.end(OVERFLOW)

    def dispatch(self, company_id: int, message: dict[str, Any]) -> None:
        """Hand one message to the clients concerned; encoded once, one ASGI message for all."""
        clients = self.clients.get(company_id)
        if not clients:
            return
        consignment_id = message.get("consignment")
        item = (message["id"], frame(message))
        asgi = body(item[1])
        for client in list(clients):
            if client.consignment_id is not None and client.consignment_id != consignment_id:
                continue
            if not client.deliver(item, asgi):
                self._overflow(client)

    async def _tick(self) -> None:
        ping = body(PING)
        while True:
            await asyncio.sleep(HEARTBEAT)
            for clients in list(self.clients.values()):
                for client in list(clients):
                    if client.live and not client.deliver(_PING_ITEM, ping):
                        self._overflow(client)

    def _drop_all(self) -> None:
        """Clients may have missed messages: make them reconnect and catch up."""
        for clients in list(self.clients.values()):
            for client in list(clients):
                self._overflow(client)

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
