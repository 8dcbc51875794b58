"""The live stack for tests: a throwaway restate-server and our endpoint, registered.

`start_stack` builds one; the `stack` fixture in conftest.py keeps one per
test session in `_session_stack`. Fault tests use the helpers to kill and
restart either process on the same ports and data.
"""

from __future__ import annotations

import importlib
import os
import selectors
import signal
import subprocess
import sys
import traceback
from pathlib import Path

from runtime import paths
from runtime.endpoint import DEFAULT_SERVER
from runtime.poll import Deadline
from runtime.process import children, descendants
from runtime.stack import (  # noqa: F401 (distinct_free_ports: used by tests)
    HOST, START_TIMEOUT_S, SingleNode, distinct_free_ports, start_single_node,
)


class AppImportError(RuntimeError):
    """The app the stack should serve does not import."""


# A running restate-server and endpoint, registered (runtime/stack.py): the
# fault tests kill and restart either on the same ports and data.
Stack = SingleNode


# What the live suite serves: the ledger and the fault-injecting venue.
LEDGER_TEST_APP = "tests.apps.ledger_app:app"
# The live suite trades with fees, so conservation is proven with the fee
# account in it.
ENDPOINT_ENV = {
    "LEDGER_MAKER_FEE_BPS": "10",
    "LEDGER_TAKER_FEE_BPS": "20",
    "LEDGER_FEE_ACCOUNT": "fees",
}


def check_app_importable(app: str) -> None:
    """Imports `module:attribute` here, so a broken app fails with its own
    traceback instead of as a child process that exits."""
    module_name, _, attribute = app.partition(":")
    try:
        module = importlib.import_module(module_name)
        getattr(module, attribute)
    except Exception as error:  # noqa: BLE001 - any failure is reported whole
        raise AppImportError(
            f"the live test stack serves {app}, which does not import:\n"
            f"{''.join(traceback.format_exception(error))}"
        ) from error


def start_stack(
    workdir: Path,
    app: str = LEDGER_TEST_APP,
    *,
    partitions: int = 1,
    timeout_s: float = START_TIMEOUT_S,
    signed: bool = True,
    server: str = DEFAULT_SERVER,
) -> Stack:
    """Starts a server (data and logs under `workdir`) and an endpoint serving `app`, registers.

    Signed by default, as `ledger serve` runs: the server signs with a key
    made in `workdir/keys` and the endpoint refuses unsigned requests, so
    every live test also proves that signing works end to end.
    """
    check_app_importable(app)
    return start_single_node(workdir, app, partitions=partitions, signed=signed,
                             endpoint_env=ENDPOINT_ENV, server=server, timeout_s=timeout_s)


# The session's stack, started once by the `stack` fixture and shared by all
# live tests (and reachable from helpers that are not fixtures).
_session_stack: Stack | None = None


def session_stack(workdir: Path, app: str = LEDGER_TEST_APP) -> Stack:
    """The session's stack, started on first use."""
    global _session_stack
    if _session_stack is None:
        _session_stack = start_stack(workdir, app)
    return _session_stack


def close_session_stack() -> None:
    global _session_stack
    if _session_stack is not None:
        stack, _session_stack = _session_stack, None
        stack.close()


# --- `ledger serve` in a subprocess, for the end-to-end serve tests ---

_READ_BYTES = 65536
# serve prints a few lines before its banner: this many reads is far past it.
_MAX_READS = 10_000


class ServeProcess:
    """`ledger serve` run as a user runs it, on free ports, its output captured.

    `start` answers once the banner is printed (registered and callable);
    `stop` sends a signal and waits; `kill` (SIGKILL) is the cleanup of last
    resort, after which the children die by their parent-death signal.
    `ports` (ingress, admin, endpoint, node) lets a second run reuse the
    first one's: a restate node keeps its address in its data.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        app: str | None = None,
        args: tuple[str, ...] = (),
        ports: tuple[int, int, int, int] | None = None,
    ):
        self.data_dir = data_dir
        self.app = app
        self.args = args
        self.ports = ports or tuple(distinct_free_ports(4))
        self.ingress_port, self.admin_port, self.endpoint_port, self.node_port = self.ports
        self.output = ""
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def ingress_url(self) -> str:
        return f"http://{HOST}:{self.ingress_port}"

    @property
    def admin_url(self) -> str:
        return f"http://{HOST}:{self.admin_port}"

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.endpoint_port}"

    @property
    def pid(self) -> int:
        assert self._popen is not None, "not started"
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def start(self, timeout_s: float = START_TIMEOUT_S) -> str:
        """Starts serve; answers its output up to and including the banner."""
        self.spawn()
        try:
            self.read_until("Try:", timeout_s)
        except BaseException:
            self.kill()
            raise
        return self.output

    def spawn(self) -> None:
        """Starts serve without waiting for it to be ready."""
        ledger = Path(sys.executable).with_name("ledger")
        argv = [
            str(ledger), "serve",
            "--data-dir", str(self.data_dir),
            "--ingress-port", str(self.ingress_port),
            "--admin-port", str(self.admin_port),
            "--endpoint-port", str(self.endpoint_port),
            "--node-port", str(self.node_port),
            *(("--app", self.app) if self.app else ()),
            *self.args,
        ]  # fmt: skip
        self._popen = subprocess.Popen(
            argv,
            cwd=paths.project_root(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def read_until(self, marker: str, timeout_s: float) -> str:
        """Reads serve's output until it holds `marker`. Raw reads: a buffered
        reader could hold the marker while select() waits."""
        assert self._popen is not None and self._popen.stdout is not None
        fd = self._popen.stdout.fileno()
        deadline = Deadline(timeout_s)
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            for _ in range(_MAX_READS):
                if marker in self.output or deadline.passed:
                    break
                if not selector.select(timeout=deadline.remaining_s()):
                    break
                chunk = os.read(fd, _READ_BYTES)
                if not chunk:
                    break  # serve closed its output: it exited
                self.output += chunk.decode(errors="replace")
            else:
                raise AssertionError(f"`ledger serve` wrote over {_MAX_READS} chunks without {marker!r}")
        if marker not in self.output:
            raise AssertionError(
                f"`ledger serve` printed no {marker!r} within {timeout_s:.0f}s "
                f"(exit status {self.returncode}); output so far:\n{self.output}"
            )
        return self.output

    def children(self) -> list[int]:
        """The processes serve started (restate-server and the endpoint)."""
        return children(self.pid)

    def descendants(self) -> list[int]:
        """Those and theirs (granian's worker): what must all be gone after a stop."""
        return descendants(self.pid)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        """Sends `sig` and waits for serve to exit; answers its exit status
        and collects the rest of its output."""
        assert self._popen is not None, "not started"
        if self._popen.poll() is None:
            self._popen.send_signal(sig)
        return self.wait(timeout_s)

    def wait(self, timeout_s: float = 30.0) -> int:
        """Waits for serve to exit on its own; answers its exit status and
        collects the rest of its output."""
        assert self._popen is not None and self._popen.stdout is not None, "not started"
        status = self._popen.wait(timeout=timeout_s)
        self.output += self._popen.stdout.read().decode(errors="replace")
        self._popen.stdout.close()
        return status

    def kill(self) -> None:
        if self._popen is not None and self._popen.poll() is None:
            self._popen.kill()  # its children die with it (parent-death signal)
            self._popen.wait()
        if self._popen is not None and self._popen.stdout is not None:
            self._popen.stdout.close()


def cmdline(pid: int) -> bytes:
    """How `pid` was started (empty once it has ended)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, exited but not reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
