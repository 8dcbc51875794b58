"""The CLI's client commands: one per contract handler, readable by default,
`--json` for scripts. Exit codes: 0 ok, 1 refused by the ledger (4xx),
2 a command line that makes no sense, 3 the ledger could not be reached."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone

import httpx

from api.client import DEFAULT_URL, ApiError, LedgerClient
from api.responses import (
    AccountView, BalanceView, BookView, HistoryPage, OrderView, TradesPage, TransferView,
)

EXIT_REFUSED = 1
EXIT_USAGE = 2  # argparse's own status for a bad command line
EXIT_UNREACHABLE = 3
TIME_IN_FORCE = ("GTC", "IOC", "GTD")


class UsageError(Exception):
    """Arguments that parse one by one but make no sense together."""


def add_client_commands(sub: argparse._SubParsersAction) -> None:
    def command(name: str, help_text: str, run, under: argparse._SubParsersAction = sub
                ) -> argparse.ArgumentParser:
        p = under.add_parser(name, help=help_text, description=help_text)
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
    _add_trading_commands(sub, command)


def _add_trading_commands(sub: argparse._SubParsersAction, command) -> None:
    order_help = "place, cancel or look up an order"
    orders = sub.add_parser("order", help=order_help, description=order_help).add_subparsers(
        dest="order_command", required=True, metavar="ORDER_COMMAND")
    p = command("place", "place a limit order (a saga: hold, match, settle each fill)",
                _place_order, under=orders)
    p.add_argument("account")
    p.add_argument("symbol", help="BTC-USD, ETH-USD or BTC-EUR")
    p.add_argument("side", type=_side, help="buy or sell")
    p.add_argument("quantity", help="of the base asset, a decimal such as 0.5")
    p.add_argument("price", help="the limit, in the quote asset per one base unit")
    p.add_argument("--id", help="the order id (default: a new one); the same id places once")
    p.add_argument("--tif", type=str.upper, choices=TIME_IN_FORCE, default="GTC",
                   help="time in force: GTC good till cancelled (default), IOC immediate or "
                        "cancel, GTD good till --expires-in-s")
    p.add_argument("--expires-in-s", type=_positive_int, metavar="N",
                   help="with --tif GTD: cancel what is left N seconds from now")
    p = command("cancel", "cancel what is left of a live order", lambda c, a: c.cancel_order(a.id),
                under=orders)
    p.add_argument("id")
    p = command("status", "show an order, its fills and its status", lambda c, a: c.order_status(a.id),
                under=orders)
    p.add_argument("id")
    p = command("book", "show a symbol's order book, best prices first",
                lambda c, a: c.book(a.symbol, a.depth))
    p.add_argument("symbol")
    p.add_argument("--depth", type=int, help="price levels per side (1-100, default 20)")
    p = command("trades", "show a symbol's trades, newest first",
                lambda c, a: c.trades(a.symbol, a.limit, a.before))
    p.add_argument("symbol")
    p.add_argument("--limit", type=int, help="trades per page (1-100, default 20)")
    p.add_argument("--before", type=int, help="the cursor a previous page printed")


def _side(text: str) -> str:
    if text.lower() not in ("buy", "sell"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a side (buy or sell)")
    return text.upper()


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds above 0")
    return value


def _place_order(client: LedgerClient, args: argparse.Namespace):
    expires_at_ms = None
    if args.tif == "GTD":
        if args.expires_in_s is None:
            raise UsageError("--tif GTD needs --expires-in-s N")
        expires_at_ms = int(time.time() * 1000) + args.expires_in_s * 1000
    elif args.expires_in_s is not None:
        raise UsageError("--expires-in-s is for --tif GTD only")
    return client.place_order(args.id or f"o-{uuid.uuid4().hex[:16]}", args.account, args.symbol,
                              args.side, args.quantity, args.price, args.tif, expires_at_ms)


def run_client_command(args: argparse.Namespace) -> int:
    try:
        with LedgerClient(args.url) as client:
            answer = args.run(client, args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
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
    if isinstance(answer, OrderView):
        return _render_order(answer)
    if isinstance(answer, BookView):
        return _render_book(answer)
    if isinstance(answer, TradesPage):
        return _render_trades(answer)
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


def _render_order(o: OrderView) -> str:
    lines = [f"order {o.order}: {o.status}",
             f"  {o.account} {o.side} {o.quantity} {o.symbol} @ {o.price} ({o.time_in_force}), "
             f"filled {o.filled}"]
    if o.expires_at_ms is not None:
        at = datetime.fromtimestamp(o.expires_at_ms / 1000, timezone.utc)
        lines.append(f"  expires {at.isoformat(timespec='seconds').replace('+00:00', 'Z')}")
    if o.fills:
        lines.append(_table([("trade", "price", "quantity", "role")] + [
            (f.trade, f.price, f.quantity, f.role) for f in o.fills
        ]))
    if o.reason:
        lines.append(f"  reason: {o.reason}")
    return "\n".join(lines)


def _render_book(view: BookView) -> str:
    if not view.bids and not view.asks:
        return f"book {view.symbol}: empty"
    depth = max(len(view.bids), len(view.asks))
    rows = [("bid price", "quantity", "|", "ask price", "quantity")]
    for i in range(depth):
        bid = (view.bids[i].price, view.bids[i].quantity) if i < len(view.bids) else ("", "")
        ask = (view.asks[i].price, view.asks[i].quantity) if i < len(view.asks) else ("", "")
        rows.append((*bid, "|", *ask))
    return f"book {view.symbol}\n" + _table(rows, left=())


def _render_trades(page: TradesPage) -> str:
    if not page.trades:
        return f"trades {page.symbol}: none"
    rows = [("seq", "trade", "taker", "price", "quantity")] + [
        (str(t.seq), t.trade, t.taker_side, t.price, t.quantity) for t in page.trades
    ]
    tail = f"\nolder trades: --before {page.next}" if page.next is not None else ""
    return f"trades {page.symbol}\n" + _table(rows, left=(1, 2)) + tail


def _table(rows: list[tuple[str, ...]], left: tuple[int, ...] = (0,)) -> str:
    """Columns two spaces apart; those in `left` flush left, the rest right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        ("  " + "  ".join(cell.ljust(w) if i in left else cell.rjust(w)
                          for i, (cell, w) in enumerate(zip(row, widths)))).rstrip()
        for row in rows
    )


def _amount_call(name: str):
    return lambda c, a: getattr(c, name)(a.account, a.asset, a.amount,
                                         idempotency_key=a.idempotency_key)


def _lifecycle_call(name: str):
    return lambda c, a: getattr(c, name)(a.account, idempotency_key=a.idempotency_key)
