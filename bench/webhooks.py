"""Webhook delivery throughput to a local receiver, beside `GET /api/v1/me/` in the same run.

`python -m bench.webhooks [--events N] [--subjects S] [--endpoints K] [--concurrency C]` starts
the servers of `make run` on a fresh bench database (bench.common.Stack), a local receiver
(bench.webhook_receiver: aiohttp, one process) and subscribes K endpoints of one company to
tracking events. Then, in one run:

1. `GET /api/v1/me/` alone (10 clients) through the front;
2. N tracking events recorded (event_record, 2 processes) while no worker runs, then one Celery
   worker (prefork, concurrency C, queue `webhooks`) started and the outbox drained: N*K
   deliveries, timed from the worker's start to the last one delivered;
3. N more events, and the worker drained them while `GET /api/v1/me/` ran at 10 clients.

Every delivery must reach the receiver exactly once per webhook-id and endpoint (0 lost, 0
doubled: no crash here, so at-least-once means once) with valid signatures (one in 20 checked
by the receiver); writes the "Webhooks" section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any

from bench.common import (
    PY,
    ROOT,
    BenchError,
    Result,
    Stack,
    load,
    machine_line,
    port_open,
    say,
    write_section,
)

EORI = "FR73282932000074"
TYPES = ["consignment.event_recorded"]
RECEIVER_PORT = int(os.environ.get("BENCH_RECEIVER_PORT", "8009"))


class Bench:
    def __init__(self, stack: Stack, endpoints: int, subjects: int, concurrency: int) -> None:
        self.stack = stack
        self.endpoints = endpoints
        self.subjects = subjects
        self.concurrency = concurrency
        self.processes: list[subprocess.Popen[bytes]] = []
        self.consignment_ids: list[int] = []
        self.key = ""
        self.recorded = 0

    # -- setup --

    def django(self) -> None:
        os.environ.update(self.stack.env())
        os.environ["WEBHOOK_ALLOW_PRIVATE_URLS"] = "1"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sesame.settings")
        import django

        django.setup()

    def seed(self) -> dict[str, str]:
        from notifications.webhooks.services import webhook_endpoint_create
        from sesame.models import Company
        from tracking.models import Consignment

        self.stack.manage("create_company", "--eori", EORI, "--name", "Bench Transit", capture=True)
        self.key = self.stack.manage("create_api_key", "--company", EORI, capture=True).split()[-1]
        company = Company.objects.get(eori=EORI)
        secrets = {}
        for n in range(self.endpoints):
            path = f"/e{n}"
            _endpoint, secret = webhook_endpoint_create(
                company=company, url=f"http://127.0.0.1:{RECEIVER_PORT}{path}", event_types=TYPES
            )
            secrets[path] = secret
        from django.utils import timezone

        made = Consignment.objects.bulk_create(
            Consignment(
                company=company,
                reference=f"BENCH-{n:05d}",
                transport_document_type="bl",
                transport_document_number=f"BL{n}",
                port="FRLEH",
                expected_arrival=timezone.now(),
            )
            for n in range(self.subjects)
        )
        self.consignment_ids = [c.pk for c in made]
        return secrets

    def spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.stack.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def start_receiver(self, secrets: dict[str, str]) -> None:
        if port_open(RECEIVER_PORT):
            raise BenchError(f"port {RECEIVER_PORT} is taken: set BENCH_RECEIVER_PORT")
        path = self.stack.log_dir / "webhook-secrets.json"
        path.write_text(json.dumps(secrets))
        process = self.spawn(
            "receiver",
            [PY, "-m", "bench.webhook_receiver", str(RECEIVER_PORT), str(path)],
            self.stack.env(),
        )
        deadline = time.monotonic() + 20
        while not port_open(RECEIVER_PORT):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError("the receiver did not start; see .local/bench/receiver.log")
            time.sleep(0.1)

    def start_worker(self) -> subprocess.Popen[bytes]:
        env = {**self.stack.env(), "WEBHOOK_ALLOW_PRIVATE_URLS": "1"}
        worker = self.spawn(
            "webhook-worker",
            [
                PY,
                "-m",
                "celery",
                "-A",
                "sesame",
                "worker",
                "-l",
                "warning",
                "--concurrency",
                str(self.concurrency),
                "--pool",
                "prefork",
                "--without-mingle",
                "--without-gossip",
                "-O",
                "fair",
                "-Q",
                "webhooks",
                "-n",
                f"bench-webhooks-{os.getpid()}@%h",
            ],
            env,
        )
        return worker

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(10)

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            self.stop(process)

    # -- phases --

    def record(self, events: int, processes: int = 2) -> float:
        """N events over the consignments, recorded by forked processes; seconds taken."""
        from django.db import connections

        offset = self.recorded
        connections.close_all()
        started = time.monotonic()
        children = []
        for part in range(processes):
            pid = os.fork()
            if pid == 0:  # child: its own database connection
                code = 0
                try:
                    from django.utils import timezone

                    from tracking.models import Consignment
                    from tracking.services import event_record

                    consignments = {
                        c.pk: c for c in Consignment.objects.filter(pk__in=self.consignment_ids)
                    }
                    for n in range(part, events, processes):
                        event_record(
                            consignment=consignments[
                                self.consignment_ids[(offset + n) % len(self.consignment_ids)]
                            ],
                            kind="arrival",
                            occurred_at=timezone.now(),
                            source="PORT",
                            source_event_id=f"bench-{offset + n}",
                        )
                    connections.close_all()
                except BaseException:
                    import traceback

                    traceback.print_exc()
                    code = 1
                os._exit(code)
            children.append(pid)
        if any(os.waitpid(pid, 0)[1] for pid in children):
            raise BenchError("a recording process failed")
        self.recorded += events
        return time.monotonic() - started

    def open_deliveries(self) -> int:
        from notifications.webhooks.models import WebhookDelivery

        return WebhookDelivery.objects.exclude(status="delivered").count()

    def drain(self, during: Any = None) -> dict[str, Any]:
        """Start a worker and wait for the outbox to empty, running ``during`` in a thread
        meanwhile (its result, and the deliveries made within its time, are returned too)."""
        from datetime import UTC, datetime

        from django.db.models import Max, Min

        from notifications.webhooks.models import WebhookDelivery

        since = datetime.now(UTC)
        worker = self.start_worker()
        started = time.monotonic()
        outcome: dict[str, Any] = {}

        def run() -> None:
            outcome["from"] = datetime.now(UTC)
            outcome["result"] = during()
            outcome["to"] = datetime.now(UTC)

        thread = None
        if during is not None:
            # Starts once the worker delivers, so that the two really run side by side.
            while not WebhookDelivery.objects.filter(delivered_at__gte=since).exists():
                if worker.poll() is not None:
                    raise BenchError("the worker exited; see .local/bench/webhook-worker.log")
                time.sleep(0.05)
            thread = threading.Thread(target=run)
            thread.start()
        try:
            while self.open_deliveries():
                if worker.poll() is not None:
                    raise BenchError("the worker exited; see .local/bench/webhook-worker.log")
                if time.monotonic() - started > 1800:
                    raise BenchError("the outbox did not drain within 30 minutes")
                time.sleep(0.25)
            seconds = time.monotonic() - started
        finally:
            if thread is not None:
                thread.join()
            self.stop(worker)
            self.processes.remove(worker)
        delivered = WebhookDelivery.objects.filter(delivered_at__gte=since)
        window = delivered.aggregate(first=Min("delivered_at"), last=Max("delivered_at"))
        spread = (window["last"] - window["first"]).total_seconds()
        figures: dict[str, Any] = {
            "count": delivered.count(),
            "from_start": seconds,
            "spread": spread,
        }
        if during is not None:
            within = delivered.filter(
                delivered_at__gte=outcome["from"], delivered_at__lte=outcome["to"]
            ).count()
            figures["beside"] = outcome["result"]
            figures["within"] = within
            figures["window"] = (outcome["to"] - outcome["from"]).total_seconds()
        return figures

    def me(self, seconds: float) -> Result:
        url = f"{self.stack.front}/api/v1/me/"
        headers = {"Authorization": f"Api-Key {self.key}"}

        async def request(session: Any, n: int) -> int:
            async with session.get(url, headers=headers) as response:
                await response.read()
                return response.status

        return load("me", request, clients=10, total=10**7, max_seconds=seconds)

    def durability(self) -> str:
        """The PostgreSQL settings that decide what a commit costs, as measured."""
        from django.db import connection

        values = []
        with connection.cursor() as cursor:
            for name in ("fsync", "synchronous_commit", "full_page_writes"):
                cursor.execute(f"SHOW {name}")
                values.append(f"`{name}={cursor.fetchone()[0]}`")
        return ", ".join(values)

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{RECEIVER_PORT}/stats", timeout=30) as r:
            return json.loads(r.read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--events", type=int, default=5000, help="events per phase")
    parser.add_argument("--subjects", type=int, default=500, help="consignments")
    parser.add_argument("--endpoints", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--me-seconds", type=float, default=15.0)
    parser.add_argument("--no-write", action="store_true")
    options = parser.parse_args(argv)
    machine = machine_line()
    load_start = os.getloadavg()[0]
    try:
        with Stack(extra_env={"WEBHOOK_ALLOW_PRIVATE_URLS": "1"}) as stack:
            bench = Bench(stack, options.endpoints, options.subjects, options.concurrency)
            try:
                bench.django()
                secrets = bench.seed()
                bench.start_receiver(secrets)
                say("warming up GET /me/")
                bench.me(3)
                alone = bench.me(options.me_seconds)
                say(f"GET /me/ alone: {alone.line()}")
                deliveries = options.events * options.endpoints
                recorded_in = bench.record(options.events)
                say(f"{options.events} events recorded in {recorded_in:.1f} s; draining")
                first = bench.drain()
                say(f"{first['count']} deliveries, first to last {first['spread']:.1f} s (alone)")
                bench.record(options.events)
                second = bench.drain(during=lambda: bench.me(options.me_seconds))
                beside = second["beside"]
                say(
                    f"{second['within']} deliveries in {second['window']:.1f} s beside "
                    f"{beside.line()}"
                )
                stats = bench.stats()
                durability = bench.durability()
            finally:
                bench.stop_all()
    except BenchError as exc:
        say(f"cannot continue: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    counts = stats["counts"]
    expected = 2 * options.events
    per_endpoint = {path: len(ids) for path, ids in counts.items()}
    lost = sum(expected - per_endpoint.get(f"/e{n}", 0) for n in range(options.endpoints))
    doubled = sum(count - 1 for ids in counts.values() for count in ids.values() if count > 1)
    ok = lost == 0 and doubled == 0 and stats["bad"] == 0 and stats["checked"] > 0
    rate_alone = first["count"] / first["spread"]
    rate_both = second["within"] / second["window"]
    load_after = " ".join(f"{x:.1f}" for x in os.getloadavg())
    busy = max(load_start, os.getloadavg()[0]) > (os.cpu_count() or 1)
    crowded = (
        "The load average exceeded the number of CPUs: other processes shared the machine "
        "during this run, so compare the ratios measured side by side, not the absolute "
        "figures.\n"
        if busy
        else ""
    )
    text = f"""
`python -m bench.webhooks --events {options.events} --subjects {options.subjects} \
--endpoints {options.endpoints} --concurrency {options.concurrency}`: one company,
{options.endpoints} endpoints subscribed to `consignment.event_recorded` on a local receiver
(aiohttp, one process, answers 204), {options.subjects} consignments (the subjects whose order
is kept). Each phase records {options.events} tracking events with `event_record` (2 processes;
the event, its log row and its deliveries in one transaction) while no worker runs, then starts
one Celery worker (prefork, concurrency {options.concurrency}, queue `webhooks`, 8 calling
threads per task) and drains the {deliveries} deliveries. Deliveries/s alone: delivered rows
over the time from the first to the last delivered. `GET /api/v1/me/` runs at 10 clients
through the front (nginx, gunicorn as `make run`) for {options.me_seconds:.0f} s alone, then
again once the second drain has started: deliveries/s beside it are the rows delivered within
that same window. PostgreSQL as measured: {durability}.

{machine} Load average at the end: {load_after}.
{crowded}
| measure | value |
| --- | --- |
| `GET /api/v1/me/` alone | {alone.throughput:.0f} req/s (p50 {alone.p50:.1f} ms, p99 \
{alone.p99:.1f} ms) |
| deliveries alone (first to last delivered) | {rate_alone:.0f}/s ({first["count"]} in \
{first["spread"]:.1f} s; {first["from_start"]:.1f} s from the worker's start) |
| deliveries beside `GET /me/` (same window) | {rate_both:.0f}/s ({second["within"]} in \
{second["window"]:.1f} s) |
| `GET /api/v1/me/` beside the deliveries | {beside.throughput:.0f} req/s (p50 \
{beside.p50:.1f} ms, p99 {beside.p99:.1f} ms) |
| ratios, side by side | deliveries {rate_both / rate_alone:.2f} × alone; `GET /me/` \
{beside.throughput / alone.throughput:.2f} × alone |
| received | {sum(per_endpoint.values())} distinct of {expected * options.endpoints} \
(lost {lost}, doubled {doubled} per webhook-id and endpoint) |
| signatures checked by the receiver | {stats["checked"]} (bad {stats["bad"]}) |

A task serves one endpoint: per round one `UPDATE ... RETURNING` claims up to 50 deliveries
(the earliest open one of each subject), the calls go out concurrently over keep-alive
connections to the checked address, and the attempts and outcomes are written in one INSERT and
one `UPDATE ... FROM (VALUES ...)`. Everything (PostgreSQL, Redis, nginx, gunicorn, the worker,
the receiver, the load generator) shares the machine's CPUs.
"""
    print(text)
    if not options.no_write:
        write_section("Webhooks", text)
        say("written to docs/PERFORMANCE.md (section Webhooks)")
    say("0 lost, 0 doubled" if ok else "LOST, DOUBLED OR BADLY SIGNED DELIVERIES")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
