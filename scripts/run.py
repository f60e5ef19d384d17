"""`make run`: the portal with demo data on http://127.0.0.1:8000.

Starts what is missing (PostgreSQL, Redis), migrates, loads the demo data, then the front,
both web servers, the worker and beat (honcho, Procfile). Ctrl-C stops all of it, the database
and Redis servers included when this command started them.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import front  # noqa: E402
import services  # noqa: E402

URL = "http://127.0.0.1:8000"


def announce_when_ready(started_at: float) -> None:
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{URL}/accounts/login/", timeout=2) as response:
                if response.status == 200:
                    seconds = time.monotonic() - started_at
                    print(
                        f"\n  Sesame is ready: {URL}  ({seconds:.0f} s; Ctrl-C stops it)\n",
                        flush=True,
                    )
                    return
        except OSError:
            pass
        time.sleep(0.5)


def main() -> int:
    started_at = time.monotonic()
    python = sys.executable
    try:
        started = services.up(nginx=True)
    except (services.SetupError, subprocess.CalledProcessError) as exc:
        print(f"[services] cannot continue: {exc}", file=sys.stderr)
        return 1
    honcho = None
    try:
        subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
        subprocess.run([python, "manage.py", "demo_data"], cwd=ROOT, check=True)
        front.main()
        threading.Thread(target=announce_when_ready, args=(started_at,), daemon=True).start()
        honcho = subprocess.Popen(
            [str(Path(python).parent / "honcho"), "-f", "Procfile", "start"], cwd=ROOT
        )
        return honcho.wait()
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    finally:
        if honcho is not None and honcho.poll() is None:
            honcho.send_signal(signal.SIGINT)
            try:
                honcho.wait(20)
            except subprocess.TimeoutExpired:
                honcho.kill()
        if started:
            print(f"[services] stopping {', '.join(started)}", flush=True)
            services.down(tuple(started))


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    os.chdir(ROOT)
    sys.exit(main())
