"""The hub's write path, driven with an in-memory ASGI `send` (no server, no Redis)."""

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tracking import hub as hub_module
from tracking.hub import CLOSED, OVERFLOW, Client, Hub, frame


def _run(scenario: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    # In its own thread: a browser test may have left an event loop on this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario()).result()


def _message(pk: int, consignment: int = 1) -> dict[str, Any]:
    return {"id": pk, "consignment": consignment, "kind": "arrival", "occurred_at": "2026-01-01"}


class Sink:
    """An ASGI `send` that takes the bytes at once, or waits while `paused` is set."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.open = asyncio.Event()
        self.open.set()

    async def send(self, message: dict[str, Any]) -> None:
        if not self.open.is_set():
            await self.open.wait()
        self.bodies.append(message["body"])


def _client(hub: Hub, sink: Sink, consignment_id: int | None = None, *, live: bool = True):
    client = Client(7, consignment_id, sink.send)
    hub.clients.setdefault(7, set()).add(client)
    if live:
        client.go_live(frozenset())
    return client


def test_a_reading_client_gets_each_frame_written_in_the_hubs_step_without_a_task():
    async def scenario() -> tuple[list[bytes], bool, int]:
        hub, sink = Hub(), Sink()
        client = _client(hub, sink)
        tasks = len(asyncio.all_tasks())
        hub.dispatch(7, _message(1))
        hub.dispatch(7, _message(2))
        return sink.bodies, client.writer is None, len(asyncio.all_tasks()) - tasks

    assert _run(scenario) == ([frame(_message(1)), frame(_message(2))], True, 0)


def test_frames_behind_a_waiting_write_go_out_together_once_it_completes():
    async def scenario() -> tuple[list[bytes], list[bytes]]:
        hub, sink = Hub(), Sink()
        client = _client(hub, sink)
        sink.open.clear()
        for pk in (1, 2, 3):
            hub.dispatch(7, _message(pk))
        await asyncio.sleep(0)
        during = list(sink.bodies)
        sink.open.set()
        for _ in range(5):
            await asyncio.sleep(0)
        assert client.writer is None and not client.ended.done()
        return during, sink.bodies

    during, after = _run(scenario)
    assert during == []
    assert after == [frame(_message(1)), frame(_message(2)) + frame(_message(3))]


def test_a_client_with_too_many_frames_pending_is_told_to_reconnect(monkeypatch):
    monkeypatch.setattr(hub_module, "QUEUE_SIZE", 3)

    async def scenario() -> tuple[str, int]:
        hub, sink = Hub(), Sink()
        client = _client(hub, sink)
        sink.open.clear()
        for pk in range(1, 6):  # one write waiting, three pending, the fifth overflows
            hub.dispatch(7, _message(pk))
        client.writer.cancel()
        return await client.ended, hub.client_count

    assert _run(scenario) == (OVERFLOW, 0)


def test_frames_published_during_the_catch_up_follow_it_without_the_ids_it_sent():
    async def scenario() -> list[bytes]:
        hub, sink = Hub(), Sink()
        client = _client(hub, sink, live=False)
        for pk in (5, 6, 7):
            hub.dispatch(7, _message(pk))
        assert sink.bodies == []
        client.go_live(frozenset({5, 6}))
        hub.dispatch(7, _message(6))  # published late, already caught up
        hub.dispatch(7, _message(8))
        return sink.bodies

    assert _run(scenario) == [frame(_message(7)), frame(_message(8))]


def test_a_consignment_stream_gets_nothing_of_another_consignment():
    async def scenario() -> tuple[list[bytes], int]:
        hub, sink = Hub(), Sink()
        client = _client(hub, sink, consignment_id=1)
        sink.open.clear()
        hub.dispatch(7, _message(1, consignment=2))
        hub.dispatch(7, _message(2, consignment=2))
        return sink.bodies, len(client.pending) + (client.writer is not None)

    assert _run(scenario) == ([], 0)


@pytest.mark.parametrize("fails", ["at_once", "after_waiting"])
def test_a_failing_write_ends_only_that_stream(fails):
    async def scenario() -> tuple[str, list[bytes]]:
        hub, good = Hub(), Sink()
        _client(hub, good)
        gate = asyncio.Event()

        async def broken(_message: dict[str, Any]) -> None:
            if fails == "after_waiting":
                await gate.wait()
            raise OSError("connection reset")

        client = Client(7, None, broken)
        hub.clients[7].add(client)
        client.go_live(frozenset())
        hub.dispatch(7, _message(1))
        gate.set()
        return await asyncio.wait_for(client.ended, 5), good.bodies

    assert _run(scenario) == (CLOSED, [frame(_message(1))])
