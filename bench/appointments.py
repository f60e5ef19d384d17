"""Appointment booking under contention, through the front, against `GET /api/v1/me/`.

`python -m bench.appointments` starts the servers of `make run` on a fresh bench database,
seeds a company (its key, one administrator to notify) with 1,000 consignments that need a
SIVEP check, gives Le Havre's SIVEP calendar 5 slots of capacity 10 tomorrow, then in one run:
`GET /api/v1/me/` at 50 clients, 1,000 booking attempts from 50 clients spread over the 5
slots (exactly 50 must be booked, every other answer 409 `slot_full`, no 5xx), and the
availability of a 31-day range at 50 clients. Then, in one process without HTTP, the SQL
statements of a booking and of availability with few and with many appointments. Writes the
"Appointments" section of docs/PERFORMANCE.md. Every process it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from typing import Any

from bench.common import BenchError, Result, Stack, load, machine_line, say, timed, write_section

EORI = "FR73282932000074"
ATTEMPTS = 1000
CLIENTS = 50
SLOTS = 5
CAPACITY = 10
ME_REQUESTS = 4000
AVAILABILITY_REQUESTS = 1000
TARGET_RATIO = 0.5
TARGET_AVAILABILITY_P99 = 2.0  # times the p99 of GET /me/

SEED = """
import json
from zoneinfo import ZoneInfo
from datetime import datetime, timedelta, time
from sesame.models import Company, Membership, User, BorderControlPost
from appointments.services import calendar_set
company = Company.objects.get(eori=%(eori)r)
user = User.objects.filter(email="admin@bench.example").first() or User.objects.create_user(
    "admin@bench.example", "bench-password-2026")
Membership.objects.get_or_create(user=user, company=company, defaults={"role": "admin"})
calendar_set(post=BorderControlPost.objects.get(code="FRLEH4"), service="SIVEP",
             hours="mon-sun 08:00-08:30 09:00-09:30 10:00-10:30 11:00-11:30 13:30-14:00",
             slot_minutes=30, capacity=%(capacity)d, notice_hours=0, horizon_days=60)
paris = ZoneInfo("Europe/Paris")
day = datetime.now(paris).date() + timedelta(days=1)
starts = [datetime.combine(day, time(h, m), tzinfo=paris).isoformat()
          for h, m in ((8, 0), (9, 0), (10, 0), (11, 0), (13, 30))]
print("SEED", json.dumps({"starts": starts, "day": day.isoformat()}))
"""

DIAGNOSE = """
import json
from datetime import date, timedelta
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from appointments.services import appointment_book
from appointments.models import Appointment
from tracking.models import Consignment
client = Client(HTTP_AUTHORIZATION="Api-Key %(key)s")
day = date.fromisoformat(%(day)r)
params = {"post": "FRLEH4", "service": "SIVEP", "from": day.isoformat(),
          "to": (day + timedelta(days=30)).isoformat()}
out = {"appointments_before": Appointment.objects.count()}
spare = list(Consignment.objects.filter(appointments__isnull=True).order_by("pk")[:2])
def count(fn):
    with CaptureQueriesContext(connection) as q:
        status = fn()
    return len(q), status
client.get("/api/v1/appointments/availability/", params)
AVAILABILITY = "/api/v1/appointments/availability/"
out["availability"] = count(lambda: client.get(AVAILABILITY, params).status_code)
start = %(start)r
def book(pk, when):
    body = {"consignment": pk, "service": "SIVEP", "start": when}
    return client.post("/api/v1/appointments/", body, content_type="application/json").status_code
out["full"] = count(lambda: book(spare[0].pk, start))
print("DIAGNOSE", json.dumps(out))
"""


class Bench:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.api = f"{stack.front}/api/v1"
        self.key = ""
        self.consignments: list[int] = []
        self.starts: list[str] = []
        self.day = ""
        self.failures: list[str] = []

    def _fail(self, message: str) -> None:
        if len(self.failures) < 5:
            self.failures.append(message)

    def seed(self) -> None:
        stack = self.stack
        stack.manage("create_company", "--eori", EORI, "--name", "Bench Transit", capture=True)
        self.key = stack.manage("create_api_key", "--company", EORI, capture=True).split()[-1]
        output = stack.manage(
            "shell", "-c", SEED % {"eori": EORI, "capacity": CAPACITY}, capture=True
        )
        seeded = json.loads(next(x for x in output.splitlines() if x.startswith("SEED "))[5:])
        self.starts, self.day = seeded["starts"], seeded["day"]
        headers = {"Authorization": f"Api-Key {self.key}"}
        ids: list[int | None] = [None] * (ATTEMPTS + 2)

        async def create(session: Any, n: int) -> int:
            body = {
                "reference": f"BENCH-{n:05d}",
                "container_numbers": ["CSQU3054383"],
                "transport_document_type": "bl",
                "transport_document_number": f"BL{n}",
                "port": "FRLEH",
                "post": "FRLEH4",
                "expected_arrival": f"{self.day}T06:00:00+01:00",
                "categories": ["plants"],
                "ched_references": [f"CHEDPP.MA.2026.{n:07d}"],
            }
            async with session.post(
                f"{self.api}/consignments/", json=body, headers=headers
            ) as response:
                text = await response.text()
                if response.status == 201:
                    ids[n] = json.loads(text)["id"]
                else:
                    self._fail(f"consignment: {response.status} {text[:200]}")
                return response.status

        with timed(f"created {len(ids)} consignments"):
            result = load("seed", create, clients=20, total=len(ids), max_seconds=900)
        if result.errors:
            raise BenchError("seeding failed: " + "; ".join(self.failures))
        self.consignments = [i for i in ids if i is not None]

    def me_run(self, clients: int, total: int) -> Result:
        headers = {"Authorization": f"Api-Key {self.key}"}

        async def me(session: Any, n: int) -> int:
            async with session.get(f"{self.api}/me/", headers=headers) as response:
                await response.read()
                return response.status

        return load("me", me, clients=clients, total=total, max_seconds=60)

    def book_run(self) -> tuple[Result, dict[str, int]]:
        headers = {"Authorization": f"Api-Key {self.key}"}
        codes: dict[str, int] = {}

        async def book(session: Any, n: int) -> int:
            body = {
                "consignment": self.consignments[n],
                "service": "SIVEP",
                "start": self.starts[n % SLOTS],
            }
            async with session.post(
                f"{self.api}/appointments/", json=body, headers=headers
            ) as response:
                text = await response.text()
                code = "booked" if response.status == 201 else f"{response.status}"
                if response.status == 409:
                    code = json.loads(text).get("code", "?")
                elif response.status != 201:
                    self._fail(f"book: {response.status} {text[:200]}")
                codes[code] = codes.get(code, 0) + 1
                return response.status

        result = load("book", book, clients=CLIENTS, total=ATTEMPTS, max_seconds=300)
        return result, codes

    def availability_run(self, total: int) -> Result:
        headers = {"Authorization": f"Api-Key {self.key}"}
        first = datetime.date.fromisoformat(self.day)
        query = (
            f"post=FRLEH4&service=SIVEP&from={first.isoformat()}"
            f"&to={(first + datetime.timedelta(days=30)).isoformat()}"
        )

        async def availability(session: Any, n: int) -> int:
            url = f"{self.api}/appointments/availability/?{query}"
            async with session.get(url, headers=headers) as response:
                body = await response.read()
                if n == 0 and b'"free"' not in body:
                    self._fail(f"availability: {body[:200]!r}")
                return response.status

        return load("avail", availability, clients=CLIENTS, total=total, max_seconds=60)

    def diagnose(self) -> dict[str, Any]:
        script = DIAGNOSE % {"key": self.key, "day": self.day, "start": self.starts[0]}
        output = self.stack.manage("shell", "-c", script, capture=True)
        for line in output.splitlines():
            if line.startswith("DIAGNOSE "):
                return json.loads(line[len("DIAGNOSE ") :])
        return {}


def report(
    results: dict[str, Result],
    codes: dict[str, int],
    counts: dict[str, Any],
    machine: str,
    stack: Stack,
) -> str:
    me, book, avail = results["me"], results["book"], results["availability"]
    # Booking answers are all expected (201 or 409 slot_full): throughput counts every answer.
    book_rate = book.requests / book.elapsed if book.elapsed else 0.0
    ratio = book_rate / me.throughput if me.throughput else 0.0
    avail_ratio = avail.p99 / me.p99 if me.p99 else 0.0
    server_errors = sum(n for status, n in book.statuses.items() if status >= 500 or status == 0)
    rows = [
        "| request | clients | requests | answers/s | p50 (ms) | p99 (ms) | statuses |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, result, rate in (
        ("`GET /api/v1/me/`", me, me.throughput),
        ("`POST /api/v1/appointments/`", book, book_rate),
        ("`GET …/availability/` (31 days)", avail, avail.throughput),
    ):
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result.statuses.items()))
        rows.append(
            f"| {label} | {result.clients} | {result.requests} | {rate:.0f} | "
            f"{result.p50:.1f} | {result.p99:.1f} | {statuses} |"
        )
    booked = codes.get("booked", 0)
    exact = booked == SLOTS * CAPACITY and codes.get("slot_full", 0) == ATTEMPTS - booked
    checks = [
        (f"exactly {SLOTS * CAPACITY} bookings, every other answer 409 `slot_full`", exact),
        ("no 5xx", server_errors == 0),
        (f"booking ≥ {TARGET_RATIO:.0%} of `GET /me/` ({ratio:.0%})", ratio >= TARGET_RATIO),
        (
            f"availability p99 ≤ {TARGET_AVAILABILITY_P99:.0f}× `GET /me/` p99 "
            f"({avail_ratio:.1f}×)",
            avail_ratio <= TARGET_AVAILABILITY_P99,
        ),
    ]
    verdict = "; ".join(f"{label}: {'met' if ok else '**missed**'}" for label, ok in checks)
    queries = ""
    if counts:
        queries = (
            "SQL statements in one process (Django test client, after the load): availability "
            f"of 31 days {counts['availability'][0]} with {counts['appointments_before']} "
            f"appointments booked; a refused booking (slot full) {counts['full'][0]}. The "
            "suite pins both counts against the number of appointments "
            "(`tests/appointments/test_api.py::test_query_counts_do_not_grow_with_appointments`)."
        )
    return "\n".join(
        [
            machine,
            "",
            f"`python -m bench.appointments`: {ATTEMPTS:,} booking attempts from {CLIENTS} "
            f"concurrent clients on {SLOTS} slots of capacity {CAPACITY} (each attempt a "
            "different consignment, slots taken in turn), measured in the same run as `GET "
            "/api/v1/me/` and the availability of a 31-day range, through nginx on port "
            f"{stack.front_port} to gunicorn (sesame/gunicorn_conf.py), DEBUG off, throttling "
            "lifted, no Celery worker (notification tasks queue in Redis). Each booking writes "
            "its notice and outbox rows for the company's administrator. Answers of bookings "
            "per second count every answer (201 and 409 alike: both are the expected outcome).",
            "",
            *rows,
            "",
            f"Booking outcomes: {json.dumps(codes, sort_keys=True)}.",
            "",
            verdict + ".",
            "",
            queries,
            "",
            "Run again: `.venv/bin/python -m bench.appointments` (or `make bench`).",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.appointments", description=__doc__)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    options = parser.parse_args(argv)
    machine = machine_line()
    try:
        with Stack() as stack:
            bench = Bench(stack)
            bench.seed()
            say("warming up")
            bench.me_run(10, 400)
            bench.availability_run(100)
            results: dict[str, Result] = {}
            results["me"] = bench.me_run(CLIENTS, ME_REQUESTS)
            say(results["me"].line())
            results["book"], codes = bench.book_run()
            say(results["book"].line() + f" {codes}")
            results["availability"] = bench.availability_run(AVAILABILITY_REQUESTS)
            say(results["availability"].line())
            counts = bench.diagnose()
            say(f"in process: {counts}")
            if bench.failures:
                say(f"failures: {bench.failures}")
    except BenchError as exc:
        say(f"cannot continue: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    text = report(results, codes, counts, machine, stack)
    print(text)
    if not options.no_write:
        write_section("Appointments", text)
        say("written to docs/PERFORMANCE.md (section Appointments)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
