"""Import dossier benchmark, in one run through the front of `make run` (nginx, gunicorn):

1. upload of 100 files of 1 MiB (`POST /api/v1/consignments/{id}/documents/`);
2. download of one 10 MiB document through Django + X-Accel-Redirect, beside nginx serving
   the same file statically (a second nginx with the same configuration and a static
   location), with the same clients;
3. export of a 200 MiB dossier ZIP (`GET .../dossier.zip`), beside reading the same files
   from disk in this process, and the RSS growth of the gunicorn worker that streams it.

`python -m bench.dossier [--clients N]`; database BENCH_DATABASE, Redis db BENCH_REDIS_DB.
Writes the "Import dossier" section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import (
    ROOT,
    BenchError,
    Stack,
    load,
    machine_line,
    port_open,
    say,
    write_section,
)

MIB = 1024 * 1024
EORI = "FR73282932000074"


def _pdf(size: int, seed: int) -> bytes:
    head = b"%PDF-1.7\n%bench " + str(seed).encode() + b"\n"
    return head + os.urandom(size - len(head))


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


class StaticNginx:
    """A second nginx from the same template, with a static location over the dossier files."""

    def __init__(self, files: Path, port: int) -> None:
        sys.path.insert(0, str(ROOT / "scripts"))
        from front import render

        self.prefix = Path(tempfile.mkdtemp(prefix="sesame-static-"))
        (self.prefix / "logs").mkdir()
        (self.prefix / "tmp").mkdir()
        conf = render(
            listen=f"127.0.0.1:{port}",
            web="127.0.0.1:9",
            stream="127.0.0.1:9",
            prefix=self.prefix,
            dossier_files=files,
        ).replace(
            "        location /_dossier_files/ {",
            f"        location /static-files/ {{ alias {files}/; }}\n"
            "        location /_dossier_files/ {",
        )
        (self.prefix / "nginx.conf").write_text(conf)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen(
            [
                nginx,
                "-c",
                str(self.prefix / "nginx.conf"),
                "-p",
                str(self.prefix),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not port_open(port):
            if time.monotonic() > deadline:
                raise BenchError("the static nginx did not start")
            time.sleep(0.1)
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _api(stack: Stack, key: str, method: str, path: str, **kwargs: object) -> dict:
    import requests

    response = requests.request(
        method,
        stack.front + path,
        headers={"Authorization": f"Api-Key {key}"},
        timeout=120,
        **kwargs,
    )
    if response.status_code >= 400:
        raise BenchError(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return response.json()


def _consignment(stack: Stack, key: str, reference: str) -> int:
    body = {
        "reference": reference,
        "transport_document_type": "bl",
        "transport_document_number": f"BL-{reference}",
        "port": "FRLEH",
        "expected_arrival": "2026-12-24T10:00:00+01:00",
    }
    return int(_api(stack, key, "POST", "/api/v1/consignments/", json=body)["id"])


def _uploads(
    stack: Stack, key: str, consignment: int, count: int, clients: int
) -> tuple[float, int]:
    import aiohttp

    files = [_pdf(MIB, n) for n in range(count)]
    url = f"{stack.front}/api/v1/consignments/{consignment}/documents/"

    async def one(session: aiohttp.ClientSession, n: int) -> int:
        form = aiohttp.FormData()
        form.add_field("type", "other")
        form.add_field("reference", f"U-{n}")
        form.add_field("file", files[n], filename=f"f{n}.pdf", content_type="application/pdf")
        async with session.post(url, data=form, headers={"Authorization": f"Api-Key {key}"}) as r:
            await r.read()
            return r.status

    result = load("upload", one, clients=clients, total=count, max_seconds=600)
    say(result.line())
    return result.elapsed, result.requests - result.errors


def _downloads(url: str, headers: dict[str, str], *, clients: int, total: int, name: str):
    async def one(session, n: int) -> int:
        async with session.get(url, headers=headers) as response:
            size = 0
            async for chunk in response.content.iter_chunked(256 * 1024):
                size += len(chunk)
            if size != 10 * MIB:
                return 599
            return response.status

    result = load(name, one, clients=clients, total=total, max_seconds=300)
    say(result.line())
    return result


def _evict(files: list[Path]) -> None:
    """Drop these files' pages from the page cache (only theirs): the next read is from disk."""
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


ROUNDS = 4


def _merged(results: list, name: str):  # type: ignore[no-untyped-def]
    """One result of several runs: their requests over their summed time."""
    from bench.common import Result

    statuses: dict[int, int] = {}
    for result in results:
        for status, count in result.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return Result(
        name,
        results[0].clients,
        sum(r.requests for r in results),
        sum(r.errors for r in results),
        sum(r.elapsed for r in results),
        [latency for r in results for latency in r.latencies],
        statuses,
    )


def _export(stack: Stack, key: str, consignment: int, files: list[Path]) -> dict[str, float]:

    _evict(files)
    master = stack.processes[0].pid  # gunicorn
    workers = _children(master)
    before = {pid: _rss_kib(pid) for pid in workers}
    peak = dict(before)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in workers:
                peak[pid] = max(peak[pid], _rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    began = time.perf_counter()
    size = 0
    # A lean client (http.client reading into one buffer): the export is measured, not requests.
    connection = http.client.HTTPConnection("127.0.0.1", stack.front_port, timeout=600)
    connection.request(
        "GET",
        f"/api/v1/consignments/{consignment}/dossier.zip",
        headers={"Authorization": f"Api-Key {key}"},
    )
    response = connection.getresponse()
    if response.status != 200:
        raise BenchError(f"export: {response.status}")
    buffer = memoryview(bytearray(1024 * 1024))
    while read := response.readinto(buffer):
        size += read
    connection.close()
    export_seconds = time.perf_counter() - began
    done.set()
    sampler.join()
    growth = max(peak[pid] - before[pid] for pid in workers) / 1024
    _evict(files)
    began = time.perf_counter()
    read = 0
    for path in files:
        with path.open("rb", buffering=0) as handle:
            while count := handle.readinto(buffer):
                read += count
    disk_seconds = time.perf_counter() - began
    return {
        "zip_mib": size / MIB,
        "export_s": export_seconds,
        "export_mibs": size / MIB / export_seconds,
        "disk_mib": read / MIB,
        "disk_s": disk_seconds,
        "disk_mibs": read / MIB / disk_seconds,
        "rss_growth_mib": growth,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dossier", description=__doc__)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--downloads", type=int, default=200, help="10 MiB downloads per side")
    args = parser.parse_args(argv)
    files_root = Path(tempfile.mkdtemp(prefix="sesame-bench-dossier-"))
    os.environ["DOSSIER_FILES_ROOT"] = str(files_root)  # gunicorn and the front agree on it
    static = None
    try:
        with Stack(
            extra_env={
                "DOSSIER_STORAGE": "filesystem",
                "DOSSIER_FILES_ROOT": str(files_root),
                "DOSSIER_SIGNING_KEY_FILE": str(files_root.parent / f"{files_root.name}.pem"),
            }
        ) as stack:
            stack.manage("create_company", "--eori", EORI, "--name", "Bench Transit")
            key = (
                stack.manage("create_api_key", "--company", EORI, capture=True)
                .strip()
                .splitlines()[-1]
            )
            small = _consignment(stack, key, "BENCH-UPLOADS")
            say("upload: 100 files of 1 MiB")
            upload_s, uploaded = _uploads(stack, key, small, 100, args.clients)
            big = _consignment(stack, key, "BENCH-EXPORT")
            say("export data: 10 files of 20 MiB")
            ids = []
            for n in range(10):
                body = _api(
                    stack,
                    key,
                    "POST",
                    f"/api/v1/consignments/{big}/documents/",
                    files={"file": (f"big{n}.pdf", _pdf(20 * MIB, 1000 + n))},
                    data={"type": "other", "reference": f"B-{n}"},
                )
                ids.append(body["id"])
            ten = _api(
                stack,
                key,
                "POST",
                f"/api/v1/consignments/{small}/documents/",
                files={"file": ("ten.pdf", _pdf(10 * MIB, 7))},
                data={"type": "other", "reference": "TEN"},
            )
            import psycopg2

            with psycopg2.connect(stack.database_url) as connection, connection.cursor() as cursor:
                cursor.execute(
                    "SELECT storage_name FROM dossier_document WHERE id = %s", [ten["id"]]
                )
                ten_name = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT storage_name FROM dossier_document"
                    " WHERE consignment_id = %s ORDER BY id",
                    [big],
                )
                big_files = [files_root / row[0] for row in cursor.fetchall()]
            static = StaticNginx(files_root, stack.front_port + 10)
            headers = {"Authorization": f"Api-Key {key}"}
            # Warm-up: both sides read the file from the page cache.
            _downloads(f"{static.url}/static-files/{ten_name}", {}, clients=1, total=3, name="warm")
            # Alternating rounds, so that a change of the machine's load hits both sides.
            rounds = []
            for _round in range(ROUNDS):
                rounds.append(
                    (
                        _downloads(
                            f"{stack.front}/api/v1/documents/{ten['id']}/download/",
                            headers,
                            clients=args.clients,
                            total=args.downloads // ROUNDS,
                            name="x-accel",
                        ),
                        _downloads(
                            f"{static.url}/static-files/{ten_name}",
                            {},
                            clients=args.clients,
                            total=args.downloads // ROUNDS,
                            name="static",
                        ),
                    )
                )
            django = _merged([pair[0] for pair in rounds], "x-accel")
            plain = _merged([pair[1] for pair in rounds], "static")
            say("export: the 200 MiB dossier")
            export = _export(stack, key, big, big_files)
            say(json.dumps(export))
    finally:
        if static is not None:
            static.stop()
        shutil.rmtree(files_root, ignore_errors=True)
    download_ratio = django.throughput / plain.throughput
    export_ratio = export["export_mibs"] / export["disk_mibs"]
    e = export
    rows = [
        (
            f"upload of 100 files of 1 MiB through the front ({args.clients} clients)",
            f"{uploaded} files in {upload_s:.1f} s: {uploaded / upload_s:.1f} files/s "
            f"({uploaded / upload_s:.1f} MiB/s)",
        ),
        (
            f"download of one 10 MiB document, Django + X-Accel-Redirect ({args.clients} "
            f"clients, {django.requests} requests in {ROUNDS} rounds alternating with static)",
            f"{django.throughput * 10:.0f} MiB/s ({django.throughput:.1f} req/s, p50 "
            f"{django.p50:.0f} ms, p99 {django.p99:.0f} ms, {django.errors} errors)",
        ),
        (
            "the same file served statically by nginx (same configuration, same clients)",
            f"{plain.throughput * 10:.0f} MiB/s ({plain.throughput:.1f} req/s, p50 "
            f"{plain.p50:.0f} ms, p99 {plain.p99:.0f} ms, {plain.errors} errors)",
        ),
        ("**download: X-Accel-Redirect / static**", f"**{download_ratio:.0%}** (goal ≥ 80 %)"),
        (
            "export of the 200 MiB dossier as a ZIP (one client)",
            f"{e['zip_mib']:.0f} MiB in {e['export_s']:.2f} s: {e['export_mibs']:.0f} MiB/s",
        ),
        (
            "reading the same files from disk (this process, 1 MiB reads)",
            f"{e['disk_mib']:.0f} MiB in {e['disk_s']:.2f} s: {e['disk_mibs']:.0f} MiB/s",
        ),
        ("**export / disk**", f"**{export_ratio:.0%}** (goal ≥ 50 %)"),
        (
            "**RSS growth of the gunicorn worker during the export**",
            f"**{e['rss_growth_mib']:.1f} MiB** (goal < 50 MiB)",
        ),
    ]
    table = "\n".join(
        ["| measure | value |", "| --- | --- |"] + [f"| {a} | {b} |" for a, b in rows]
    )
    text = f"""
{machine_line()}

`python -m bench.dossier --clients {args.clients}`: the servers of `make run` (nginx front,
gunicorn with sesame/gunicorn_conf.py, sync workers), file-system storage, DEBUG off, clients
in this process (aiohttp, keep-alive) on the same machine.

{table}

A download costs a gunicorn worker the access check, the access-log row and an
`X-Accel-Redirect` answer; nginx then sends the file from the internal location
`/_dossier_files/` (deploy/nginx.conf.template), with the ETag and Repr-Digest Django chose.
The export is written by the standard library's zipfile into a pipe drained after every
1 MiB chunk read from the storage (documents stored, not compressed), and nginx passes the
stream on in 1 MiB reads without buffering it to disk: the worker's memory does not depend on
the dossier's size. Both sides of each ratio ran back to back in one run on the same
machine; before each side of the export ratio, the files' pages are dropped from the page
cache (`posix_fadvise(DONTNEED)` on these files only), so both read them from disk.

Run again: `.venv/bin/python -m bench.dossier` (or `make bench`); the reading of these
figures is in the next section.
"""
    write_section("Import dossier", text)
    say(f"download {download_ratio:.0%} of static, export {export_ratio:.0%} of disk")
    return 0


if __name__ == "__main__":
    sys.exit(main())
