"""The CLI's client commands: one per contract handler, readable by default,
`--json` for scripts. Exit codes: 0 ok, 1 refused by the ledger (4xx),
3 the ledger could not be reached."""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid

import httpx

from ledger.client import DEFAULT_URL, ApiError, LedgerClient
from ledger.responses import AccountView, BalanceView, HistoryPage, TransferView

EXIT_REFUSED = 1
EXIT_UNREACHABLE = 3


def add_client_commands(sub: argparse._SubParsersAction) -> None:
    def command(name: str, help_text: str, run) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--url", default=os.environ.get("LEDGER_URL", DEFAULT_URL),
                       help="the Restate ingress (default: $LEDGER_URL or %(default)s)")
        p.add_argument("--json", action="store_true", help="print the JSON answer, for scripts")
        p.set_defaults(run=run, handler=run_client_command)
        return p

    def keyed(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--idempotency-key", help="the same key applies the call once")
        return p

    p = keyed(command("open", "open an account", lambda c, a: c.open(
        a.account, a.owner, idempotency_key=a.idempotency_key)))
    p.add_argument("account")
    p.add_argument("--owner")
    for name, verb in (("deposit", "deposit into"), ("withdraw", "withdraw from")):
        p = keyed(command(name, f"{verb} an account", _amount_call(name)))
        p.add_argument("account")
        p.add_argument("amount", help='a decimal such as 12.50')
        p.add_argument("asset", help="USD, EUR, BTC or ETH")
    p = command("balance", "show an account's balances", lambda c, a: c.balance(a.account))
    p.add_argument("account")
    p = command("history", "show an account's history, newest first",
                lambda c, a: c.history(a.account, a.limit, a.before))
    p.add_argument("account")
    p.add_argument("--limit", type=int, help="entries per page (1-100, default 20)")
    p.add_argument("--before", type=int, help="the cursor a previous page printed")
    for name in ("freeze", "unfreeze"):
        p = keyed(command(name, f"{name} an account", _lifecycle_call(name)))
        p.add_argument("account")
    p = command("transfer", "move money between two accounts (a saga)",
                lambda c, a: c.transfer(a.id or f"t-{uuid.uuid4().hex[:16]}", a.source, a.target,
                                        a.asset, a.amount))
    p.add_argument("source")
    p.add_argument("target")
    p.add_argument("amount")
    p.add_argument("asset")
    p.add_argument("--id", help="the transfer id (default: a new one); the same id never moves money twice")
    p = command("transfer-status", "show a transfer's status", lambda c, a: c.transfer_status(a.id))
    p.add_argument("id")


def run_client_command(args: argparse.Namespace) -> int:
    try:
        with LedgerClient(args.url) as client:
            answer = args.run(client, args)
    except ApiError as err:
        print(f"error {err.status_code}: {err.message}", file=sys.stderr)
        return EXIT_REFUSED
    except httpx.TransportError as err:
        print(f"cannot reach the ledger at {args.url} ({err}); is `make serve` running?",
              file=sys.stderr)
        return EXIT_UNREACHABLE
    print(json.dumps(answer.model_dump(exclude_none=True)) if args.json else render(answer))
    return 0


def render(answer) -> str:
    if isinstance(answer, TransferView):
        lines = [f"transfer {answer.transfer}: {answer.status}",
                 f"  {answer.source} -> {answer.target}  {answer.amount} {answer.asset}"]
        if answer.reason:
            lines.append(f"  reason: {answer.reason}")
        return "\n".join(lines)
    if isinstance(answer, HistoryPage):
        return _render_history(answer)
    if isinstance(answer, BalanceView):
        return _render_balances(answer)
    return json.dumps(answer.model_dump(), indent=2)


def _render_balances(view: BalanceView) -> str:
    head = f"account {view.account}"
    if isinstance(view, AccountView):
        head += f" ({view.status}" + (f", owner {view.owner})" if view.owner else ")")
    if not view.balances:
        return head + "\n  no balances yet"
    rows = [("asset", "available", "reserved", "total")] + [
        (code, b.available, b.reserved, b.total) for code, b in view.balances.items()
    ]
    return head + "\n" + _table(rows)


def _render_history(page: HistoryPage) -> str:
    if not page.entries:
        return f"account {page.account}: no history"
    rows = [("seq", "kind", "amount", "asset", "ref")] + [
        (str(e.seq), e.kind, e.amount or "", e.asset or "", e.ref or "") for e in page.entries
    ]
    tail = f"\nolder entries: --before {page.next}" if page.next is not None else ""
    return f"account {page.account}\n" + _table(rows) + tail


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                         for i, (cell, w) in enumerate(zip(row, widths)))
        for row in rows
    )


def _amount_call(name: str):
    return lambda c, a: getattr(c, name)(a.account, a.asset, a.amount,
                                         idempotency_key=a.idempotency_key)


def _lifecycle_call(name: str):
    return lambda c, a: getattr(c, name)(a.account, idempotency_key=a.idempotency_key)
