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
# Each access line names the request id the response carries (sesame.api.request_id).
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
