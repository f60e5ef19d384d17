"""Live timelines as Server-Sent Events, served by the ASGI server (uvicorn) under /streams/.

Each process holds one Redis subscription (tracking.hub); a stream is a queue on it. A client
reconnecting with Last-Event-ID (or `?last_event_id=` on its first connection, for what
happened between the page render and the subscription) first gets what it missed from the
database, ordered by id, then live events, without duplicates.
"""

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connections
from django.http import Http404, HttpRequest, StreamingHttpResponse

from sesame.models import AgentProfile, Membership
from sesame.selectors import current_membership, user_has_totp
from tracking.hub import OVERFLOW, hub
from tracking.models import Consignment, Event

# Django runs each ASGI request's sync code in a thread of its own for the request's whole life:
# a long stream must not keep that thread's database connection open (thousands of streams).
_db_release = sync_to_async(connections.close_all)

HEARTBEAT = float(os.environ.get("SESAME_SSE_HEARTBEAT", "15"))
RETRY_MS = 2000


def _last_event_id(request: HttpRequest) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or "0"
    try:
        value = int(raw)
    except ValueError:
        return 0
    return value if 0 < value < 2**63 else 0


def _frame(message: dict[str, Any]) -> bytes:
    data = {key: message[key] for key in ("id", "consignment", "kind", "occurred_at")}
    return f"id: {message['id']}\ndata: {json.dumps(data)}\n\n".encode()


async def _missed(company_id: int, consignment_id: int | None, after: int) -> list[dict]:
    events = Event.objects.filter(consignment__company_id=company_id, id__gt=after)
    if consignment_id is not None:
        events = events.filter(consignment_id=consignment_id)
    rows = events.order_by("id").values("id", "consignment_id", "kind", "occurred_at")
    return [
        {
            "id": row["id"],
            "consignment": row["consignment_id"],
            "kind": row["kind"],
            "occurred_at": row["occurred_at"].isoformat(),
        }
        async for row in rows
    ]


async def _events(company_id: int, consignment_id: int | None, after: int) -> AsyncIterator[bytes]:
    current = hub()
    queue = await current.subscribe(company_id)  # before the catch-up: nothing falls between
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n".encode()
        caught_up: set[int] = set()
        if after:
            missed = await _missed(company_id, consignment_id, after)
            await _db_release()
            for message in missed:
                caught_up.add(message["id"])
                yield _frame(message)
        while True:
            try:
                message = await asyncio.wait_for(queue.get(), HEARTBEAT)
            except TimeoutError:
                yield b": ping\n\n"
                continue
            if message is OVERFLOW:
                return  # the client reconnects with Last-Event-ID and catches up
            if consignment_id is not None and message.get("consignment") != consignment_id:
                continue
            if message["id"] in caught_up:
                continue
            yield _frame(message)
    finally:
        current.unsubscribe(company_id, queue)


def _response(request: HttpRequest, company_id: int, consignment_id: int | None) -> Any:
    response = StreamingHttpResponse(
        _events(company_id, consignment_id, _last_event_id(request)),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def consignment_stream(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Events of one consignment: for members of its company and agents of its post."""
    user = await request.auser()
    if not user.is_authenticated:
        raise Http404
    consignment = await Consignment.objects.filter(pk=pk).values("company_id", "post_id").afirst()
    if consignment is None:
        raise Http404
    allowed = await Membership.objects.filter(
        user=user, company_id=consignment["company_id"]
    ).aexists()
    if not allowed and consignment["post_id"] is not None:
        allowed = await AgentProfile.objects.filter(
            user=user, post_id=consignment["post_id"]
        ).aexists() and await sync_to_async(user_has_totp)(user=user)
    await _db_release()
    if not allowed:
        raise Http404
    return _response(request, consignment["company_id"], pk)


async def company_stream(request: HttpRequest) -> StreamingHttpResponse:
    """Every event of the signed-in operator's current company."""
    user = await request.auser()
    if not user.is_authenticated:
        raise Http404
    membership = await sync_to_async(current_membership)(request)
    await _db_release()
    if membership is None:
        raise Http404
    return _response(request, membership.company_id, None)
