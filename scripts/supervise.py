"""Run a set of processes as one: they stop with the process that started them, whatever ends it.

`Supervisor` starts each child in a process group of its own (a terminal's Ctrl-C or hang-up
reaches only the supervisor, which stops the children in order: the application first, then
Redis and PostgreSQL) with a parent-death signal (Linux `prctl(PR_SET_PDEATHSIG)`): when the
supervisor dies, even by SIGKILL, the kernel sends each child its stop signal at once. A
watchdog process, in a session of its own, waits for the supervisor's end and kills the group of
any child still alive after a grace period. A state file lists the running children (pid, start
time, process group, ports); the next run reads it to stop a previous run's leftovers, and
`port_holder` names the process that holds a port when it is somebody else's.

Only the standard library: it runs before the virtualenv's packages are importable.
`python scripts/supervise.py watchdog <pid> <state file>` is the watchdog's entry point.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1
GRACE = 15.0
"""Seconds a child has to stop after its stop signal before its group is killed."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)

_libc = ctypes.CDLL(None, use_errno=True)


class Stopped(Exception):
    """A stop was asked (signal) while the supervisor was waiting on something."""


def set_parent_death_signal(sig: int) -> None:
    """Have the kernel send `sig` to this process when its parent dies; if the parent is already
    gone (it died before this call), act as if the signal came."""
    parent = os.getppid()
    if _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)


def dies_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A `preexec_fn` for subprocess: the child gets `sig` when its parent dies.

    It runs in the child after the user switch (`Popen(user=...)`), which would clear it
    otherwise; the supervisor starts no thread, so running Python code there is safe."""

    def preexec() -> None:
        if _libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            os._exit(120)

    return preexec


# --- Processes seen through /proc ------------------------------------------------------------


def start_time(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot (None when it does not exist): with
    the pid, it names one process even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has stopped already
        return None
    return int(fields[19])


def alive(pid: int, started: int | None) -> bool:
    return started is not None and start_time(pid) == started


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip() or "?"


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def port_holder(port: int) -> tuple[int, str] | None:
    """(pid, command line) of a process listening on TCP `port`, when this user can see it."""
    inodes = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        pid = int(entry.name)
                        return pid, command_line(pid)
    return None


def port_listening(port: int) -> bool:
    return bool(_listening_inodes(port))


def describe_port(port: int, hint: str) -> str:
    """A plain sentence: who holds `port` and how to free it."""
    holder = port_holder(port)
    if holder is None:
        return (
            f"port {port} is in use by a process of another user (see `ss -ltnp "
            f"'sport = :{port}'` as root); {hint}"
        )
    pid, cmdline = holder
    return f"port {port} is in use by pid {pid} ({cmdline[:120]}): stop it (kill {pid}), or {hint}"


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


# --- State file --------------------------------------------------------------------------------


def read_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=1))
    temporary.replace(path)


def stop_recorded(children: Iterable[dict], *, grace: float = GRACE, say=print) -> list[dict]:
    """Stop the recorded children still alive (their stop signal to their group, then SIGKILL
    after `grace` seconds); returns those that were alive."""
    running = [c for c in children if alive(c["pid"], c["start"])]
    for child in running:
        say(f"stopping {child['name']} (pid {child['pid']})")
        _signal_group(child["pgid"], child["signal"])
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(c["pid"], c["start"]) for c in running):
        time.sleep(0.1)
    for child in running:
        if alive(child["pid"], child["start"]):
            say(f"{child['name']} (pid {child['pid']}) did not stop: killed")
        # Whatever is left of the group (e.g. workers of a killed master) goes too.
        _signal_group(child["pgid"], signal.SIGKILL)
    return running


# --- The supervisor ----------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    stop_signal: int
    tier: int
    ports: tuple[int, ...]
    started: int | None
    capture: bool
    grace: float
    partial: bytes = b""
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))

    @property
    def pid(self) -> int:
        return self.process.pid


class Supervisor:
    """Children that live and die with this process (see the module's docstring).

    Single-threaded on purpose: output is relayed from the main loop, so that `preexec_fn`
    (the parent-death signal) is safe and the parent-death signal is tied to the thread that
    lives as long as the process."""

    def __init__(self, state_path: Path, *, label: str = "", grace: float = GRACE) -> None:
        self.state_path = state_path
        self.label = label
        self.grace = grace
        self.children: list[Child] = []
        self.stop_requested: int | None = None
        self.watchdog: subprocess.Popen[bytes] | None = None
        self._width = 8
        self._quiet = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    # -- messages

    def say(self, message: str) -> None:
        self.write(f"[{self.label}] {message}" if self.label else message)

    def write(self, line: str) -> None:
        """Print; once the terminal is gone (hang-up), carry on silently."""
        if self._quiet:
            return
        try:
            print(line, flush=True)
        except OSError:
            self._quiet = True

    # -- signals

    def handle_signals(self) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.stop_requested is None:
            self.stop_requested = signum

    def check(self) -> None:
        if self.stop_requested is not None:
            raise Stopped(signal.Signals(self.stop_requested).name)

    # -- previous runs

    def previous_run(self) -> dict:
        """The state a previous run left: {} when none, or when it is over."""
        state = read_state(self.state_path)
        if not state:
            return {}
        if not alive(state.get("pid", 0), state.get("start")):
            state["pid"] = None
        return state

    def stop_leftovers(self) -> list[dict]:
        """Stop what a previous run (now dead) left running; returns what was stopped."""
        state = self.previous_run()
        stopped = stop_recorded(
            state.get("children", []),
            grace=self.grace,
            say=lambda m: self.say(f"previous run's leftover: {m}"),
        )
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()
        return stopped

    def _save(self) -> None:
        _write_state(
            self.state_path,
            {
                "pid": os.getpid(),
                "start": start_time(os.getpid()),
                "watchdog": self.watchdog.pid if self.watchdog else None,
                "children": [
                    {
                        "name": c.name,
                        "pid": c.pid,
                        "pgid": c.pid,
                        "start": c.started,
                        "signal": c.stop_signal,
                        "ports": list(c.ports),
                    }
                    for c in self.children
                    if c.process.returncode is None
                ],
            },
        )

    def start_watchdog(self) -> None:
        """The process that cleans up if this one is killed without a chance to do it."""
        self._save()
        # Written to only when the watchdog had something to stop.
        with self.state_path.with_name("watchdog.log").open("ab") as out:
            self.watchdog = subprocess.Popen(
                [sys.executable, __file__, "watchdog", str(os.getpid()), str(self.state_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._save()

    # -- children

    def spawn(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | str | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
        tier: int = 1,
        ports: Iterable[int] = (),
        capture: bool = True,
        grace: float | None = None,
    ) -> Child:
        """Start `argv` in its own process group, dying with this process. Its output is
        relayed line by line, prefixed with `name` (or left on the terminal: capture=False)."""
        self.check()
        extra: dict = {}
        if user is not None and os.geteuid() == 0:
            extra = {"user": user, "group": user, "extra_groups": []}
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.STDOUT if capture else None,
            process_group=0,
            preexec_fn=dies_with_parent(stop_signal),  # safe: no thread in this process
            **extra,
        )
        child = Child(
            name,
            process,
            stop_signal,
            tier,
            tuple(ports),
            start_time(process.pid),
            capture,
            self.grace if grace is None else grace,
        )
        if capture:
            assert process.stdout is not None
            os.set_blocking(process.stdout.fileno(), False)
        self.children.append(child)
        self._width = max(self._width, len(name))
        self._save()
        return child

    def starter(self, name: str, argv: list[str], **kwargs: object) -> Callable[[], str | None]:
        """`spawn` for scripts/services.py (tier 0: stopped last); returns `exited()`: None
        while the child runs, its last lines of output once it has exited."""
        child = self.spawn(name, argv, tier=0, **kwargs)  # type: ignore[arg-type]

        def exited() -> str | None:
            self.check()
            self.pump(0)
            if child.process.poll() is None:
                return None
            self._drain(child)
            return " / ".join(list(child.tail)[-5:]) or f"exit code {child.process.returncode}"

        return exited

    def run(self, name: str, argv: list[str], **kwargs: object) -> int:
        """A one-shot command under supervision (a stop request stops it); its exit code."""
        child = self.spawn(name, argv, tier=2, **kwargs)  # type: ignore[arg-type]
        try:
            while child.process.poll() is None:
                self.pump(0.5)
                if self.stop_requested is not None:
                    self._stop(self._alive([child]))
                    self.check()
            self.pump(0)
            return child.process.returncode
        finally:
            self._drain(child)
            self.children.remove(child)
            self._save()

    def wait(self, timeout: float) -> Child | None:
        """Relay output for at most `timeout` seconds; a child that has exited, if any."""
        self.pump(timeout)
        for child in self.children:
            if child.process.poll() is not None:
                self._drain(child)
                return child
        return None

    def pump(self, timeout: float) -> None:
        """Relay whatever the children wrote, waiting at most `timeout` seconds for it."""
        streams = {
            c.process.stdout.fileno(): c
            for c in self.children
            if c.capture and c.process.stdout is not None and not c.process.stdout.closed
        }
        try:
            ready, _, _ = select.select([*streams, self._wake_r], [], [], timeout)
        except InterruptedError:
            return
        for fd in ready:
            if fd == self._wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 512)
                continue
            self._read(streams[fd])

    def _read(self, child: Child) -> bool:
        """Relay what `child` wrote; False at end of output."""
        assert child.process.stdout is not None
        try:
            data = os.read(child.process.stdout.fileno(), 65536)
        except BlockingIOError:
            return True
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            data = b""
        if not data:
            if child.partial:
                self._line(child, child.partial)
                child.partial = b""
            child.process.stdout.close()
            return False
        lines = (child.partial + data).split(b"\n")
        child.partial = lines.pop()
        for line in lines:
            self._line(child, line)
        return True

    def _drain(self, child: Child) -> None:
        if child.capture and child.process.stdout is not None:
            while not child.process.stdout.closed and self._read(child):
                pass

    def _line(self, child: Child, raw: bytes) -> None:
        text = raw.decode(errors="replace").rstrip("\r")
        child.tail.append(text)
        self.write(f"{time.strftime('%H:%M:%S')} {child.name:<{self._width}} | {text}")

    # -- stopping

    def _alive(self, children: Iterable[Child]) -> list[Child]:
        return [c for c in children if c.process.poll() is None]

    def _stop(self, children: list[Child]) -> None:
        """Stop signal to each group, relay output while they stop, SIGKILL what is left."""
        for child in children:
            _signal_group(child.pid, child.stop_signal)
        deadline = time.monotonic() + max(c.grace for c in children)
        while self._alive(children) and time.monotonic() < deadline:
            self.pump(0.2)
        for child in children:
            if child.process.poll() is None:
                self.say(f"{child.name} (pid {child.pid}) did not stop in {child.grace:.0f} s")
            _signal_group(child.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(5)
            self._drain(child)

    def stop(self) -> None:
        """Stop every child: the application (tier 1) and one-shots, then the servers it uses
        (tier 0); then let the watchdog go."""
        for tier in (2, 1, 0):
            group = [c for c in self._alive(self.children) if c.tier == tier]
            if group:
                self.say("stopping " + ", ".join(c.name for c in group))
                self._stop(group)
        for child in self.children:
            if child.process.returncode is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(1)
        self.children = [c for c in self.children if c.process.returncode is None]
        self._save()
        if self.watchdog is not None and self.watchdog.poll() is None:
            self.watchdog.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.watchdog.wait(5)
        if not self.children:
            with contextlib.suppress(FileNotFoundError):
                self.state_path.unlink()


# --- The watchdog ------------------------------------------------------------------------------


def _wait_for_exit(pid: int, started: int | None) -> None:
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        while alive(pid, started):
            time.sleep(0.5)
        return
    try:
        if alive(pid, started):
            select.select([fd], [], [])
    finally:
        os.close(fd)


def watchdog(pid: int, state_path: Path) -> int:
    """Wait for supervisor `pid` to end; then stop every child its state file still lists."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    state = read_state(state_path)
    started = state.get("start") if state.get("pid") == pid else start_time(pid)
    _wait_for_exit(pid, started)
    state = read_state(state_path)
    if state.get("pid") != pid:
        return 0  # a later run owns the state file now
    leftovers = stop_recorded(state.get("children", []), say=lambda m: print(m, flush=True))
    if leftovers:
        print(f"supervisor {pid} ended without stopping its children; stopped them", flush=True)
    with contextlib.suppress(FileNotFoundError):
        state_path.unlink()
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "watchdog":
        sys.exit(watchdog(int(sys.argv[2]), Path(sys.argv[3])))
    print("usage: supervise.py watchdog <pid> <state file>", file=sys.stderr)
    sys.exit(2)
