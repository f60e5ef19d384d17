"""`python -m bench`: run every benchmark module present (gun, sse, notify, appointments,
dossier, webhooks), one after the other.

Each module exposes `main(argv)` (or `main()`) returning an exit status; it starts and stops its
own servers and writes its own section of docs/PERFORMANCE.md.
"""

import inspect
import sys
from importlib import import_module
from importlib.util import find_spec

MODULES = ("gun", "sse", "notify", "appointments", "dossier", "webhooks")


def main() -> int:
    status = 0
    for name in MODULES:
        if find_spec(f"bench.{name}") is None:
            continue
        print(f"[bench] === {name} ===", flush=True)
        module = import_module(f"bench.{name}")
        try:
            takes_argv = bool(inspect.signature(module.main).parameters)
            code = module.main([]) if takes_argv else module.main()
        except KeyboardInterrupt:
            return 130
        status = status or (code or 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
