"""Serves a restate ASGI app with granian over plain-text HTTP (h2c and 1.1).

    python -m runtime.granian_main --app actors.app:app --host 127.0.0.1 --port 9080

Measured side by side on two cores (bench/), granian serves a no-op handler
at 1.6 to 2 times the rate of hypercorn tuned for restate, and the endpoint
is the first thing to run out of CPU; so it is `serve`'s default, and
hypercorn the alternative (`ledger serve --asgi-server hypercorn`).

Stopping: send SIGINT to the process group (`Endpoint` does). The restate
SDK installs its own SIGTERM handler in the worker on its first request,
replacing granian's, so a SIGTERM alone stops the worker only when
`workers_kill_timeout` runs out.
"""

from __future__ import annotations

import os

from runtime.endpoint_main import (
    DEFAULT_GRACEFUL_TIMEOUT_S, announce_signing, argument_parser, identity_keys_from_env, load_app,
)
from runtime.gc_heap import freeze_loaded_heap
from runtime.process import die_with_parent

APP_ENV = "LEDGER_GRANIAN_APP"
# As for hypercorn (endpoint_main): restate-server keeps one HTTP/2
# connection and opens a stream per invocation, thousands at once under
# load, so neither streams nor requests in flight may be capped low.
_UNLIMITED_STREAMS = 2**31 - 1
_MAX_IN_FLIGHT = 1 << 20


def make_app():
    """Granian's app factory, called in its worker process.

    The worker must die with granian's main process, as that one dies with
    whoever started it (runtime.process), or a SIGKILLed endpoint would leave
    a worker serving on the port."""
    die_with_parent()
    if os.getppid() == 1:  # the parent died before the line above
        os._exit(1)
    app = load_app(os.environ[APP_ENV], identity_keys_from_env())
    freeze_loaded_heap()
    return app


def main(argv: list[str] | None = None) -> None:
    from granian import Granian
    from granian.http import HTTP2Settings

    args = argument_parser(__doc__).parse_args(argv)
    keys = identity_keys_from_env()
    load_app(args.app, keys)  # fail here, with the reason, before any worker starts
    announce_signing(keys)
    os.environ[APP_ENV] = args.app
    Granian(
        "runtime.granian_main:make_app",
        factory=True,
        address=args.host,
        port=args.port,
        interface="asgi",
        http="auto",
        websockets=False,
        log_access=False,
        backpressure=_MAX_IN_FLIGHT,
        http2_settings=HTTP2Settings(max_concurrent_streams=_UNLIMITED_STREAMS),
        workers_kill_timeout=max(1, round(DEFAULT_GRACEFUL_TIMEOUT_S)),
    ).serve()


if __name__ == "__main__":
    main()
