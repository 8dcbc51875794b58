"""A fresh restate-server (1 partition, its own temp data) and the ledger's
endpoint serving bench.app, signed, as `ledger serve` runs them; plus,
optionally, extra endpoints on other ASGI servers serving a lone no-op."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench import servers
from runtime import paths
from runtime.endpoint import Endpoint
from runtime.process import stop_all
from runtime.registration import register_and_wait
from runtime.stack import distinct_free_ports, start_single_node
from runtime.restate_server import RestateServer

HOST = "127.0.0.1"
APP = "bench.app:app"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 5.0  # then SIGKILL: a stop never hangs the benchmark


def noop_service(server: str) -> str:
    return "Noop_" + server.replace("-", "_")


@dataclass
class Stack:
    workdir: Path
    server: RestateServer
    endpoint: Endpoint
    # server name -> (endpoint, its no-op service name)
    extra: dict[str, tuple[Endpoint, str]] = field(default_factory=dict)

    @property
    def ingress_url(self) -> str:
        return self.server.ingress_url

    @property
    def admin_url(self) -> str:
        return self.server.admin_url

    def close(self) -> None:
        try:
            stop_all([self.server, self.endpoint, *(e for e, _ in self.extra.values())], STOP_TIMEOUT_S)
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start(server: str = "hypercorn", compare: tuple[str, ...] | list[str] = (),
          signed: bool = True) -> Stack:
    """Starts everything on fresh loopback ports and a fresh temp dir."""
    servers.install()
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    try:
        node = start_single_node(workdir, APP, server=server, signed=signed, timeout_s=START_TIMEOUT_S)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    restate, endpoint = node.server, node.endpoint
    keys = [node.identity.public_key] if node.identity else None
    extra_ports = distinct_free_ports(len(compare))
    stack = Stack(workdir, restate, endpoint)
    try:
        for name, extra_port in zip(compare, extra_ports):
            service = noop_service(name)
            other = Endpoint("bench.noop_only:app", host=HOST, port=extra_port, server=name,
                             cwd=paths.project_root(), log_path=workdir / f"endpoint-{name}.log",
                             identity_keys=keys, extra_env={"BENCH_NOOP_SERVICE": service})
            stack.extra[name] = (other, service)
            other.start(START_TIMEOUT_S)
            register_and_wait(restate.admin_url, restate.ingress_url, other.url,
                              timeout_s=START_TIMEOUT_S)
    except BaseException:
        stack.close()
        raise
    return stack
