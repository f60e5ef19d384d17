"""Notifications benchmark: N events fanned out to users with SMS and email enabled, delivered by
a real Celery worker to the local fake Twilio and a real local SMTP server.

`python -m bench.notify [--events N] [--users U] [--concurrency C]`. The events are recorded
first (the tasks wait in Redis), then a worker is started and the drain is timed. Checks that no
delivery is lost or doubled (every SMS reached the fake exactly once, every email the SMTP server
exactly once) and writes the "Notifications" section of docs/PERFORMANCE.md.
Database: NOTIFY_BENCH_DATABASE (sesame_notify_bench), Redis db NOTIFY_BENCH_REDIS_DB (4).
"""

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
BASE_DB = os.environ.get("DATABASE_URL", "postgres://sesame:sesame@127.0.0.1:54329/sesame")
BASE_REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:63799/0")


def _setup_env() -> dict[str, str]:
    db_name = os.environ.get("NOTIFY_BENCH_DATABASE", "sesame_notify_bench")
    redis_db = os.environ.get("NOTIFY_BENCH_REDIS_DB", "4")
    database_url = urlunparse(urlparse(BASE_DB)._replace(path=f"/{db_name}"))
    redis_url = urlunparse(urlparse(BASE_REDIS)._replace(path=f"/{redis_db}"))
    import psycopg2

    admin = urlparse(database_url)
    conn = psycopg2.connect(
        host=admin.hostname,
        port=admin.port,
        user=admin.username,
        password=admin.password,
        dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
        cursor.execute(f'CREATE DATABASE "{db_name}"')
    conn.close()
    env = {
        "SESAME_DEV": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "sesame.settings",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    return env


def _in_processes(work: Callable[[int], None], count: int) -> None:
    """Run work(0..count-1) in forked processes (each opens its own database connection)."""
    from django.db import connections

    connections.close_all()
    children = []
    for part in range(count):
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                work(part)
                connections.close_all()
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            os._exit(code)
        children.append(pid)
    failed = [pid for pid in children if os.waitpid(pid, 0)[1] != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} recording process(es) failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.notify")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--sms-only", action="store_true", help="users turn email off (SMS path alone)"
    )
    parser.add_argument(
        "--record-processes", type=int, default=2, help="processes recording the events"
    )
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])

    from bench.common import machine_line, say, write_section

    load_at_start = " ".join(f"{x:.1f}" for x in os.getloadavg())
    env = _setup_env()
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    redis.Redis.from_url(settings.REDIS_URL).flushdb()

    from notifications import conf
    from notifications.models import Attempt, Delivery, Preference, Profile
    from sesame.models import Company, Membership, User
    from tests.notifications.fakes import FakeTwilio, SmtpSink
    from tracking.models import Consignment
    from tracking.services import event_record

    company = Company.objects.create(eori="FR732829320", name="Bench forwarder")
    users = []
    for i in range(args.users):
        user = User.objects.create_user(email=f"bench{i}@example.org", language="fr")
        Membership.objects.create(user=user, company=company, role="operator")
        Profile.objects.create(user=user, phone=f"+3361{i:07d}", phone_verified_at=timezone.now())
        if args.sms_only:
            Preference.objects.create(
                user=user, kind="gun_rejection", channel="email", enabled=False
            )
        users.append(user)
    consignments = [
        Consignment.objects.create(
            company=company,
            reference=f"BENCH-{i:04d}",
            transport_document_type="bl",
            transport_document_number=f"BL{i}",
            port="FRLEH",
            expected_arrival=timezone.now(),
        )
        for i in range(max(1, args.events // 50))
    ]
    say(f"recording {args.events} events for {args.users} user(s)...")

    def record(part: int) -> None:
        for i in range(part, args.events, max(args.record_processes, 1)):
            event_record(
                consignment=consignments[i % len(consignments)],
                kind="declaration_rejected",
                occurred_at=timezone.now(),
                source="DELTA",
                source_event_id=f"bench-{i}",
            )

    started = time.monotonic()
    _in_processes(record, max(args.record_processes, 1))
    record_seconds = time.monotonic() - started
    # The fakes' threads start after the forks.
    twilio, smtp = FakeTwilio(), SmtpSink()
    providers = Delivery.objects.filter(channel__in=["sms", "email"])
    expected_sms = args.events * args.users
    expected_email = 0 if args.sms_only else expected_sms
    say(f"recorded in {record_seconds:.1f}s; {providers.count()} SMS+email rows; starting worker")

    log = ROOT / ".local" / "bench-notify-worker.log"
    log.parent.mkdir(exist_ok=True)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "sesame",
            "worker",
            "-l",
            "warning",
            "--concurrency",
            str(args.concurrency),
            "--pool",
            "prefork",
            "--without-mingle",
            "--without-gossip",
            "-Q",
            "celery,notify_sms,notify_email",
            "-n",
            f"bench-notify-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            **env,
            "TWILIO_BASE_URL": twilio.url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
            "PYTHONUNBUFFERED": "1",
        },
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        drain_start = time.monotonic()
        total = providers.count()
        while True:
            done = providers.filter(status__in=["queued", "sent", "failed"]).count()
            if done >= total:
                break
            if worker.poll() is not None:
                say(f"worker exited; see {log}")
                return 1
            if time.monotonic() - drain_start > 1800:
                say("timed out")
                return 1
            time.sleep(0.5)
        drain = time.monotonic() - drain_start
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(30)
    first_sent = providers.order_by("sent_at").values_list("sent_at", flat=True).first()
    last_sent = providers.order_by("-sent_at").values_list("sent_at", flat=True).first()
    window = (last_sent - first_sent).total_seconds() if first_sent and last_sent else drain
    sms_count = len(twilio.messages)
    emails = Counter(m["Message-ID"] for m in smtp.messages)
    sms_sids = Counter(m["sid"] for m in twilio.messages)
    failed = providers.filter(status="failed").count()
    per_phone = Counter(m["to"] for m in twilio.messages)
    doubled = sum(1 for c in per_phone.values() if c > args.events)
    lost_sms = expected_sms - sms_count
    lost_email = expected_email - len(emails)
    doubled_email = sum(c - 1 for c in emails.values())
    ok = (
        lost_sms == 0
        and doubled == 0
        and lost_email == 0
        and doubled_email == 0
        and failed == 0
        and set(sms_sids.values()) == {1}
    )
    sms_rows = providers.filter(channel="sms")
    sms_first = sms_rows.order_by("sent_at").values_list("sent_at", flat=True).first()
    sms_last = sms_rows.order_by("-sent_at").values_list("sent_at", flat=True).first()
    sms_window = (sms_last - sms_first).total_seconds() if sms_first and sms_last else drain
    email_rows = providers.filter(channel="email")
    email_first = email_rows.order_by("sent_at").values_list("sent_at", flat=True).first()
    email_last = email_rows.order_by("-sent_at").values_list("sent_at", flat=True).first()
    email_window = (
        (email_last - email_first).total_seconds() if email_first and email_last else drain
    )
    batches = Attempt.objects.values("started_at").distinct().count()
    say(f"{total} deliveries in {drain:.1f}s ({total / window:.0f}/s between first and last send)")
    body = f"""
`python -m bench.notify --events {args.events} --users {args.users} --concurrency \
{args.concurrency}`: {args.events} tracking events recorded through `tracking.services.event_record`
({args.record_processes} processes; outbox rows written in the same transaction), each fanned out
to {args.users} user(s) with SMS {"only" if args.sms_only else "and email"} enabled; then one
Celery worker (prefork, concurrency {args.concurrency}) drains the outbox to the local fake
Twilio (real `twilio` client over HTTP, threaded HTTP/1.1 keep-alive server) and a real local
SMTP server (aiosmtpd), all on this machine.

{machine_line()} Load average when the benchmark started: {load_at_start}.

| measure | value |
| --- | --- |
| events recorded (with their outbox rows) | {args.events} in {record_seconds:.1f} s \
({args.events / record_seconds:.0f} events/s) |
| SMS + email deliveries | {total} in {batches} batches |
| drain time (worker start to last row done) | {drain:.1f} s |
| deliveries/s (first to last send) | {total / window:.0f} |
| SMS/s (all SMS over that same window, emails sent alongside) | {expected_sms / window:.0f} |
| email/s (all emails over that same window) | {len(emails) / window:.0f} |
| SMS/s (first to last SMS) | {expected_sms / sms_window:.0f} |
| email/s (first to last email) | {len(emails) / email_window:.0f} |
| SMS received by the fake Twilio | {sms_count} (expected {expected_sms}; lost {lost_sms}, \
doubled {doubled}) |
| emails received by the SMTP server | {len(emails)} distinct (lost {lost_email}, doubled \
{doubled_email}) |
| failed deliveries | {failed} |

A worker task claims a batch (the rows it was given plus other due rows of the same channel, up
to `NOTIFY_BATCH_SIZE`={conf.BATCH_SIZE}) in one `UPDATE ... RETURNING`, writes the batch's
Attempt rows in one INSERT, sends the SMS over {conf.SMS_THREADS} threads (one keep-alive Twilio
client each) or the emails over one SMTP connection, and writes outcomes and provider ids in two
`UPDATE ... FROM (VALUES ...)`: about six statements per batch. SMS batches go to the
`{conf.SMS_QUEUE}` queue, email batches to `{conf.EMAIL_QUEUE}` with a lower Redis priority
({conf.PRIORITIES["email"]}; 0 is served first): the worker
(`-Q celery,{conf.SMS_QUEUE},{conf.EMAIL_QUEUE}`) takes every waiting SMS batch before an email
batch. An email is rendered once per (event, kind, language) and sent as raw quoted-printable
bytes over the open SMTP session. The worker shares the 2 CPUs with PostgreSQL, the fake
Twilio and the SMTP server (in the benchmark's process). Target: ≥ 200 SMS/s.
"""
    write_section("Notifications", body)
    say("0 lost, 0 doubled" if ok else "LOST OR DOUBLED DELIVERIES — see docs/PERFORMANCE.md")
    twilio.close()
    smtp.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
