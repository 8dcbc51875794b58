"""The CLI's client commands: one per contract handler, readable by default,
`--json` for scripts. EXIT_STATUSES says what each exit status means; the
top-level parser shows it as its epilog."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone

import httpx
from pydantic import BaseModel

from api.client import DEFAULT_URL, ApiError, LedgerClient
from api.responses import (
    AccountView, BalanceView, BookView, HistoryPage, OrderView, TradesPage, TransferView,
)

EXIT_DONE = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2  # argparse's own status for a bad command line
EXIT_UNREACHABLE = 3
URL_ENV = "LEDGER_URL"
TIME_IN_FORCE = ("GTC", "IOC", "GTD")

GLOBAL_OPTIONS_HELP = f"""\
The client commands take --url URL and --json before or after the command:
  ledger --url http://127.0.0.1:8080 --json balance bob
  ledger balance bob --url http://127.0.0.1:8080 --json
Given both before and after, the one after the command wins. Without --url,
the ledger is at ${URL_ENV}, else {DEFAULT_URL}."""

EXIT_STATUSES = """\
exit status:
  0  done
  1  refused by the ledger: an error answer (4xx, such as 404 or 409),
     its message on stderr
  2  usage error: the command line does not parse, or makes no sense
  3  the ledger could not be reached at the URL"""

# Every C0 control character, DEL and every C1 control character: what a
# terminal may act on (move the cursor, recolour, retitle, start a CSI with
# U+009B) instead of showing.
_CONTROL_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x00, 0x20), *range(0x7F, 0xA0))}


def visible(text: str) -> str:
    """`text` with each control character written as \\xNN. The CLI passes
    everything it prints that it did not write itself through this: an
    owner, a reason or an error message may hold anything a client once
    sent, and must not act on the user's terminal."""
    return text.translate(_CONTROL_ESCAPES)


class UsageError(Exception):
    """Arguments that parse one by one but make no sense together."""


class LedgerArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but its error messages (which quote what was typed,
    e.g. `unrecognized arguments: ...`) go out with control characters
    escaped. Subparsers inherit the class."""

    def error(self, message: str):
        super().error(visible(message))  # exits with status 2


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """--url and --json, added to the top-level parser, to `order` and to each
    client command so they may come before or after the command. Their
    default is SUPPRESS: a parser sets them only when given, so one given
    after the command (parsed last) overrides one given before it, and one
    given before it survives a subcommand that does not repeat it."""
    parser.add_argument("--url", type=_url, default=argparse.SUPPRESS, metavar="URL",
                        help=f"the Restate ingress (default: ${URL_ENV}, else {DEFAULT_URL}); "
                             "before or after the command, the one after wins")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the answer as JSON, for scripts")


def _url(text: str) -> str:
    """An http(s) URL with a host: anything else is a usage error, not a
    ledger that cannot be reached."""
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL")
    return text


def ledger_url(args: argparse.Namespace) -> str:
    """--url if given, else $LEDGER_URL, else the default."""
    if hasattr(args, "url"):
        return args.url
    from_env = os.environ.get(URL_ENV)
    if not from_env:
        return DEFAULT_URL
    try:
        return _url(from_env)
    except argparse.ArgumentTypeError as err:
        raise UsageError(f"${URL_ENV}: {err}") from None


def add_client_commands(sub: argparse._SubParsersAction) -> None:
    _add_account_commands(sub)
    _add_transfer_commands(sub)
    _add_trading_commands(sub)


def _command(under: argparse._SubParsersAction, name: str, help_text: str, run
             ) -> argparse.ArgumentParser:
    p = under.add_parser(name, help=help_text, description=help_text, epilog=EXIT_STATUSES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    add_global_options(p)
    p.set_defaults(run=run, handler=run_client_command)
    return p


def _account(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("account", metavar="ACCOUNT", help="the account id")
    return p


def _keyed(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--idempotency-key", metavar="KEY",
                   help="calls with the same key apply once; a repeat answers as the first did")
    return p


def _page(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--limit", type=int, metavar="N", help=f"{what} per page (1-100, default 20)")
    p.add_argument("--before", type=int, metavar="CURSOR",
                   help="the cursor a previous page printed, for the older page")


def _add_account_commands(sub: argparse._SubParsersAction) -> None:
    p = _keyed(_account(_command(sub, "open", "open an account", lambda c, a: c.open(
        a.account, a.owner, idempotency_key=a.idempotency_key))))
    p.add_argument("--owner", help="who holds the account (default: nobody named)")
    for name, verb in (("deposit", "deposit into"), ("withdraw", "withdraw from")):
        p = _keyed(_account(_command(sub, name, f"{verb} an account", _amount_call(name))))
        p.add_argument("amount", metavar="AMOUNT", help="a decimal such as 12.50")
        p.add_argument("asset", metavar="ASSET", help="USD, EUR, BTC or ETH")
    _account(_command(sub, "balance", "show an account's balances", lambda c, a: c.balance(a.account)))
    p = _account(_command(sub, "history", "show an account's history, newest first",
                          lambda c, a: c.history(a.account, a.limit, a.before)))
    _page(p, "entries")
    for name in ("freeze", "unfreeze"):
        help_text = ("freeze an account: it refuses deposits, withdrawals and transfers"
                     if name == "freeze" else "unfreeze a frozen account")
        _keyed(_account(_command(sub, name, help_text, _lifecycle_call(name))))


def _add_transfer_commands(sub: argparse._SubParsersAction) -> None:
    p = _command(sub, "transfer", "move money between two accounts (a saga)",
                 lambda c, a: c.transfer(a.id or f"t-{uuid.uuid4().hex[:16]}", a.source, a.target,
                                         a.asset, a.amount))
    p.add_argument("source", metavar="SOURCE", help="the account debited")
    p.add_argument("target", metavar="TARGET", help="the account credited")
    p.add_argument("amount", metavar="AMOUNT", help="a decimal such as 12.50")
    p.add_argument("asset", metavar="ASSET", help="USD, EUR, BTC or ETH")
    p.add_argument("--id", help="the transfer id (default: a new one); the same id never moves money twice")
    p = _command(sub, "transfer-status", "show a transfer's status", lambda c, a: c.transfer_status(a.id))
    p.add_argument("id", metavar="ID", help="the transfer id")


def _add_trading_commands(sub: argparse._SubParsersAction) -> None:
    order_help = "place, cancel or look up an order"
    order_parser = sub.add_parser("order", help=order_help, description=order_help, epilog=EXIT_STATUSES,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    add_global_options(order_parser)
    orders = order_parser.add_subparsers(dest="order_command", required=True, metavar="ORDER_COMMAND")
    p = _account(_command(orders, "place", "place a limit order (a saga: hold, match, settle each fill)",
                          _place_order))
    p.add_argument("symbol", metavar="SYMBOL", help="BTC-USD, ETH-USD or BTC-EUR")
    p.add_argument("side", type=_side, metavar="SIDE", help="buy or sell, in any case")
    p.add_argument("quantity", metavar="QUANTITY", help="of the base asset, a decimal such as 0.5")
    p.add_argument("price", metavar="PRICE", help="the limit, in the quote asset per one base unit")
    p.add_argument("--id", help="the order id (default: a new one); the same id places once")
    p.add_argument("--tif", type=str.upper, choices=TIME_IN_FORCE, default="GTC",
                   help="time in force: GTC good till cancelled (default), IOC immediate or "
                        "cancel, GTD good till --expires-in-s")
    p.add_argument("--expires-in-s", type=_positive_int, metavar="N",
                   help="with --tif GTD: cancel what is left N seconds from now")
    p = _command(orders, "cancel", "cancel what is left of a live order", lambda c, a: c.cancel_order(a.id))
    p.add_argument("id", metavar="ID", help="the order id")
    p = _command(orders, "status", "show an order, its fills and its status", lambda c, a: c.order_status(a.id))
    p.add_argument("id", metavar="ID", help="the order id")
    p = _command(sub, "book", "show a symbol's order book, best prices first",
                 lambda c, a: c.book(a.symbol, a.depth))
    p.add_argument("symbol", metavar="SYMBOL", help="BTC-USD, ETH-USD or BTC-EUR")
    p.add_argument("--depth", type=int, metavar="N", help="price levels per side (1-100, default 20)")
    p = _command(sub, "trades", "show a symbol's trades, newest first",
                 lambda c, a: c.trades(a.symbol, a.limit, a.before))
    p.add_argument("symbol", metavar="SYMBOL", help="BTC-USD, ETH-USD or BTC-EUR")
    _page(p, "trades")


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
    url = None
    try:
        url = ledger_url(args)
        with LedgerClient(url) as client:
            answer = args.run(client, args)
    except UsageError as err:
        return _fail(f"error: {err}", EXIT_USAGE)
    except ApiError as err:
        return _fail(f"error {err.status_code}: {err.message}", EXIT_REFUSED)
    except httpx.TransportError as err:
        return _fail(f"cannot reach the ledger at {url} ({err}); is `make serve` running?",
                     EXIT_UNREACHABLE)
    print(to_json(answer) if getattr(args, "json", False) else render(answer))
    return EXIT_DONE


def _fail(message: str, status: int) -> int:
    print(visible(message), file=sys.stderr)
    return status


def to_json(answer: BaseModel) -> str:
    # ensure_ascii (json.dumps' default, stated here on purpose) writes every
    # control character as \uXXXX: the JSON stays one line a script can
    # parse, and nothing in it acts on a terminal.
    # exclude_unset: the fields the ledger answered, and only those, so a
    # script reads `"owner": null` or `"next": null` where the ledger said it.
    return json.dumps(answer.model_dump(mode="json", exclude_unset=True), ensure_ascii=True)


def render(answer: BaseModel) -> str:
    """The readable answer. Every string from the ledger is escaped first
    (visible()), so only the newlines this function writes reach the terminal."""
    answer = _visible_answer(answer)
    if isinstance(answer, TransferView):
        lines = [f"transfer {answer.transfer}: {answer.status}",
                 f"  {answer.source} -> {answer.target}  {answer.amount} {answer.asset}"]
        if answer.reason:
            lines.append(f"  reason: {answer.reason}")
        return "\n".join(lines)
    if isinstance(answer, HistoryPage):
        return _render_history(answer)
    if isinstance(answer, (BalanceView, AccountView)):
        return _render_balances(answer)
    if isinstance(answer, OrderView):
        return _render_order(answer)
    if isinstance(answer, BookView):
        return _render_book(answer)
    if isinstance(answer, TradesPage):
        return _render_trades(answer)
    return json.dumps(answer.model_dump(mode="json"), indent=2, ensure_ascii=True)


def _visible_answer(value):
    """A copy of an answer (a model, or what one holds) with visible() applied
    to every string in it, dict keys and fields a newer ledger added included.
    model_copy does not validate: an escaped string stays as it is."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, BaseModel):
        fields = dict(value)  # declared fields and extra ones alike
        return value.model_copy(update={name: _visible_answer(v) for name, v in fields.items()})
    if isinstance(value, dict):
        return {_visible_answer(k): _visible_answer(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_visible_answer(v) for v in value)
    return value


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
    return f"account {page.account}\n" + _table(rows, left=(0, 1, 3, 4)) + tail


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
