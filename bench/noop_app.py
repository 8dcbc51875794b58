"""The app the benchmark serves: the ledger's own services, unchanged, plus
what only the benchmark needs, on the same endpoint.

- `Noop` (virtual object): `call` is an exclusive handler that does nothing;
  its rate is the engine's ceiling for this server and endpoint.
- `Account/bench_read`: an *exclusive* balance read, to compare with the
  shared `Account/balance` on a key under write load.
- `Account/bench_seed`: opens an account and deposits into it, in one
  invocation, through the ledger's own transitions (set-up only).
- `Account/bench_history`: appends N deposit records through the ledger's own
  transitions, in one invocation, so an account can hold 10,000 history
  entries without 10,000 calls (set-up only; the same state a deposit writes).
- `OrderBook/bench_seed_book`: rests N orders at distinct new prices, each
  worse than the last, through the pure matcher, and stores them as
  `submit` does (set-up only; they have no Order object and no hold, and
  the measured orders never cross them).
- The floors of bench/floor_app.py: a deposit's, a transfer's and a settled
  pair's journal and round trips without the ledger's code, to run next to
  the ledger's own.
- The symbol `BTC-USD.LEVELS`, a book of its own for the level cases: a
  level of 10 and one of 10,000 at two prices of one book, so the two
  placements share one key and one index head and differ in the level
  alone.
"""

from __future__ import annotations

import json

import restate
from restate.serde import BytesSerde

from actors import config
from bench import floor_app
from actors.account import ACCOUNT, _load, _load_open, account
from actors.book import _load as load_book
from actors.book import _load_more, _store, order_book
from actors.order import order
from actors.shell import handler
from actors.transfer import transfer
from actors.venues import faulty_venue
from ledger import account as acct
from ledger import book as pure
from ledger import history, money
from ledger.book import Resting
from ledger.money import ASSETS
from ledger.symbols import Side, Symbol, symbol
from api.views import balance_view

noop = restate.VirtualObject("Noop")

LEVEL_BOOK = Symbol("BTC-USD.LEVELS", ASSETS["BTC"], ASSETS["USD"])
# The actors look the extra symbols up at each call.
config.EXTRA_SYMBOLS = (*config.EXTRA_SYMBOLS, LEVEL_BOOK)


@noop.handler(name="call", input_serde=BytesSerde(), output_serde=BytesSerde())
async def noop_call(ctx: restate.ObjectContext, body: bytes) -> bytes:
    return b"{}"


@handler(account, key_name="account")
async def bench_read(ctx: restate.ObjectContext, key: str, body: bytes) -> dict:
    return balance_view(await _load_open(ctx, key))


@handler(account, key_name="account")
async def bench_seed(ctx: restate.ObjectContext, key: str, body: bytes) -> dict:
    """Body: {"deposits": {"USD": "1000000.00", ...}}; opens if needed."""
    deposits = json.loads(body or b"{}").get("deposits", {})
    current = await _load(ctx, key)
    changes = []
    if current is None:
        change = acct.open_account(None, key, None)
        changes.append(change)
        current = change.account
    for code, amount in deposits.items():
        asset = money.asset(code)
        change = acct.deposit(current, asset, money.parse_amount(amount, asset))
        changes.append(change)
        current = change.account
    _write(ctx, changes)
    return balance_view(current)


@handler(account, key_name="account")
async def bench_history(ctx: restate.ObjectContext, key: str, body: bytes) -> dict:
    """Body: {"records": N}: N deposits of one cent, each its own history entry."""
    records = int(json.loads(body)["records"])
    current = await _load_open(ctx, key)
    usd = money.ASSETS["USD"]
    changes = []
    for _ in range(records):
        change = acct.deposit(current, usd, 1)
        changes.append(change)
        current = change.account
    _write(ctx, changes)
    return {"account": key, "history_count": current.history_count}


def _write(ctx, changes: list[acct.Change]) -> None:
    """What actors.account._store writes for each change, the account once.
    Set-up records carry at_ms 0: no journaled clock read, one round trip less."""
    if not changes:
        return
    for change in changes:
        seq = change.account.history_count
        ctx.set(history.state_key(seq), history.record(seq, change.entry, 0))
    ctx.set(ACCOUNT, changes[-1].account.to_record())


@handler(order_book, key_name="symbol")
async def bench_seed_book(ctx: restate.ObjectContext, key: str, body: bytes) -> dict:
    """Body: {"side", "orders", "first_price_minor", "step_minor", "quantity_minor", "prefix"}."""
    req = json.loads(body)
    sym = symbol(key, config.EXTRA_SYMBOLS)
    side = Side(req["side"])
    first = int(req["first_price_minor"])
    step = int(req["step_minor"])
    book = await load_book(ctx, sym)
    # Each price is worse than the one before, so each lands in the page
    # the first one does, or in a page made on the way. With a step of 0
    # every order joins one level, read first; new prices start new levels.
    await _load_more(ctx, book, pages=[(side, p) for p in book.index(side).page_for(first)],
                     levels=[(side, first)] if step == 0 else [])
    for i in range(int(req["orders"])):
        price = first + i * step
        oid = f"{req['prefix']}-{i}"
        # What pure.submit does for an order that rests without crossing
        # (the index refuses a price already there), with the slice checked
        # once per call rather than once per order.
        pure._rest(book, Resting(oid, f"{req['prefix']}-acct", side, price,
                                 int(req["quantity_minor"]), int(req["quantity_minor"])))
    pure.check_slice(book)
    _store(ctx, book, book.trade_count)
    index = book.index(side)
    return {"symbol": key, "side": side.value, "head": len(index.head), "pages": len(index.directory)}


SERVICES = [account, transfer, order, order_book, faulty_venue, noop, *floor_app.SERVICES]
app = restate.app(SERVICES)
