"""A fresh restate-server (1 partition, its own temp data) and the ledger's
endpoint serving bench.app, signed, as `ledger serve` runs them (built by
runtime.stack, as every throwaway stack is); plus, optionally, extra
endpoints on other ASGI servers serving a lone no-op."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench import servers
from runtime.stack import HOST, SingleNode, start_single_node  # noqa: F401 (HOST: bench.run)

APP = "bench.app:app"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 5.0  # then SIGKILL: a stop never hangs the benchmark


def noop_service(server: str) -> str:
    """The no-op service the extra endpoint on `server` serves."""
    return "Noop_" + server.replace("-", "_")


@contextmanager
def running(server: str = "hypercorn", compare: Sequence[str] = (), *, app: str = APP,
            signed: bool = True) -> Iterator[SingleNode]:
    """The stack on fresh loopback ports and a fresh temp dir, with a no-op
    endpoint on each server in `compare`; stopped and removed on leaving.
    Start it from the main thread: the children die with it."""
    servers.install()
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    node = None
    try:
        node = start_single_node(workdir, app, server=server, signed=signed, timeout_s=START_TIMEOUT_S)
        for name in compare:
            node.add_endpoint("bench.noop_only:app", name, server=name,
                              env={"BENCH_NOOP_SERVICE": noop_service(name)}, timeout_s=START_TIMEOUT_S)
        yield node
    finally:
        try:
            if node is not None:
                node.close(STOP_TIMEOUT_S)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
