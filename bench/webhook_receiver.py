"""The benchmark's webhook receiver: an aiohttp server counting each webhook-id per path and
checking one signature in `--check-every` with the endpoints' secrets (Standard Webhooks).

`python -m bench.webhook_receiver PORT SECRETS_JSON [--check-every N]`; GET /stats answers
`{"counts": {path: {webhook-id: n}}, "checked": n, "bad": n}`.
"""

import argparse
import json
from collections import defaultdict
from pathlib import Path

from aiohttp import web
from standardwebhooks import Webhook


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("secrets", type=Path, help="JSON {path: secret}")
    parser.add_argument("--check-every", type=int, default=20)
    options = parser.parse_args()
    secrets = json.loads(options.secrets.read_text())
    verifiers = {path: Webhook(secret) for path, secret in secrets.items()}
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    state = {"seen": 0, "checked": 0, "bad": 0}

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        path = request.path
        counts[path][request.headers.get("webhook-id", "")] += 1
        state["seen"] += 1
        if state["seen"] % options.check_every == 0:
            state["checked"] += 1
            try:
                verifiers[path].verify(body, dict(request.headers))
            except Exception:
                state["bad"] += 1
        return web.Response(status=204)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(
            {"counts": counts, "checked": state["checked"], "bad": state["bad"]}
        )

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/{path}", receive)
    web.run_app(app, host="127.0.0.1", port=options.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
