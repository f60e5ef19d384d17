"""`python -m bench.sse`: live streams under load.

Starts one uvicorn process on a free port against a fresh database, opens N concurrent
Server-Sent Events streams (1,000 then 5,000) as a signed-in operator, records events and
measures event-to-client latency (p50/p99) and the server's memory per connection (RSS delta
/ N). Writes the "Live streams" section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, machine_line, say, write_section

DATABASE = os.environ.get("BENCH_SSE_DATABASE", "sesame_bench_sse")
REDIS_DB = os.environ.get("BENCH_SSE_REDIS_DB", "6")
SIZES = tuple(int(n) for n in os.environ.get("BENCH_SSE_SIZES", "1000,5000").split(","))
EVENTS = int(os.environ.get("BENCH_SSE_EVENTS", "20"))


def _urls() -> tuple[str, str]:
    base = os.environ.get("DATABASE_URL", "postgres://sesame:sesame@127.0.0.1:54329/sesame")
    database = base.rsplit("/", 1)[0] + f"/{DATABASE}"
    redis_base = os.environ.get("REDIS_URL", "redis://127.0.0.1:63799/0")
    return database, redis_base.rsplit("/", 1)[0] + f"/{REDIS_DB}"


def _raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _fresh_database(database_url: str) -> None:
    import psycopg2

    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    connection = psycopg2.connect(admin)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    connection.close()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Streams are opened at most this many at a time: each opening holds a database connection
# for the few milliseconds of its authorisation.
opening: asyncio.Semaphore


async def _client(
    session,
    url: str,
    cookie: str,
    ready: asyncio.Event,
    counter: list[int],
    arrivals: dict[int, list[float]],
    expected: int,
) -> None:
    await opening.acquire()
    async with session.get(url, cookies={"sessionid": cookie}) as response:
        if response.status != 200:
            opening.release()
            raise RuntimeError(f"stream answered {response.status}")
        seen = 0
        while seen < expected:
            line = await response.content.readline()
            if not line:
                return
            if line.startswith(b": connected"):
                opening.release()
                counter[0] += 1
                if counter[0] >= counter[1]:
                    ready.set()
            elif line.startswith(b"id: "):
                arrivals.setdefault(int(line[4:]), []).append(time.perf_counter())
                seen += 1


async def _run(size: int, url: str, cookie: str, record, pid: int) -> dict[str, float]:
    import aiohttp

    global opening
    opening = asyncio.Semaphore(32)
    rss_before = _rss_kib(pid)
    ready = asyncio.Event()
    counter = [0, size]
    arrivals: dict[int, list[float]] = {}
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=60, sock_read=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        tasks = []
        for batch in range(0, size, 250):
            tasks += [
                asyncio.create_task(_client(session, url, cookie, ready, counter, arrivals, EVENTS))
                for _ in range(min(250, size - batch))
            ]
            await asyncio.sleep(0.05)
        await asyncio.wait_for(ready.wait(), 300)
        connect_seconds = time.perf_counter() - started
        await asyncio.sleep(1)
        rss_after = _rss_kib(pid)
        sent: dict[int, float] = {}
        for n in range(EVENTS):
            t0 = time.perf_counter()
            event_id = await asyncio.to_thread(record, n)
            sent[event_id] = t0
            await asyncio.sleep(0.5)
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    latencies = sorted(
        (arrival - sent[event_id]) * 1000
        for event_id, times in arrivals.items()
        if event_id in sent
        for arrival in times
    )
    missing = size * EVENTS - len(latencies)
    return {
        "clients": size,
        "connect_s": connect_seconds,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "max": latencies[-1],
        "missing": missing,
        "kib_per_client": (rss_after - rss_before) / size,
        "rss_mib": rss_after / 1024,
    }


def main() -> int:
    _raise_fd_limit()
    database_url, redis_url = _urls()
    env = {
        **os.environ,
        "SESAME_DEV": "1",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": "sesame-bench-sse",
    }
    os.environ.update(env)
    say(f"fresh database {DATABASE}")
    _fresh_database(database_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sesame.settings")
    import django

    django.setup()
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from sesame.models import Company, Membership, User
    from tracking.services import consignment_create, event_record

    user = User.objects.create_user("bench@example.org", "bench-password-123")
    company = Company.objects.create(eori="FR73282932000074", name="Bench")
    Membership.objects.create(user=user, company=company)
    consignment = consignment_create(
        company=company,
        reference="BENCH-1",
        container_numbers=["CSQU3054383"],
        transport_document_type="bl",
        transport_document_number="BL",
        port="FRLEH",
        expected_arrival=timezone.now() + timedelta(days=1),
        categories=["plants"],
    )
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value

    port = _free_port()
    log = (ROOT / ".local").joinpath("bench-sse-uvicorn.log")
    log.parent.mkdir(exist_ok=True)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "sesame.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--backlog",
            "8192",
            "--timeout-graceful-shutdown",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        preexec_fn=_raise_fd_limit,
    )
    results = []
    counter = [0]
    try:
        time.sleep(3)
        url = f"http://127.0.0.1:{port}/streams/consignments/{consignment.pk}/"

        def record(n: int) -> int:
            counter[0] += 1
            event, _ = event_record(
                consignment=consignment,
                kind="arrival",
                occurred_at=timezone.now(),
                source="PORT",
                source_event_id=f"bench-{counter[0]}",
            )
            return event.pk

        for size in SIZES:
            say(f"{size} streams")
            result = asyncio.run(_run(size, url, cookie, record, server.pid))
            say(str(result))
            results.append(result)
            time.sleep(2)
    finally:
        server.terminate()
        server.wait(20)

    rows = "\n".join(
        f"| {r['clients']:,} | {r['p50']:.0f} ms | {r['p99']:.0f} ms | {r['max']:.0f} ms | "
        f"{int(r['missing'])} | {r['kib_per_client']:.1f} KiB | {r['rss_mib']:.0f} MiB | "
        f"{r['connect_s']:.1f} s |"
        for r in results
    )
    write_section(
        "Live streams",
        f"""{machine_line()}

`python -m bench.sse`: one uvicorn process (one Redis pattern subscription, fanned out to a
queue per client), N concurrent SSE streams of one consignment opened by aiohttp clients in one
process on the same machine, {EVENTS} events recorded with `event_record` (one every 0.5 s).
Latency: from the call to `event_record` (insert, commit, publish) to the `id:` line read by
each client. Memory: the server's RSS growth once all streams are open, divided by N.

| streams | p50 | p99 | max | missed | memory / stream | server RSS | time to open all |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{rows}

Each stream costs one asyncio task and queue on the server; the database is read only when a
stream opens (session, membership) and on reconnection with Last-Event-ID, never per event.
"""
        + ("" if all(r["p99"] < 1000 for r in results) else "\n**Not at target** (p99 < 1 s).\n"),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
