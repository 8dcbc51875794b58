"""ASGI servers the benchmark can run the endpoint on, besides `serve`'s own.

`runtime.endpoint.SERVERS` maps a name to how an endpoint runs on it
(granian, `serve`'s default, and hypercorn tuned); `install()` adds, in this
process only:

- `hypercorn-stock`: hypercorn 0.18 with its stock settings (a connection is
  closed every 1,000 requests, 100 streams at most): the baseline the
  issue's 1.5x target is measured against.

It loads the app through `runtime.endpoint_main.load_app`, so request
signing (LEDGER_IDENTITY_KEYS) is honoured as on `serve`'s endpoint.
"""

from __future__ import annotations

import asyncio
import sys

from runtime import endpoint

STOCK = "hypercorn-stock"


def available() -> list[str]:
    """Every server name this machine can run, `serve`'s default first."""
    names = [endpoint.DEFAULT_SERVER, *sorted(endpoint.SERVERS), STOCK]
    return list(dict.fromkeys(names))


def install() -> None:
    endpoint.SERVERS.setdefault(STOCK, endpoint.AsgiServer(
        lambda app, host, port: [sys.executable, "-m", "bench.servers", "--app", app,
                                 "--host", host, "--port", str(port)]))


def _serve_hypercorn_stock(app_spec: str, host: str, port: int) -> None:
    from hypercorn.config import Config

    from runtime import endpoint_main

    config = Config()  # stock: only the address and a bounded stop
    config.bind = [f"{host}:{port}"]
    config.graceful_timeout = endpoint_main.DEFAULT_GRACEFUL_TIMEOUT_S
    app = endpoint_main.load_app(app_spec, endpoint_main.identity_keys_from_env())
    asyncio.run(endpoint_main.serve_until_stopped(app, config))


def main(argv: list[str] | None = None) -> None:
    from runtime import endpoint_main

    args = endpoint_main.argument_parser("serve an app on stock hypercorn (the baseline)").parse_args(argv)
    _serve_hypercorn_stock(args.app, args.host, args.port)


if __name__ == "__main__":
    main()
