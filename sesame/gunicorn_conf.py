"""gunicorn for pages and the API: sync workers, persistent database connections."""

import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "sync"
timeout = 30
graceful_timeout = 5
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
forwarded_allow_ips = "127.0.0.1"
