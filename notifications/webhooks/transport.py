"""One HTTP POST to an endpoint, to the address its name was checked to resolve to.

The connection goes to ``Destination.address`` (checked by ``destinations.resolve``), with the
name in the Host header and, for https, in the TLS server name and the certificate check: a
second resolution can never send the call elsewhere. Redirects are not followed (a 3xx is a
failed attempt); the answer is read up to a bound; connections are kept alive per process and
address. A call never outlives conf.TIMEOUT.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import certifi
import urllib3

from notifications.webhooks import conf
from notifications.webhooks.destinations import Destination

USER_AGENT = "Sesame-Webhooks/1"
READ_LIMIT = 65536

_pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
_pools_guard = threading.Lock()


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP answer (connection refused, time-out, ...)
    excerpt: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _pool(destination: Destination) -> urllib3.HTTPConnectionPool:
    key = (destination.scheme, destination.address, destination.port, destination.host)
    with _pools_guard:
        pool = _pools.get(key)
        if pool is None:
            timeout = urllib3.Timeout(connect=conf.CONNECT_TIMEOUT, read=conf.TIMEOUT)
            if destination.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    destination.address,
                    destination.port,
                    maxsize=conf.THREADS,
                    timeout=timeout,
                    retries=False,
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=certifi.where(),
                    server_hostname=destination.host,
                    assert_hostname=destination.host,
                )
            else:
                pool = urllib3.HTTPConnectionPool(
                    destination.address,
                    destination.port,
                    maxsize=conf.THREADS,
                    timeout=timeout,
                    retries=False,
                )
            _pools[key] = pool
    return pool


def post(destination: Destination, *, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` as JSON; never raises for what the network or the endpoint does."""
    started = time.monotonic()
    try:
        response = _pool(destination).urlopen(
            "POST",
            destination.target,
            body=body,
            headers={
                **headers,
                "Host": destination.host_header,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
            redirect=False,
            retries=False,
            preload_content=False,
            timeout=urllib3.Timeout(
                total=conf.TIMEOUT, connect=conf.CONNECT_TIMEOUT, read=conf.TIMEOUT
            ),
        )
        try:
            raw = response.read(READ_LIMIT, decode_content=False)
            if response.read(1, decode_content=False):
                # A long (or endless) answer: the log keeps its start, the connection is
                # dropped rather than drained.
                response.close()
        finally:
            response.release_conn()
    except Exception as exc:  # the network's failures are an attempt's outcome, not errors
        return Answer(None, "", f"{type(exc).__name__}: {exc}"[:2000], _ms(started))
    excerpt = raw.decode("utf-8", "replace")[: conf.EXCERPT_CHARS]
    error = "" if 200 <= response.status < 300 else f"HTTP {response.status}"
    return Answer(response.status, excerpt, error, _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
