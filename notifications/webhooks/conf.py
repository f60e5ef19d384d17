"""Tunables of webhook delivery, read from the environment (typed; a bad value fails loudly).

Whether private addresses are allowed and whether plain http is are Django settings
(``WEBHOOK_ALLOW_PRIVATE_URLS``, ``WEBHOOK_HTTPS_ONLY`` in sesame/settings.py): a test changes
them in its own process and passes them to the worker it starts through its environment.
"""

import environ

_env = environ.Env()

# One call to an endpoint: connecting, and the whole call (connect, send, answer) at most.
CONNECT_TIMEOUT = _env.float("WEBHOOK_CONNECT_TIMEOUT", default=3.0)
TIMEOUT = _env.float("WEBHOOK_TIMEOUT", default=10.0)
# Deliveries one round claims for an endpoint (at most one per subject), and the calls a task
# makes to one endpoint at once.
BATCH_SIZE = _env.int("WEBHOOK_BATCH_SIZE", default=50)
THREADS = _env.int("WEBHOOK_THREADS", default=8)
# A task serves one endpoint for at most this long, then yields (re-enqueued behind the
# others): a slow endpoint holds a worker process this long at most, never the others' turn.
RUN_SECONDS = _env.float("WEBHOOK_RUN_SECONDS", default=20.0)
# How long claimed deliveries (and an endpoint's run) belong to one worker: a run's length
# plus one call, plus a margin; a worker killed mid-run leaves them to another after it.
LEASE_SECONDS = _env.float("WEBHOOK_LEASE_SECONDS", default=RUN_SECONDS + TIMEOUT + 30.0)
# Delays before each retry (seconds), then the delivery is dead (the dead-letter list, to be
# replayed). Default: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 3 h, 6 h, 12 h, 24 h, 24 h:
# 13 attempts over about 3 days. Each delay is stretched or shrunk by up to JITTER.
RETRY_SCHEDULE = [
    float(value)
    for value in _env.list(
        "WEBHOOK_RETRY_SCHEDULE",
        default=[
            "5",
            "30",
            "120",
            "600",
            "1800",
            "3600",
            "10800",
            "10800",
            "21600",
            "43200",
            "86400",
            "86400",
        ],
    )
]
JITTER = _env.float("WEBHOOK_JITTER", default=0.2)
# Within this many seconds a retry is a Celery countdown; beyond, the sweep picks it up.
COUNTDOWN_LIMIT = 60.0
SWEEP_SECONDS = _env.float("WEBHOOK_SWEEP_SECONDS", default=30.0)
# A rotated secret keeps signing beside the new one this long by default (at most a week).
SECRET_OVERLAP_SECONDS = _env.int("WEBHOOK_SECRET_OVERLAP_SECONDS", default=24 * 3600)
SECRET_OVERLAP_MAX_SECONDS = 7 * 24 * 3600
# What the delivery log keeps of an endpoint's answer.
EXCERPT_CHARS = 500
# The Celery queue of delivery tasks: webhooks never wait behind notifications and partners.
QUEUE = "webhooks"
# New events add no task while one of their endpoint waits unstarted (it takes them).
COALESCE_SECONDS = 30.0
