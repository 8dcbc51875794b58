"""The `ledger` command. Each subcommand adds its parser in `build_parser` and
sets `handler`, a function of the parsed arguments answering the exit status."""

from __future__ import annotations

import argparse

from runtime import serve
from runtime.commands import add_client_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ledger", description="restate-ledger: a trading ledger on Restate")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve_parser = commands.add_parser(
        "serve", help="run restate-server and the ledger endpoint in the foreground"
    )
    serve.add_serve_arguments(serve_parser)
    serve_parser.set_defaults(handler=serve.run_from_args)
    add_client_commands(commands)

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
