"""Tunables of the delivery pipeline, read from the environment (typed; a bad value fails loudly).

They live here rather than in sesame/settings.py because only this app reads them; a test passes
short values to the worker process it starts through its environment.
"""

import environ
from django.conf import settings

_env = environ.Env()

# How long a claimed delivery belongs to one worker; must exceed the provider timeout.
LEASE_SECONDS = _env.float("NOTIFY_LEASE_SECONDS", default=120.0)
# Attempts before a delivery is marked failed.
MAX_ATTEMPTS = _env.int("NOTIFY_MAX_ATTEMPTS", default=6)
# First retry delay; each next one doubles, with up to 50 % jitter.
BACKOFF_SECONDS = _env.float("NOTIFY_BACKOFF_SECONDS", default=30.0)
BACKOFF_MAX_SECONDS = _env.float("NOTIFY_BACKOFF_MAX_SECONDS", default=3600.0)
# Socket timeout of a call to Twilio.
TWILIO_TIMEOUT = _env.float("TWILIO_TIMEOUT", default=15.0)
# Rows one worker claims at once per channel (one UPDATE ... RETURNING), and the threads that send
# a batch's SMS concurrently (HTTP waits, not CPU). A batch must fit in its lease:
# BATCH_SIZE / SMS_THREADS rounds of at most TWILIO_TIMEOUT each; a send not started before
# lease - TWILIO_TIMEOUT is not started at all (the row goes back to pending).
BATCH_SIZE = _env.int("NOTIFY_BATCH_SIZE", default=50)
SMS_THREADS = _env.int("NOTIFY_SMS_THREADS", default=8)
# Celery queues of the delivery batches: SMS and emails apart, so that a worker (or a dedicated
# one) can be told what to consume: `celery worker -Q celery,notify_sms,notify_email`. A worker
# started without -Q consumes them too (notifications.tasks adds them). Email batches are also
# published with a lower priority (Redis transport: 0 is served first; steps 0, 3, 6, 9): while
# SMS batches wait, a worker takes them before any email batch, whatever the queue order.
SMS_QUEUE = "notify_sms"
EMAIL_QUEUE = "notify_email"
QUEUES = {"sms": SMS_QUEUE, "email": EMAIL_QUEUE}
PRIORITIES = {"sms": 0, "email": 6}
# New rows add no task while a task of their channel waits unstarted (it fills its batch with
# them); the marker saying so lives this long at most.
COALESCE_SECONDS = _env.float("NOTIFY_COALESCE_SECONDS", default=30.0)
# Phone verification codes.
CODE_TTL_SECONDS = _env.int("NOTIFY_CODE_TTL_SECONDS", default=600)
CODE_MAX_ATTEMPTS = 5
CODE_MAX_PER_HOUR = 5


def lease_seconds() -> float:
    return float(getattr(settings, "NOTIFY_LEASE_SECONDS", LEASE_SECONDS))
