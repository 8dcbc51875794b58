"""ASGI servers the benchmark can run the endpoint on, besides `serve`'s own.

`runtime.endpoint.SERVERS` maps a name to the command line of an endpoint;
`install()` adds these to it, in this process only:

- `hypercorn-stock`: hypercorn 0.18 with its stock settings (a connection is
  closed every 1,000 requests, 100 streams at most): the baseline the
  issue's 1.5x target is measured against;
- `granian`: granian's ASGI interface over HTTP/2 (when granian is installed).

Both load the app through `runtime.endpoint_main.load_app`, so request
signing (LEDGER_IDENTITY_KEYS) is honoured as on `serve`'s endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import signal
import sys

from runtime import endpoint

APP_ENV = "BENCH_TARGET_APP"


def _argv(server: str):
    def build(app: str, host: str, port: int) -> list[str]:
        return [sys.executable, "-m", "bench.servers", "--server", server,
                "--app", app, "--host", host, "--port", str(port)]
    return build


def available() -> list[str]:
    """Every server name this machine can run, `serve`'s default first."""
    names = ["hypercorn", "hypercorn-stock"]
    if importlib.util.find_spec("granian") is not None:
        names.append("granian")
    return names + [n for n in endpoint.SERVERS if n not in names]


def install() -> None:
    for name in ("hypercorn-stock", "granian"):
        endpoint.SERVERS.setdefault(name, _argv(name))


def make_app():
    """Granian's app factory, called in its worker process. The worker is
    tied to granian's main process, which is tied to us (runtime.process),
    so no worker outlives the benchmark, however it ends."""
    import ctypes

    from runtime.endpoint_main import identity_keys_from_env, load_app

    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the parent died before the line above
        os._exit(1)
    return load_app(os.environ[APP_ENV], identity_keys_from_env())


def _serve_hypercorn_stock(app_spec: str, host: str, port: int) -> None:
    from hypercorn.config import Config

    from runtime import endpoint_main

    config = Config()  # stock: only the address and a bounded stop
    config.bind = [f"{host}:{port}"]
    config.graceful_timeout = endpoint_main.DEFAULT_GRACEFUL_TIMEOUT_S
    app = endpoint_main.load_app(app_spec, endpoint_main.identity_keys_from_env())
    asyncio.run(endpoint_main._serve(app, config))


def _serve_granian(app_spec: str, host: str, port: int) -> None:
    from granian import Granian

    os.environ[APP_ENV] = app_spec
    Granian("bench.servers:make_app", factory=True, address=host, port=port,
            interface="asgi", http="2", websockets=False, log_access=False).serve()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="serve an app on a benchmark-only ASGI server")
    parser.add_argument("--server", choices=["hypercorn-stock", "granian"], required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    serve = _serve_granian if args.server == "granian" else _serve_hypercorn_stock
    serve(args.app, args.host, args.port)


if __name__ == "__main__":
    main()
