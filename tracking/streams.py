"""Live timelines as Server-Sent Events under /streams/, served by a small pure ASGI application.

`sesame.asgi` hands every /streams/ request to `application` below, before Django's request
handler: no middleware stack, no thread per request. Opening a stream costs one hop to a worker
thread of the event loop's bounded executor (session, user, access: Django's session engine and
auth, the same rules as the pages), then the stream's coroutine sends the opening and catch-up
and hands its ASGI `send` to the process's hub (tracking.hub), which holds the one Redis
subscription and writes each live frame itself: the coroutine then sleeps until the stream
ends.

A client reconnecting with Last-Event-ID (or `?last_event_id=` on its first connection, for what
happened between the page render and the subscription) first gets what it missed from the
database, ordered by id, then live events, without duplicates. Events of one company commit in
id order (tracking.services.event_record), so the catch-up never skips one that commits later.

The Django views below exist for `reverse()` and for a request that reaches Django anyway (WSGI
under gunicorn, the test `live_server`): they answer 204 No Content at once, which tells
EventSource to stop, instead of holding a worker with a never-ending response.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from importlib import import_module
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.contrib.auth import get_user
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.http.cookie import parse_cookie
from django.urls import Resolver404, resolve

from sesame.access import agent_of_post
from sesame.models import Membership
from sesame.selectors import current_membership
from tracking.hub import CLOSED, OVERFLOW, Client, body, frame, hub
from tracking.models import Consignment, Event

logger = logging.getLogger(__name__)

RETRY_MS = 2000
PREFIX = "/streams"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"x-content-type-options", b"nosniff"),
]


# --- Opening: who may follow what (sync, in a worker thread) --------------------------------


def stream_company(*, session_key: str | None, consignment_id: int | None) -> int | None:
    """The company whose events the holder of this session may follow on this stream (the
    consignment's company, or the current company of an operator for the company stream), or
    None: not signed in, unknown consignment, or not allowed (not a member of the owning
    company, nor an agent of the consignment's post with a TOTP authenticator).

    Reads the session and the user exactly as Django's middleware would (session engine,
    `auth.get_user`, session hash check), then releases the thread's database connection under
    Django's end-of-request rule (CONN_MAX_AGE): the connections of the executor's few threads,
    never one per stream."""
    try:
        if not session_key:
            return None
        request = HttpRequest()
        request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        user = get_user(request)
        if not user.is_authenticated:
            return None
        request.user = user
        if consignment_id is None:
            membership = current_membership(request)
            return membership.company_id if membership else None
        consignment = Consignment.objects.filter(pk=consignment_id).values("company_id", "post_id")
        found = consignment.first()
        if found is None:
            return None
        if Membership.objects.filter(user=user, company_id=found["company_id"]).exists():
            return found["company_id"]
        if agent_of_post(user=user, post_id=found["post_id"]):
            return found["company_id"]
        return None
    finally:
        close_old_connections()


def missed_frames(
    *, company_id: int, consignment_id: int | None, after: int
) -> list[tuple[int, bytes]]:
    """(id, frame) of the events of this company (or consignment) with an id above `after`, in
    id order; releases the thread's database connection like `stream_company`."""
    try:
        events = Event.objects.filter(consignment__company_id=company_id, id__gt=after)
        if consignment_id is not None:
            events = events.filter(consignment_id=consignment_id)
        rows = events.order_by("id").values_list("id", "consignment_id", "kind", "occurred_at")
        return [
            (
                pk,
                frame(
                    {
                        "id": pk,
                        "consignment": consignment,
                        "kind": kind,
                        "occurred_at": occurred_at.isoformat(),
                    }
                ),
            )
            for pk, consignment, kind, occurred_at in rows
        ]
    finally:
        close_old_connections()


async def _in_thread(function: Callable[..., Any], **kwargs: Any) -> Any:
    """Run `function` in a thread of the loop's bounded default executor, in that thread's own
    context. Not `sync_to_async(thread_sensitive=False)`: it runs the function in a copy of the
    caller's context, and Django keeps its cache clients in context-local storage, so every
    stream opened a new Redis connection pool for its session read."""
    return await asyncio.get_running_loop().run_in_executor(None, partial(function, **kwargs))


async def _stream_company(**kwargs: Any) -> int | None:
    return await _in_thread(stream_company, **kwargs)


async def _missed_frames(**kwargs: Any) -> list[tuple[int, bytes]]:
    return await _in_thread(missed_frames, **kwargs)


# --- The ASGI application -------------------------------------------------------------------


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers", ())}


def _session_key(headers: dict[bytes, bytes]) -> str | None:
    raw = headers.get(b"cookie")
    if not raw:
        return None
    return parse_cookie(raw.decode("latin-1")).get(settings.SESSION_COOKIE_NAME) or None


def _last_event_id(scope: Scope, headers: dict[bytes, bytes]) -> int:
    raw = headers.get(b"last-event-id", b"").decode("latin-1")
    if not raw:
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        raw = query.get("last_event_id", "")
    try:
        value = int(raw or "0")
    except ValueError:
        return 0
    return value if 0 < value < 2**63 else 0


def _target(path: str) -> tuple[bool, int | None]:
    """(found, consignment id or None for the company stream), from tracking.stream_urls."""
    try:
        match = resolve(path[len(PREFIX) :], urlconf="tracking.stream_urls")
    except Resolver404:
        return False, None
    if match.url_name == "consignment":
        pk = int(match.kwargs["pk"])
        return 0 < pk < 2**63, pk
    return match.url_name == "company", None


async def _plain(send: Send, status: int, body: bytes, *extra: tuple[bytes, bytes]) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *extra]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _watch_disconnect(receive: Receive, client: Client) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    client.end(CLOSED)


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI application of /streams/: 404 for anyone not allowed and for unknown paths or
    consignments, else `retry:`, the catch-up after Last-Event-ID, then live frames and
    heartbeats (written by the hub) until the client goes away (or lets too many frames pile
    up and must reconnect)."""
    found, consignment_id = _target(scope["path"])
    if not found:
        await _plain(send, 404, b"Not Found")
        return
    if scope["method"] != "GET":
        await _plain(send, 405, b"Method Not Allowed", (b"allow", b"GET"))
        return
    headers = _headers(scope)
    company_id = await _stream_company(
        session_key=_session_key(headers), consignment_id=consignment_id
    )
    if company_id is None:
        await _plain(send, 404, b"Not Found")
        return
    after = _last_event_id(scope, headers)
    current = hub()
    client = await current.subscribe(company_id, consignment_id, send=send)  # before the catch-up
    watcher = asyncio.create_task(_watch_disconnect(receive, client))
    try:
        await _stream(send, client, company_id, consignment_id, after)
    finally:
        current.unsubscribe(client)
        if client.writer is not None:
            client.writer.cancel()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _stream(
    send: Send, client: Client, company_id: int, consignment_id: int | None, after: int
) -> None:
    """Opening and catch-up, then hand the stream to the hub and wait for its end: this
    coroutine is not woken per event."""
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    opening = f"retry: {RETRY_MS}\n: connected\n\n".encode()
    await send(body(opening))
    caught_up: frozenset[int] = frozenset()
    if after:
        missed = await _missed_frames(
            company_id=company_id, consignment_id=consignment_id, after=after
        )
        if missed:
            caught_up = frozenset(pk for pk, _ in missed)
            await send(body(b"".join(data for _, data in missed)))
    client.go_live(caught_up)
    if await client.ended == OVERFLOW:  # the client reconnects with Last-Event-ID, catches up
        writer = client.writer
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(BaseException):
                await writer
        await send({"type": "http.response.body", "body": b"", "more_body": False})


# --- Django views: names for reverse(), and a clean refusal when Django gets the request ------


def _not_served_here(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-cache"
    return response


def consignment_stream(request: HttpRequest, pk: int) -> HttpResponse:
    """Stream of one consignment's events; served by `application` in front of Django. Reached
    through Django (WSGI, test live_server): 204 No Content, EventSource stops."""
    return _not_served_here(request)


def company_stream(request: HttpRequest) -> HttpResponse:
    """Stream of the current company's events; see `consignment_stream`."""
    return _not_served_here(request)
