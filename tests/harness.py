"""The live stack for tests: a throwaway restate-server and our endpoint, registered.

`start_stack` builds one; the `stack` fixture in conftest.py keeps one per
test session in `_session_stack`. Fault tests use the helpers to kill and
restart either process on the same ports and data.
"""

from __future__ import annotations

import importlib
import shutil
import traceback
from pathlib import Path
from typing import Any

from runtime import paths
from runtime.endpoint import DEFAULT_APP, Endpoint
from runtime.process import PortInUseError, free_port, stop_all
from runtime.registration import register_and_wait
from runtime.restate_server import RestateServer

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
# Ports chosen by binding port 0 can be taken by someone else before our
# servers bind them; a few fresh picks make that race harmless.
_PORT_ATTEMPTS = 3


class AppImportError(RuntimeError):
    """The app the stack should serve does not import."""


class Stack:
    """A running restate-server and endpoint; the endpoint is registered."""

    def __init__(self, server: RestateServer, endpoint: Endpoint, deployment: dict[str, Any]):
        self.server = server
        self.endpoint = endpoint
        self.deployment = deployment

    @property
    def ingress_url(self) -> str:
        return self.server.ingress_url

    @property
    def admin_url(self) -> str:
        return self.server.admin_url

    def reregister(self, timeout_s: float = 30.0) -> dict[str, Any]:
        """Registers the endpoint again (forced) and waits until its services are routable."""
        self.deployment = register_and_wait(
            self.admin_url, self.ingress_url, self.endpoint.url, timeout_s=timeout_s
        )
        return self.deployment

    def kill_endpoint(self) -> None:
        """SIGKILL the endpoint; restate keeps retrying its invocations."""
        self.endpoint.kill()

    def restart_endpoint(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Stops the endpoint if it still runs, then serves again on the same port."""
        self.endpoint.restart(timeout_s)

    def kill_server(self) -> None:
        """SIGKILL restate-server; its data dir stays."""
        self.server.kill()

    def restart_server(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Stops the server if it still runs, then starts it on the same data and ports.
        The deployment is part of that data: no need to register again."""
        self.server.restart(timeout_s)

    def close(self) -> None:
        """Stops both; safe to call more than once and after kills."""
        stop_all([self.server, self.endpoint], STOP_TIMEOUT_S)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Stack({self.server!r}, {self.endpoint!r})"


# The live suite trades with fees, so conservation is proven with the fee
# account in it, and lists the fault-injecting venue's symbol.
ENDPOINT_ENV = {
    "LEDGER_FAULTY_VENUE": "1",
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


def distinct_free_ports(count: int) -> list[int]:
    """`count` different ports that are free right now on HOST."""
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port(HOST))
    return list(ports)


def start_stack(
    workdir: Path, app: str = DEFAULT_APP, *, partitions: int = 1, timeout_s: float = START_TIMEOUT_S
) -> Stack:
    """Starts a server (data and logs under `workdir`) and an endpoint serving `app`, registers."""
    check_app_importable(app)
    workdir.mkdir(parents=True, exist_ok=True)
    binary = paths.restate_server_bin()
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        ingress_port, admin_port, node_port, endpoint_port = distinct_free_ports(4)
        server = RestateServer(
            workdir / "restate",
            ingress_port=ingress_port,
            admin_port=admin_port,
            node_port=node_port,
            partitions=partitions,
            host=HOST,
            log_path=workdir / "restate-server.log",
            binary=binary,
        )
        endpoint = Endpoint(
            app,
            host=HOST,
            port=endpoint_port,
            log_path=workdir / "endpoint.log",
            cwd=paths.project_root(),  # so `tests.*` apps import in the child
            extra_env=ENDPOINT_ENV,
        )
        try:
            server.start(timeout_s)
            endpoint.start(timeout_s)
            deployment = register_and_wait(
                server.admin_url, server.ingress_url, endpoint.url, timeout_s=timeout_s
            )
        except PortInUseError:
            stop_all([server, endpoint], STOP_TIMEOUT_S)
            if attempt == _PORT_ATTEMPTS:
                raise
            # The node recorded its old ports in its data; start afresh.
            shutil.rmtree(server.base_dir, ignore_errors=True)
            continue
        except BaseException:
            stop_all([server, endpoint], STOP_TIMEOUT_S)
            raise
        return Stack(server, endpoint, deployment)
    raise AssertionError("unreachable")


# The session's stack, started once by the `stack` fixture and shared by all
# live tests (and reachable from helpers that are not fixtures).
_session_stack: Stack | None = None


def session_stack(workdir: Path, app: str = DEFAULT_APP) -> Stack:
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
