"""The CLI's client commands: one per contract handler, readable by default,
`--json` for scripts. EXIT_STATUSES says what each exit status means; the
top-level parser shows it as its epilog."""

from __future__ import annotations

import argparse
import csv
import io
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
    AccountView, BalanceView, BatchView, BookView, HistoryPage, HoldView, OrderView, TradesPage, TransactionView,
    TransferView,
)
from api.statement import Statement
from ledger.money import ASSETS

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
    _add_primitive_commands(sub)
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


def _tagged(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--reference", metavar="TEXT", help="your own reference for it (1-128 printable characters)")
    p.add_argument("--meta", action="append", type=_pair, metavar="KEY=VALUE", default=None,
                   help="a metadata pair (repeat for more, at most 16)")
    return p


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key, value


def _tags_of(args: argparse.Namespace) -> dict:
    metadata = None if args.meta is None else dict(args.meta)
    if metadata is not None and len(metadata) != len(args.meta):
        raise UsageError("--meta: a key is given twice")
    return {"reference": args.reference, "metadata": metadata}


def _sub(sub: argparse._SubParsersAction, name: str, help_text: str, dest: str) -> argparse._SubParsersAction:
    """A command with commands of its own (`ledger hold place ...`)."""
    parser = sub.add_parser(name, help=help_text, description=help_text, epilog=EXIT_STATUSES,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_global_options(parser)
    return parser.add_subparsers(dest=dest, required=True, metavar=dest.upper())


def _add_account_commands(sub: argparse._SubParsersAction) -> None:
    p = _keyed(_account(_command(sub, "open", "open an account", lambda c, a: c.open(
        a.account, a.owner, idempotency_key=a.idempotency_key))))
    p.add_argument("--owner", help="who holds the account (default: nobody named)")
    for name, verb in (("deposit", "deposit into"), ("withdraw", "withdraw from")):
        p = _tagged(_keyed(_account(_command(sub, name, f"{verb} an account", _amount_call(name)))))
        p.add_argument("amount", metavar="AMOUNT", help="a decimal such as 12.50")
        p.add_argument("asset", metavar="ASSET", help="USD, EUR, BTC or ETH")
    _account(_command(sub, "balance", "show an account's balances", lambda c, a: c.balance(a.account)))
    p = _account(_command(sub, "history", "show an account's history, newest first",
                          lambda c, a: c.history(a.account, a.limit, a.before)))
    _page(p, "entries")
    p = _account(_command(sub, "statement", "show an account's statement for one asset: opening balance, "
                                            "entries, closing balance",
                          lambda c, a: c.statement(a.account, a.asset, a.since, a.until)))
    p.add_argument("--asset", required=True, type=_asset_code, metavar="ASSET", help="USD, EUR, BTC or ETH")
    p.add_argument("--since", type=int, metavar="MS", help="from this instant, epoch milliseconds (default: the start)")
    p.add_argument("--until", type=int, metavar="MS", help="up to this instant, epoch milliseconds (default: now)")
    for name in ("freeze", "unfreeze"):
        help_text = ("freeze an account: it refuses deposits, withdrawals and transfers"
                     if name == "freeze" else "unfreeze a frozen account")
        _keyed(_account(_command(sub, name, help_text, _lifecycle_call(name))))


def _add_transfer_commands(sub: argparse._SubParsersAction) -> None:
    p = _tagged(_command(sub, "transfer", "move money between two accounts (a saga)",
                         lambda c, a: c.transfer(a.id or f"t-{uuid.uuid4().hex[:16]}", a.source, a.target,
                                                 a.asset, a.amount, **_tags_of(a))))
    p.add_argument("source", metavar="SOURCE", help="the account debited")
    p.add_argument("target", metavar="TARGET", help="the account credited")
    p.add_argument("amount", metavar="AMOUNT", help="a decimal such as 12.50")
    p.add_argument("asset", metavar="ASSET", help="USD, EUR, BTC or ETH")
    p.add_argument("--id", help="the transfer id (default: a new one); the same id never moves money twice")
    p = _command(sub, "transfer-status", "show a transfer's status", lambda c, a: c.transfer_status(a.id))
    p.add_argument("id", metavar="ID", help="the transfer id")


def _add_primitive_commands(sub: argparse._SubParsersAction) -> None:
    holds = _sub(sub, "hold", "place, capture, void or look up a hold (a two-phase transfer)", "hold_command")
    p = _tagged(_command(holds, "place", "hold an amount of the source's available funds", lambda c, a: c.place_hold(
        a.id or f"h-{uuid.uuid4().hex[:16]}", a.source, a.asset, a.amount, target=a.target,
        expires_in_s=a.expires_in_s, **_tags_of(a))))
    p.add_argument("source", metavar="SOURCE", help="the account whose funds are held")
    p.add_argument("amount", metavar="AMOUNT", help="a decimal such as 12.50")
    p.add_argument("asset", metavar="ASSET", help="USD, EUR, BTC or ETH")
    p.add_argument("--target", metavar="ACCOUNT", help="the account a capture credits (default: a payout)")
    p.add_argument("--expires-in-s", type=_positive_int, metavar="N", help="void what is still held after N seconds")
    p.add_argument("--id", help="the hold id (default: a new one); the same id holds once")
    p = _keyed(_command(holds, "capture", "capture all or part of a hold; the rest is released",
                        lambda c, a: c.capture_hold(a.id, a.amount, idempotency_key=a.idempotency_key)))
    p.add_argument("id", metavar="ID", help="the hold id")
    p.add_argument("amount", metavar="AMOUNT", nargs="?", help="at most what is held (default: all)")
    p = _keyed(_command(holds, "void", "give a hold back to its source",
                        lambda c, a: c.void_hold(a.id, idempotency_key=a.idempotency_key)))
    p.add_argument("id", metavar="ID", help="the hold id")
    p = _command(holds, "status", "show a hold", lambda c, a: c.hold_status(a.id))
    p.add_argument("id", metavar="ID", help="the hold id")

    transactions = _sub(sub, "transaction", "post or look up a balanced multi-leg transaction",
                        "transaction_command")
    p = _tagged(_command(transactions, "post", "post legs that all apply or none does; per asset, debits "
                                               "equal credits", _post_transaction))
    for direction in ("debit", "credit"):
        p.add_argument(f"--{direction}", nargs=3, action=_LegAction, dest="legs", default=[],
                       metavar=("ACCOUNT", "AMOUNT", "ASSET"), help=f"a {direction} leg (repeat for more)")
    p.add_argument("--id", help="the transaction id (default: a new one); the same id posts once")
    p = _command(transactions, "status", "show a transaction", lambda c, a: c.transaction_status(a.id))
    p.add_argument("id", metavar="ID", help="the transaction id")

    batches = _sub(sub, "batch", "run or look up a batch of up to 1,000 transfers", "batch_command")
    p = _command(batches, "run", "run a batch of transfers, each completing or not on its own", _run_batch)
    p.add_argument("file", metavar="FILE", help="the transfers: a JSON list of {id, source, target, asset, "
                                                "amount, reference?, metadata?}, or CSV with a header "
                                                "id,source,target,asset,amount[,reference]; - for stdin")
    p.add_argument("--id", help="the batch id (default: a new one); the same id runs once")
    p = _command(batches, "status", "show a batch's results", lambda c, a: c.batch_status(a.id))
    p.add_argument("id", metavar="ID", help="the batch id")


class _LegAction(argparse.Action):
    """--debit and --credit append to one list, in the order given."""

    def __call__(self, parser, namespace, values, option_string=None):
        account, amount, asset = values
        legs = list(getattr(namespace, self.dest) or [])
        legs.append({"account": account, "asset": asset, "amount": amount,
                     "direction": option_string.lstrip("-").upper()})
        setattr(namespace, self.dest, legs)


def _post_transaction(client: LedgerClient, args: argparse.Namespace):
    if len(args.legs) < 2:
        raise UsageError("a transaction needs at least two legs: --debit ACCOUNT AMOUNT ASSET and "
                         "--credit ACCOUNT AMOUNT ASSET")
    return client.post_transaction(args.id or f"tx-{uuid.uuid4().hex[:16]}", args.legs, **_tags_of(args))


def _run_batch(client: LedgerClient, args: argparse.Namespace):
    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()
    except OSError as err:
        raise UsageError(f"{args.file}: {err.strerror}") from None
    return client.run_batch(args.id or f"b-{uuid.uuid4().hex[:16]}", _batch_items(args.file, text))


def _batch_items(name: str, text: str) -> list[dict]:
    if name.endswith(".csv"):
        rows = list(csv.DictReader(io.StringIO(text)))
        return [{k: v for k, v in row.items() if k and (v or k != "reference")} for row in rows]
    try:
        items = json.loads(text)
    except ValueError as err:
        raise UsageError(f"{name}: not JSON ({err})") from None
    if isinstance(items, dict) and "transfers" in items:
        items = items["transfers"]
    if not isinstance(items, list):
        raise UsageError(f"{name}: must hold a JSON list of transfers")
    return items


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


def _asset_code(text: str) -> str:
    if text not in ASSETS:
        raise argparse.ArgumentTypeError(f"{text!r} is not an asset ({', '.join(ASSETS)})")
    return text


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
        return "\n".join(lines + _tag_lines(answer))
    if isinstance(answer, HoldView):
        return _render_hold(answer)
    if isinstance(answer, TransactionView):
        return _render_transaction(answer)
    if isinstance(answer, BatchView):
        return _render_batch(answer)
    if isinstance(answer, Statement):
        return _render_statement(answer)
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
    rows = [("seq", "kind", "amount", "asset", "available", "ref", "reference")] + [
        (str(e.seq), e.kind, e.amount or "", e.asset or "", e.balance_after.available if e.balance_after else "",
         e.ref or "", e.reference or "") for e in page.entries
    ]
    tail = f"\nolder entries: --before {page.next}" if page.next is not None else ""
    return f"account {page.account}\n" + _table(rows, left=(0, 1, 3, 5, 6)) + tail


def _tag_lines(answer) -> list[str]:
    lines = []
    if answer.reference is not None:
        lines.append(f"  reference: {answer.reference}")
    if answer.metadata:
        lines.append("  metadata: " + ", ".join(f"{k}={v}" for k, v in answer.metadata.items()))
    return lines


def _instant(at_ms: int) -> str:
    at = datetime.fromtimestamp(at_ms / 1000, timezone.utc)
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def _render_hold(h: HoldView) -> str:
    to = f" -> {h.target}" if h.target else " (capture pays out)"
    lines = [f"hold {h.hold}: {h.status}", f"  {h.source}{to}  {h.amount} {h.asset}, captured {h.captured}"]
    if h.expires_at_ms is not None:
        lines.append(f"  expires {_instant(h.expires_at_ms)}")
    if h.reason:
        lines.append(f"  reason: {h.reason}")
    return "\n".join(lines + _tag_lines(h))


def _render_transaction(t: TransactionView) -> str:
    rows = [("account", "direction", "amount", "asset")] + [
        (leg.account, leg.direction, leg.amount, leg.asset) for leg in t.legs]
    lines = [f"transaction {t.transaction}: {t.status}", _table(rows, left=(0, 1, 3))]
    if t.reason:
        lines.append(f"  reason: {t.reason}")
    return "\n".join(lines + _tag_lines(t))


def _render_batch(b: BatchView) -> str:
    counts = {s: sum(r.status == s for r in b.results) for s in ("COMPLETED", "FAILED", "COMPENSATED")}
    head = f"batch {b.batch}: {b.status}, " + ", ".join(f"{n} {s}" for s, n in counts.items())
    rows = [("id", "status", "reason")] + [(r.id, r.status, r.reason or "") for r in b.results]
    return head + ("\n" + _table(rows, left=(0, 1, 2)) if b.results else "")


def _render_statement(st: Statement) -> str:
    window = f"{_instant(st.since_ms) if st.since_ms is not None else 'the start'} to " \
             f"{_instant(st.until_ms) if st.until_ms is not None else 'now'}"
    rows = [("seq", "at", "kind", "amount", "available", "reserved", "ref", "reference")]
    rows.append(("", "", "opening", "", st.opening.available, st.opening.reserved, "", ""))
    for e in st.entries:
        after = e.balance_after
        rows.append((str(e.seq), _instant(e.at_ms), e.kind, e.amount or "", after.available if after else "?",
                     after.reserved if after else "?", e.ref or "", e.reference or ""))
    rows.append(("", "", "closing", "", st.closing.available, st.closing.reserved, "", ""))
    return f"statement {st.account} {st.asset}, {window}\n" + _table(rows, left=(1, 2, 6, 7))


def _render_order(o: OrderView) -> str:
    lines = [f"order {o.order}: {o.status}",
             f"  {o.account} {o.side} {o.quantity} {o.symbol} @ {o.price} ({o.time_in_force}), "
             f"filled {o.filled}"]
    if o.expires_at_ms is not None:
        lines.append(f"  expires {_instant(o.expires_at_ms)}")
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
                                         idempotency_key=a.idempotency_key, **_tags_of(a))


def _lifecycle_call(name: str):
    return lambda c, a: getattr(c, name)(a.account, idempotency_key=a.idempotency_key)
