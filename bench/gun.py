"""GUN validation throughput through the front, against a trivial authenticated endpoint.

`python -m bench.gun` starts the servers of `make run` on a fresh bench database, seeds a company
with its API key, a SEMAE key, many 2413 DIs with large balances and anticipated declarations
(5 items, one DI each), then measures `POST /api/v1/declarations/{id}/validate/` (a fresh
declaration per validation) and `GET /api/v1/me/` at 1, 10 and 50 concurrent clients, and
writes the figures into the "GUN" section of docs/PERFORMANCE.md. Every process it started is
stopped at the end, on Ctrl-C or on error.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from typing import Any

from bench.common import (
    BenchError,
    Result,
    Stack,
    load,
    machine_line,
    say,
    timed,
    write_section,
)

EORI = "FR73282932000074"
DI_COUNT = 1000
DI_BALANCE = "10000000.000"  # kg: room for 100,000 validations of 100 kg per DI
ITEMS = 5
QUANTITY = "100.000"
CONCURRENCY = (1, 10, 50)
# (requests, seconds) bounds per run: whichever comes first ends it.
BOUNDS = {1: (150, 10.0), 10: (500, 15.0), 50: (900, 15.0)}
WARMUP = 100
TARGET_THROUGHPUT = 300.0
TARGET_P99_MS = 100.0
TARGET_RATIO = 0.5


def di_reference(n: int) -> str:
    return f"2026-01-{n:07d}-00"


def di_payload(n: int) -> dict[str, Any]:
    return {
        "code": "2413",
        "reference": di_reference(n),
        "status": "VAL",
        "holder_eori": EORI,
        "issued_on": "2026-01-12",
        "lines": [
            {
                "line": 1,
                "commodity_code": "12099180",
                "origin_country": "MA",
                "quantity": DI_BALANCE,
                "unit": "KGM",
            }
        ],
    }


def declaration_payload(n: int, rng: random.Random) -> dict[str, Any]:
    """Five items, each with one DI of the pool and a sheet that passes every check."""
    dis = rng.sample(range(DI_COUNT), ITEMS)
    return {
        "client_reference": f"BENCH-{n:06d}",
        "importer_eori": EORI,
        "items": [
            {
                "item_number": i + 1,
                "commodity_code": "1209918000",
                "origin_country": "MA",
                "net_mass_kg": QUANTITY,
                "documents": [
                    {
                        "code": "2413",
                        "reference": di_reference(di),
                        "date": "2026-01-12",
                        "imputation": {"line": 1, "quantity": QUANTITY, "unit": "KGM"},
                    }
                ],
            }
            for i, di in enumerate(dis)
        ],
    }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used by the stack's parts, from /proc/<pid>/stat (utime + stime): gunicorn
    and nginx by process group, PostgreSQL by its backends serving the bench database, and this
    client process. Processes that exited between two snapshots are not counted."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.groups = {
            p.pid: name
            for p, name in zip(stack.processes, ("gunicorn", "uvicorn", "nginx"), strict=False)
        }

    def snapshot(self) -> dict[str, float]:
        totals = {"gunicorn": 0.0, "postgres": 0.0, "nginx": 0.0, "client": 0.0, "uvicorn": 0.0}
        me = os.getpid()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read().decode()
                fields = stat[stat.rindex(")") + 2 :].split()
                cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
                pgrp = int(fields[2])
                pid = int(entry.name)
                if pid == me:
                    totals["client"] += cpu
                elif pgrp in self.groups:
                    totals[self.groups[pgrp]] += cpu
                elif "postgres" in stat[: stat.index(")")]:
                    with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                        title = f.read().decode(errors="replace")
                    if f" {self.stack.database} " in title:
                        totals["postgres"] += cpu
            except (OSError, ValueError, IndexError):
                continue
        return totals

    @staticmethod
    def per_request(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
        """Milliseconds of CPU per request for each part."""
        return {k: (after[k] - before[k]) * 1000 / max(n, 1) for k in before}


class Bench:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.api = f"{stack.front}/api/v1"
        self.company_key = ""
        self.semae_key = ""
        self.declarations: list[str] = []
        self.next_declaration = 0
        self.failures: list[str] = []

    # -- seed --

    def seed(self, declarations: int) -> None:
        stack = self.stack
        stack.manage("create_company", "--eori", EORI, "--name", "Bench Transit", capture=True)
        self.company_key = stack.manage("create_api_key", "--company", EORI, capture=True).split()[
            -1
        ]
        self.semae_key = stack.manage("create_api_key", "--partner", "SEMAE", capture=True).split()[
            -1
        ]
        semae = {"Authorization": f"Api-Key {self.semae_key}"}
        company = {"Authorization": f"Api-Key {self.company_key}"}

        async def publish(session: Any, n: int) -> int:
            url = f"{self.api}/partner-documents/"
            async with session.post(url, json=di_payload(n), headers=semae) as response:
                if response.status >= 300:
                    self._fail(f"publish DI: {response.status} {(await response.text())[:300]}")
                return response.status

        with timed(f"published {DI_COUNT} DIs"):
            result = load("publish", publish, clients=10, total=DI_COUNT, max_seconds=600)
        self._require(result, DI_COUNT)

        rng = random.Random(2413)
        payloads = [declaration_payload(n, rng) for n in range(declarations)]
        ids: list[str | None] = [None] * declarations

        async def register(session: Any, n: int) -> int:
            url = f"{self.api}/declarations/"
            async with session.post(url, json=payloads[n], headers=company) as response:
                body = await response.text()
                if response.status == 201:
                    ids[n] = json.loads(body)["id"]
                else:
                    self._fail(f"register: {response.status} {body[:300]}")
                return response.status

        with timed(f"registered {declarations} anticipated declarations"):
            result = load("register", register, clients=20, total=declarations, max_seconds=900)
        self._require(result, declarations)
        say(result.line())
        self.declarations = [i for i in ids if i is not None]

    def _fail(self, message: str) -> None:
        if len(self.failures) < 5:
            self.failures.append(message)

    def _require(self, result: Result, total: int) -> None:
        if result.errors or result.requests < total:
            raise BenchError(
                f"seeding failed ({result.errors} errors, {result.requests}/{total} done): "
                + "; ".join(self.failures)
            )

    # -- measure --

    def validate_run(self, clients: int, total: int, seconds: float) -> Result:
        headers = {"Authorization": f"Api-Key {self.company_key}"}
        start = self.next_declaration
        available = len(self.declarations) - start
        total = min(total, available)
        self.next_declaration += total

        async def validate(session: Any, n: int) -> int:
            declaration = self.declarations[start + n]
            url = f"{self.api}/declarations/{declaration}/validate/"
            async with session.post(url, json={}, headers=headers) as response:
                body = await response.read()
                if response.status != 200:
                    self._fail(f"validate: {response.status} {body[:300]!r}")
                elif n == 0 and b'"accepted"' not in body:
                    self._fail(f"validate: not accepted: {body[:300]!r}")
                return response.status

        result = load("validate", validate, clients=clients, total=total, max_seconds=seconds)
        self.next_declaration = start + result.requests
        return result

    def me_run(self, clients: int, total: int, seconds: float) -> Result:
        headers = {"Authorization": f"Api-Key {self.company_key}"}

        async def me(session: Any, n: int) -> int:
            async with session.get(f"{self.api}/me/", headers=headers) as response:
                await response.read()
                return response.status

        return load("me", me, clients=clients, total=total, max_seconds=seconds)

    def diagnose(self, profile: bool) -> dict[str, Any]:
        """In one process on the bench database: SQL statements per request, time per request
        without HTTP, and (``profile``) where a validation spends its time (cProfile)."""
        spare = self.declarations[self.next_declaration :][:42]
        self.next_declaration += len(spare)
        if len(spare) < 3:
            return {}
        script = DIAGNOSE % {
            "key": self.company_key,
            "ids": json.dumps(spare),
            "profile": profile,
        }
        output = self.stack.manage("shell", "-c", script, capture=True)
        result: dict[str, Any] = {}
        for line in output.splitlines():
            if line.startswith("DIAGNOSE "):
                result = json.loads(line[len("DIAGNOSE ") :])
            elif profile:
                print(line)
        return result


DIAGNOSE = """
import cProfile, io, json, pstats, time
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client = Client(HTTP_AUTHORIZATION="Api-Key %(key)s")
ids = json.loads('%(ids)s')
def validate(pk):
    url = f"/api/v1/declarations/{pk}/validate/"
    return client.post(url, data={}, content_type="application/json")
out = {}
with CaptureQueriesContext(connection) as queries:
    status = client.get("/api/v1/me/").status_code
out["me_queries"], out["me_status"] = len(queries), status
validate(ids[0])  # first of this process: fills its caches
with CaptureQueriesContext(connection) as queries:
    status = validate(ids[1]).status_code
out["validate_queries"], out["validate_status"] = len(queries), status
began = time.perf_counter()
for _ in range(200):
    client.get("/api/v1/me/")
out["me_ms"] = (time.perf_counter() - began) / 200 * 1000
profiler = cProfile.Profile() if %(profile)s else None
began = time.perf_counter()
if profiler: profiler.enable()
for pk in ids[2:]:
    validate(pk)
if profiler: profiler.disable()
out["validate_ms"] = (time.perf_counter() - began) / (len(ids) - 2) * 1000
if profiler:
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
    print(text.getvalue())
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats("gun/|sesame/", 30)
    print(text.getvalue())
print("DIAGNOSE", json.dumps(out))
"""


def cpu_table(cpu: dict[tuple[str, int], dict[str, float]]) -> list[str]:
    """CPU milliseconds per request by part of the stack, for each run."""
    if not cpu:
        return []
    parts = ("gunicorn", "postgres", "nginx", "client")
    rows = [
        "CPU per request (ms, from /proc/<pid>/stat over each run: gunicorn workers, the "
        "PostgreSQL backends of the bench database, nginx, the load client):",
        "",
        "| request | clients | " + " | ".join(parts) + " | total |",
        "| --- | ---: | " + " | ".join("---:" for _ in parts) + " | ---: |",
    ]
    for (kind, clients), values in sorted(
        cpu.items(), key=lambda kv: (kv[0][0] != "validate", kv[0][1])
    ):
        label = "validate" if kind == "validate" else "`GET /me/`"
        total = sum(values[p] for p in parts)
        rows.append(
            f"| {label} | {clients} | "
            + " | ".join(f"{values[p]:.1f}" for p in parts)
            + f" | {total:.1f} |"
        )
    return rows


def web_workers() -> int:
    """gunicorn's worker count as sesame/gunicorn_conf.py computes it (WEB_CONCURRENCY)."""
    return int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) * 2)


def report(
    results: dict[int, tuple[Result, Result]],
    counts: dict[str, Any],
    machine: str,
    stack: Stack,
    cpu: dict[tuple[str, int], dict[str, float]] | None = None,
) -> str:
    rows = [
        "| clients | validations/s | p50 (ms) | p99 (ms) | errors | `GET /me/` req/s | "
        "p50 (ms) | p99 (ms) | ratio |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for clients, (validate, me) in sorted(results.items()):
        ratio = validate.throughput / me.throughput if me.throughput else 0.0
        rows.append(
            f"| {clients} | {validate.throughput:.0f} | {validate.p50:.1f} | {validate.p99:.1f} "
            f"| {validate.errors}/{validate.requests} | {me.throughput:.0f} | {me.p50:.1f} | "
            f"{me.p99:.1f} | {ratio:.0%} |"
        )
    top = results.get(max(results)) if results else None
    verdict = ""
    if top is not None:
        validate, me = top
        ratio = validate.throughput / me.throughput if me.throughput else 0.0
        checks = [
            (
                f"≥ {TARGET_THROUGHPUT:.0f} validations/s",
                validate.throughput >= TARGET_THROUGHPUT,
            ),
            (f"p99 < {TARGET_P99_MS:.0f} ms", validate.p99 < TARGET_P99_MS),
            (f"≥ {TARGET_RATIO:.0%} of `GET /me/`", ratio >= TARGET_RATIO),
        ]
        verdict = f"Targets at {max(results)} clients: " + ", ".join(
            f"{label} {'met' if ok else '**missed**'}" for label, ok in checks
        )
    queries = ""
    if counts:
        queries = (
            f"In one process without HTTP (Django test client on the bench database, after the "
            f"load, caches warm): a validation takes {counts.get('validate_ms', 0):.1f} ms and "
            f"{counts.get('validate_queries', '?')} SQL statements, `GET /me/` "
            f"{counts.get('me_ms', 0):.1f} ms and {counts.get('me_queries', '?')} statement(s). "
            "`python -m bench.gun --profile` prints where the time goes (cProfile)."
        )
    return "\n".join(
        [
            machine,
            "",
            "`POST /api/v1/declarations/{id}/validate/` of a fresh anticipated declaration (5 "
            f"items, 5 box-44 documents: 2413 DIs drawn from a pool of {DI_COUNT}, every check "
            "passes, outcome `accepted`, reservations written) against `GET /api/v1/me/` (API "
            "key authentication from the key cache, then one indexed read: the company by "
            "primary key), "
            f"through nginx on port {stack.front_port} to gunicorn on {stack.web_port} "
            f"(sesame/gunicorn_conf.py, {web_workers()} sync workers; uvicorn on "
            f"{stack.stream_port}), DEBUG off, throttling lifted, "
            "no Celery worker running (propagation tasks queue in Redis). Load from one aiohttp "
            "client process on the same machine, keep-alive connections; a run ends after its "
            "request budget or time budget. Latency is per request as the client sees it.",
            "",
            *rows,
            "",
            verdict,
            "",
            *cpu_table(cpu or {}),
            "",
            queries,
            "",
            "Run again: `make bench` (all benchmarks) or `.venv/bin/python -m bench.gun`.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gun", description=__doc__)
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of validations at the end"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply request budgets (e.g. 0.1 to try)"
    )
    parser.add_argument(
        "--clients",
        type=int,
        nargs="+",
        choices=CONCURRENCY,
        default=list(CONCURRENCY),
        help="concurrency levels to measure (default: all)",
    )
    options = parser.parse_args(argv)
    bounds = {
        c: (max(20, int(n * options.scale)), s)
        for c, (n, s) in BOUNDS.items()
        if c in options.clients
    }
    needed = WARMUP + sum(n for n, _ in bounds.values()) + 42
    machine = machine_line()  # before the seeding loads the machine
    cpu: dict[tuple[str, int], dict[str, float]] = {}
    try:
        with Stack() as stack:
            bench = Bench(stack)
            bench.seed(needed)
            say("warming up")
            bench.me_run(10, WARMUP * 2, 10)
            bench.validate_run(10, WARMUP, 10)
            results: dict[int, tuple[Result, Result]] = {}
            meter = CpuMeter(stack)
            for clients in sorted(bounds):
                total, seconds = bounds[clients]
                before = meter.snapshot()
                me = bench.me_run(clients, total * 2, seconds)
                cpu[("me", clients)] = meter.per_request(before, meter.snapshot(), me.requests)
                say(me.line())
                before = meter.snapshot()
                validate = bench.validate_run(clients, total, seconds)
                cpu[("validate", clients)] = meter.per_request(
                    before, meter.snapshot(), validate.requests
                )
                say(validate.line())
                say(f"CPU ms per validation: {cpu[('validate', clients)]}")
                if validate.errors:
                    say(f"validation errors: {validate.statuses} {bench.failures[:3]}")
                results[clients] = (validate, me)
            counts = bench.diagnose(options.profile)
            say(f"in process: {counts}")
    except BenchError as exc:
        say(f"cannot continue: {exc}")
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    text = report(results, counts, machine, stack, cpu)
    print(text)
    if not options.no_write:
        write_section("GUN", text)
        say("written to docs/PERFORMANCE.md (section GUN)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
