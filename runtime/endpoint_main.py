"""Serves a restate ASGI app with hypercorn, tuned for restate-server.

    python -m runtime.endpoint_main --app actors.app:app --host 127.0.0.1 --port 9080

`Endpoint` runs this in a child process; SIGTERM or SIGINT shut it down gracefully.

When LEDGER_IDENTITY_KEYS lists restate public keys (`publickeyv1_...`), the
app is built again from the same services with those `identity_keys`, so it
answers 401 to any request restate-server did not sign (see runtime/signing.py).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import restate
from hypercorn.asyncio import serve
from hypercorn.config import Config

from runtime.gc_heap import freeze_loaded_heap
from runtime.signing import ENDPOINT_KEYS_ENV, parse_keys

try:
    from restate.server import install_shutdown_hook
except ImportError:  # an SDK without the registry: plain asyncio handlers
    install_shutdown_hook = None

# restate-server keeps one long-lived HTTP/2 connection and opens a stream per
# invocation. Stock hypercorn closes a connection after 1,000 requests or 5s
# idle and caps streams at 100, which restate answers with retries and seconds
# of p99; restate's serving docs advise lifting all three.
_UNLIMITED = 2**31 - 1
DEFAULT_GRACEFUL_TIMEOUT_S = 3.0


def load_app(spec: str, identity_keys: Sequence[str] = ()) -> Any:
    """Imports `module.path:attribute`, as hypercorn and uvicorn name an app.

    With `identity_keys`, answers a new restate app serving the same services
    that verifies every request against those keys.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise SystemExit(f"--app must look like package.module:attribute, got {spec!r}")
    # Like hypercorn's own CLI: an app in the working directory (tests.*) is importable.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    try:
        app = getattr(module, attribute)
    except AttributeError:
        raise SystemExit(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not identity_keys:
        return app
    return restate.app(services_of(module), identity_keys=list(identity_keys))


_SERVICE_TYPES = (restate.Service, restate.VirtualObject, restate.Workflow)


def services_of(module: ModuleType) -> list[Any]:
    """The restate services an app module serves: its `SERVICES` list when it
    has one, else every service, object and workflow bound to a top-level
    name of the module (what an app module imports to pass to restate.app)."""
    declared = getattr(module, "SERVICES", None)
    if declared is not None:
        services = list(declared)
    else:
        services = []
        for value in vars(module).values():
            if isinstance(value, _SERVICE_TYPES) and all(value is not s for s in services):
                services.append(value)
    if not services or not all(isinstance(service, _SERVICE_TYPES) for service in services):
        raise SystemExit(
            f"cannot serve {module.__name__} with request signing: it must define "
            "SERVICES, a list of its restate services, or bind them to top-level names"
        )
    return services


def identity_keys_from_env() -> list[str]:
    """The public keys the endpoint accepts, from LEDGER_IDENTITY_KEYS."""
    return parse_keys(os.environ.get(ENDPOINT_KEYS_ENV))


def announce_signing(keys: Sequence[str]) -> None:
    # Public keys only: safe to log, and the first thing to check when
    # restate's calls are refused with 401.
    if keys:
        print(f"request signing on: accepting requests signed by {', '.join(keys)}", flush=True)
    else:
        print("request signing off: accepting unsigned requests", flush=True)


def build_config(host: str, port: int, graceful_timeout_s: float) -> Config:
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.keep_alive_max_requests = _UNLIMITED
    config.keep_alive_timeout = _UNLIMITED
    config.h2_max_concurrent_streams = _UNLIMITED
    # Bounds how long a stop waits for invocations in flight; restate retries
    # whatever is cut off, so this is about tidiness, not correctness.
    config.graceful_timeout = graceful_timeout_s
    return config


def _on_signal(loop: asyncio.AbstractEventLoop, sig: int, hook: Callable[[], None]) -> None:
    # The restate app installs its own SIGTERM handler on its first ASGI call,
    # which would silently replace ours (asyncio keeps one handler per signal)
    # and leave hypercorn running after a SIGTERM. The SDK's hook registry
    # runs every hook registered through it, ours included.
    if sig == signal.SIGTERM and install_shutdown_hook is not None:
        install_shutdown_hook(loop, hook, sig)
    else:
        loop.add_signal_handler(sig, hook)


async def serve_until_stopped(app: Any, config: Config) -> None:
    """Serves `app` with hypercorn on `config` until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        _on_signal(loop, sig, stop.set)
    await serve(app, config, shutdown_trigger=stop.wait, mode="asgi")


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """What every ASGI server's main takes: --app, --host, --port
    (the command lines of runtime.endpoint.SERVERS)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--app", default="actors.app:app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9080)
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--graceful-timeout-s", type=float, default=DEFAULT_GRACEFUL_TIMEOUT_S)
    args = parser.parse_args(argv)
    keys = identity_keys_from_env()
    app = load_app(args.app, keys)
    freeze_loaded_heap()
    announce_signing(keys)
    asyncio.run(serve_until_stopped(app, build_config(args.host, args.port, args.graceful_timeout_s)))


if __name__ == "__main__":
    main()
