"""The `ledger` command. Each subcommand adds its parser in `build_parser` and
sets `handler`, a function of the parsed arguments answering the exit status."""

from __future__ import annotations

import argparse

from runtime import serve
from runtime.commands import (
    EXIT_STATUSES, GLOBAL_OPTIONS_HELP, LedgerArgumentParser, add_client_commands, add_global_options,
)


def build_parser() -> argparse.ArgumentParser:
    parser = LedgerArgumentParser(
        prog="ledger", description="restate-ledger: a trading ledger on Restate",
        epilog=f"{GLOBAL_OPTIONS_HELP}\n\n{EXIT_STATUSES}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_global_options(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve_parser = commands.add_parser(
        "serve", help="run restate-server and the ledger endpoint in the foreground",
        description="run restate-server and the ledger endpoint in the foreground")
    serve.add_serve_arguments(serve_parser)
    serve_parser.set_defaults(handler=serve.run_from_args)
    add_client_commands(commands)

    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # The top-level --url and --json are for the client commands. serve has
    # no use for them, and ignoring them would hide a mistyped command line.
    if args.command == "serve" and {"url", "json"} & vars(args).keys():
        parser.error("--url and --json are for the client commands, not serve")
    return args.handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
