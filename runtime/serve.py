"""`ledger serve`: restate-server plus our endpoint, registered, in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from runtime import paths, signing
from runtime.endpoint import DEFAULT_APP, DEFAULT_SERVER, SERVERS, Endpoint
from runtime.process import StartupError, busy_ports, stop_all
from runtime.registration import RegistrationError
from runtime.restate_server import RestateServer
from runtime.stack import identity_in, node_processes, start_and_register

_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 15.0
_WATCH_INTERVAL_S = 0.5
# Ctrl-C, a process manager's stop, and the terminal closing.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class ServeError(RuntimeError):
    """`serve` could not start; the message says why and what to do."""


class _StopRequested(BaseException):
    """Raised by our SIGINT/SIGTERM handler to leave start-up or the wait."""


def _check_ports(host: str, ports: dict[str, int]) -> None:
    duplicates = {port for port in ports.values() if list(ports.values()).count(port) > 1}
    if duplicates:
        raise ServeError(f"ports must differ; given twice: {sorted(duplicates)}")
    busy = busy_ports(host, ports)
    if busy:
        named = ", ".join(f"{port} ({role}, {_option(role)})" for role, port in busy)
        raise ServeError(f"already in use on {host}: {named}; stop what uses it or pick another port")


def _option(role: str) -> str:
    return f"--{role}-port"


def _banner(
    server: RestateServer,
    endpoint: Endpoint,
    data_dir: Path,
    identity: signing.RequestIdentity | None,
) -> str:
    # The key's path and public half only: the private key stays in its file.
    signed = (
        f"on, key {identity.private_key_path} ({identity.public_key})"
        if identity is not None
        else "OFF (--no-signing): the endpoint accepts unsigned requests"
    )
    return "\n".join(
        [
            "restate-ledger is serving; Ctrl-C stops it.",
            f"  ingress:  {server.ingress_url}",
            f"  admin/UI: {server.admin_url}",
            f"  endpoint: {endpoint.url} ({endpoint.app})",
            f"  signing:  {signed}",
            f"  data:     {data_dir}",
            f"  logs:     {server.log_path}, {endpoint.log_path}",
            "Try:",
            f"  curl -X POST {server.ingress_url}/Account/alice/open "
            "-H 'content-type: application/json' -d '{}'",
        ]
    )


def serve(
    *,
    ingress_port: int = 8080,
    admin_port: int = 9070,
    endpoint_port: int = 9080,
    node_port: int = 5122,
    data_dir: Path | str | None = None,
    host: str = "127.0.0.1",
    partitions: int = 1,
    app: str = DEFAULT_APP,
    signed: bool = True,
    asgi_server: str = DEFAULT_SERVER,
    out: TextIO = sys.stdout,
) -> int:
    """Serves until SIGINT, SIGTERM or SIGHUP, then stops everything it started.

    `signed`: restate-server signs its requests with the data folder's key
    (created on first start) and the endpoint refuses unsigned ones (401).
    `asgi_server`: what serves the endpoint (runtime.endpoint.SERVERS).

    Answers the exit status: 0 after a requested stop, 1 if a child died.
    Raises ServeError (or paths.SetupError) when it cannot start.
    Must run on the main thread: it handles signals and its children are
    tied to the thread that spawned them.
    """
    data_dir = Path(data_dir) if data_dir else paths.default_data_dir()
    paths.restate_server_bin()  # missing: fail before anything starts
    ports = (ingress_port, admin_port, node_port, endpoint_port)
    _check_ports(host, dict(zip(("ingress", "admin", "node", "endpoint"), ports)))
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        # Once stopping, a second Ctrl-C must not cut the teardown short:
        # every stop is bounded and ends in SIGKILL, and interrupting it
        # would leave children behind.
        if not stopping:
            raise _StopRequested(signum)

    # Installed before anything is created or started (the key's openssl
    # included), so a stop at any moment unwinds through the cleanup below.
    previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
    started: list[RestateServer | Endpoint] = []
    try:
        identity = _identity(data_dir, signed)
        # restate's base dir lives inside the data dir, so accounts survive
        # restarts; the endpoint runs here, so an --app of this folder imports.
        server, endpoint = node_processes(data_dir / "restate", data_dir / "logs", ports, identity, app=app,
                                          host=host, partitions=partitions, server=asgi_server, cwd=Path.cwd())
        # The server first: it stops sending invocations, so the endpoint
        # is idle when asked to stop.
        started += [server, endpoint]
        start_and_register(server, endpoint, _START_TIMEOUT_S)
        print(_banner(server, endpoint, data_dir, identity), file=out, flush=True)
        return _watch(server, endpoint, out)
    except _StopRequested:
        return 0
    except (StartupError, RegistrationError) as error:
        raise ServeError(str(error)) from error
    finally:
        stopping = True
        try:
            stop_all(started, _STOP_TIMEOUT_S)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _identity(data_dir: Path, signed: bool) -> signing.RequestIdentity | None:
    try:
        return identity_in(data_dir, signed)
    except signing.SigningError as error:
        raise ServeError(str(error)) from error


def _watch(server: RestateServer, endpoint: Endpoint, out: TextIO) -> int:
    """Waits for a stop request; a child dying on its own ends the serve.
    The one wait with no bound: serving lasts until one of the two."""
    while server.running and endpoint.running:
        time.sleep(_WATCH_INTERVAL_S)  # a signal ends the sleep at once
    dead = server if not server.running else endpoint
    print(
        f"{dead!r} exited unexpectedly; stopping.\n--- last lines ---\n{dead.log_tail()}",
        file=out,
        flush=True,
    )
    return 1


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds serve's options to `parser` (the `serve` subcommand of the CLI)."""
    ports = (
        ("--ingress-port", 8080, "restate ingress, where clients call"),
        ("--admin-port", 9070, "restate admin API and UI"),
        ("--endpoint-port", 9080, "our endpoint, called by restate"),
        ("--node-port", 5122, "restate node-to-node"),
    )
    for option, default, what in ports:
        parser.add_argument(option, type=int, default=default, help=f"{what} (default {default})")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="kept across restarts (default <project>/.data)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address every port binds (default 127.0.0.1, this machine only; "
        "see docs/operations.md before exposing the ingress)",
    )
    parser.add_argument(
        "--partitions", type=int, default=1, help="restate partitions, for a fresh data dir (default 1)"
    )
    parser.add_argument(
        "--no-signing",
        dest="signed",
        action="store_false",
        help="let the endpoint accept unsigned requests (default: restate-server signs "
        "with a key kept in <data-dir>/keys, the endpoint refuses anything else)",
    )
    parser.add_argument(
        "--asgi-server",
        choices=sorted(SERVERS),
        default=DEFAULT_SERVER,
        help=f"what serves our endpoint (default {DEFAULT_SERVER}, 1.6 to 2x hypercorn's "
        "rate here; see docs/benchmarks.md)",
    )
    # Lets tests serve a stand-in app; not part of the user-facing interface.
    parser.add_argument("--app", default=DEFAULT_APP, help=argparse.SUPPRESS)


def run_from_args(args: argparse.Namespace) -> int:
    """Runs `serve` from parsed arguments; answers the exit status."""
    try:
        return serve(
            ingress_port=args.ingress_port,
            admin_port=args.admin_port,
            endpoint_port=args.endpoint_port,
            node_port=args.node_port,
            data_dir=args.data_dir,
            host=args.host,
            partitions=args.partitions,
            app=args.app,
            signed=args.signed,
            asgi_server=args.asgi_server,
        )
    except (ServeError, paths.SetupError) as error:
        print(f"ledger serve: {error}", file=sys.stderr)
        return 1
