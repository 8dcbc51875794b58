"""Child processes we own: spawning, stopping, ports.

Each child runs in its own process group, so a Ctrl-C in the terminal reaches
only `ledger serve` (which then stops the children in order) and a stop or
kill reaches everything the child started.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Protocol, TypeVar

from runtime.poll import Deadline, polls

# A killed server's ports are free again within milliseconds on Linux; a port
# still busy after this long belongs to someone else.
PORT_WAIT_S = 5.0
# Spawns of one start that may lose a port to another process before giving up.
SPAWN_ATTEMPTS = 5
# Another process may take a port between choosing it and binding it: starts
# on fresh ports try this many times.
PORT_ATTEMPTS = 3
# More processes than anything we start has: a bound on walking a process tree.
MAX_PROCESS_TREE = 1_000
T = TypeVar("T")
_PR_SET_PDEATHSIG = 1


class StartupError(RuntimeError):
    """A child process did not become ready."""


class PortInUseError(StartupError):
    """A port we must bind is taken by some other process."""

    def __init__(self, host: str, port: int, role: str) -> None:
        super().__init__(f"port {port} ({role}) is already in use on {host}")
        self.host, self.port, self.role = host, port, role


def _load_prctl() -> Callable[..., int] | None:
    # Resolved before any fork: loading a library in the child could deadlock.
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()


def die_with_parent() -> None:
    """Runs in the child before exec (or first thing in a forked worker). If
    its parent dies without cleaning up (SIGKILL, a crashed test run), the
    kernel kills the child too, so no restate-server or endpoint outlives its
    owner. Linux ties this to the thread that spawned the child: spawn from
    the main thread."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def client_host(host: str) -> str:
    """The address a client on this machine uses to reach a server bound to `host`."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def http_url(host: str, port: int) -> str:
    host = client_host(host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could bind `host:port` now. SO_REUSEADDR, as the servers
    use it, so connections lingering in TIME_WAIT do not count as busy."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS considers free right now (it may be taken again before use)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def distinct_free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` different ports that are free right now on `host`."""
    ports: set[int] = set()
    # The OS hands out ports in turn, so a repeat is rare: 4x is plenty.
    for _ in range(4 * count):
        if len(ports) == count:
            break
        ports.add(free_port(host))
    assert len(ports) == count, f"the OS gave {len(ports)} distinct free ports of {count}"
    return sorted(ports)


def lost_port_race(problem: BaseException | str) -> bool:
    """Whether a start failed because another process bound one of its ports
    first (an error, or the log of a child that exited)."""
    if isinstance(problem, PortInUseError):
        return True
    text = str(problem).lower()
    return "address in use" in text or "address already in use" in text


def on_fresh_ports(start: Callable[[int], T], attempts: int = PORT_ATTEMPTS) -> T:
    """`start(attempt)` picks fresh ports and starts on them, stopping what it
    started if that fails; called again (attempt 2, 3, ...) while another
    process takes one of its ports first, at most `attempts` times."""
    for attempt in range(1, attempts + 1):
        try:
            return start(attempt)
        except (PortInUseError, StartupError) as error:
            if attempt == attempts or not lost_port_race(error):
                raise
    raise AssertionError("unreachable")


def busy_ports(host: str, ports: Mapping[str, int]) -> list[tuple[str, int]]:
    """The (role, port) pairs that cannot be bound on `host` now."""
    return [(role, port) for role, port in ports.items() if not port_is_free(host, port)]


def wait_ports_free(host: str, ports: Mapping[str, int], timeout_s: float) -> None:
    """Waits until every port can be bound; a process we just killed may hold one briefly."""
    for _ in polls(timeout_s):
        busy = busy_ports(host, ports)
        if not busy:
            return
    role, port = busy[0]
    raise PortInUseError(host, port, role)


def port_accepts(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((client_host(host), port), timeout=timeout_s):
            return True
    except OSError:
        return False


class ManagedProcess:
    """One child process in its own process group, its output in a log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log_path: Path | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.stop_signal = stop_signal
        self.argv = argv
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_offset = 0

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def spawn(self) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self._close_log()
        output: IO[bytes] | None = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            # Append, so a restart keeps the earlier runs' logs; the offset
            # lets a failure report show only this run's lines.
            self._log = output = open(self.log_path, "ab")
            self._log_offset = output.tell()
        self._popen = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
            process_group=0,
            preexec_fn=die_with_parent,
        )

    def stop(self, timeout_s: float) -> None:
        """`stop_signal` (SIGTERM unless told), then SIGKILL if it has not
        exited within `timeout_s`."""
        if self._popen is None:
            return
        if self._popen.poll() is None:
            self._signal_group(self.stop_signal)
            try:
                self._popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self._popen.wait()
        self._close_log()

    def kill(self) -> None:
        """SIGKILL and reap: no chance to clean up, as in a crash."""
        if self._popen is None:
            return
        if self._popen.poll() is None:
            self._signal_group(signal.SIGKILL)
            self._popen.wait()
        self._close_log()

    def log_tail(self, max_lines: int = 40) -> str:
        """The last lines this run wrote (empty when output is not captured)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            text = log.read().decode("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-max_lines:])

    def describe_failure(self, problem: str) -> str:
        tail = self.log_tail()
        where = f" (log: {self.log_path})" if self.log_path is not None else ""
        message = f"{self.name} {problem}{where}"
        return f"{message}\n--- last lines ---\n{tail}" if tail else message

    def _signal_group(self, sig: int) -> None:
        # Only while the leader is unreaped: its pid, and so the group id,
        # cannot have been reused by an unrelated process.
        assert self._popen is not None
        try:
            os.killpg(self._popen.pid, sig)
        except ProcessLookupError:
            pass

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class Supervised:
    """A server we run as a child: everything but its own `start` is its
    process's. Subclasses set `_process`, `start` and the default timeouts."""

    _process: ManagedProcess
    START_TIMEOUT_S = 30.0
    STOP_TIMEOUT_S = 10.0

    def start(self, timeout_s: float | None = None) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process.running

    @property
    def returncode(self) -> int | None:
        """None while running; negative for a signal (-9 after a kill)."""
        return self._process.returncode

    def stop(self, timeout_s: float | None = None) -> None:
        """Graceful shutdown (SIGTERM), then SIGKILL after `timeout_s`."""
        self._process.stop(self.STOP_TIMEOUT_S if timeout_s is None else timeout_s)

    def kill(self) -> None:
        """SIGKILL, as in a crash: invocations in flight are cut off; data stays."""
        self._process.kill()

    def restart(self, timeout_s: float | None = None) -> None:
        """Stops it if it runs, then starts it again on the same ports (and data)."""
        self.stop()
        self.start(self.START_TIMEOUT_S if timeout_s is None else timeout_s)

    def log_tail(self, max_lines: int = 40) -> str:
        return self._process.log_tail(max_lines)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_until_ready(
    process: ManagedProcess,
    *,
    host: str,
    ports: Mapping[str, int],
    ready: Callable[[], bool],
    timeout_s: float,
) -> None:
    """Spawns `process` and waits until `ready()` answers True.

    A port freed by a process we just killed can be briefly unavailable, so
    wait for the ports first, and respawn (up to SPAWN_ATTEMPTS times) if
    the child still lost the race for one and exited saying so.
    """
    deadline = Deadline(timeout_s)
    for _ in range(SPAWN_ATTEMPTS):
        wait_ports_free(host, ports, min(deadline.remaining_s(), PORT_WAIT_S))
        process.spawn()
        if _ready_while_running(process, ready, deadline.remaining_s()):
            return
        if process.running:
            process.kill()
            raise StartupError(process.describe_failure(f"was not ready after {timeout_s:.1f}s"))
        lost_a_port = lost_port_race(process.log_tail())
        if not lost_a_port or deadline.passed:
            raise StartupError(process.describe_failure(f"exited early with status {process.returncode}"))
    raise StartupError(process.describe_failure(f"lost the race for its ports {SPAWN_ATTEMPTS} times"))


def _ready_while_running(process: ManagedProcess, ready: Callable[[], bool], timeout_s: float) -> bool:
    """Whether `ready()` answered True before the deadline, while the process ran."""
    for _ in polls(timeout_s):
        if not process.running:
            return False
        if ready():
            return True
    return False


class Stoppable(Protocol):
    def stop(self, timeout_s: float) -> None: ...

    def kill(self) -> None: ...


def stop_all(stoppables: Iterable[Stoppable], timeout_s: float) -> None:
    """Stops each in turn; one failing to stop is killed and the rest still stop."""
    first_error: BaseException | None = None
    for stoppable in stoppables:
        try:
            stoppable.stop(timeout_s)
        except BaseException as error:  # noqa: BLE001 - keep stopping the rest
            stoppable.kill()
            first_error = first_error or error
    if first_error is not None:
        raise first_error


def children(pid: int) -> list[int]:
    """The child processes of `pid` (any of its threads may have spawned them)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return found  # it ended
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
    return found


def descendants(pid: int) -> list[int]:
    """Its children, theirs, and so on (granian serves from a worker child)."""
    found: list[int] = []
    pending = children(pid)
    for _ in range(MAX_PROCESS_TREE):
        if not pending:
            return found
        current = pending.pop()
        found.append(current)
        pending += children(current)
    raise AssertionError(f"over {MAX_PROCESS_TREE} processes under {pid}")
