"""The app the benchmark serves: the ledger's own services, unchanged, plus
objects of the bench's own, on the same endpoint. Built from public names
only (STYLE.md): what the bench adds never reaches the production app.

- `Noop` (virtual object): `call` is an exclusive handler that does nothing;
  its rate is the engine's ceiling for this server and endpoint.
- On a copy of the Account object (actors.app.copy_object; the ledger's
  own is untouched), set-up and comparison handlers that must share the
  account's key and state:
  - `bench_read`: an *exclusive* balance read, to compare with the shared
    `Account/balance` on a key under write load;
  - `bench_seed`: opens an account and deposits into it, in one
    invocation, through the ledger's own transitions (set-up only);
  - `bench_history`: appends N deposit records through the ledger's own
    transitions, in one invocation, so an account can hold 10,000 history
    entries without 10,000 calls (set-up only; the state a deposit writes).
- On a copy of the OrderBook object, `bench_seed_book` (key: the symbol):
  rests N orders at distinct new prices, or all at one, in one invocation,
  through the book's own loading, resting and storing (set-up only; they
  have no Order object and no hold, and the measured orders never cross
  them).
- The floors of bench/floor_app.py: a deposit's, a transfer's and a settled
  pair's journal and round trips without the ledger's code, to run next to
  the ledger's own.
- The symbol `BTC-USD.LEVELS`, a book of its own for the level cases: a
  level of 10 and one of 10,000 at two prices of one book, so the two
  placements share one key and one index head and differ in the level
  alone.
"""

from __future__ import annotations

from typing import Literal

import restate
from pydantic import BaseModel, Field
from restate.serde import BytesSerde

from actors import account as account_obj
from actors import app as production
from actors import book as book_obj
from actors import markets
from actors.app import copy_object
from actors.shell import handler
from api.requests import AmountText, AssetCode, EmptyBody, Key, RequestBody
from api.responses import BalanceView
from api.views import balance_view
from bench import floor_app
from ledger import account as acct
from ledger import book as pure
from ledger import money
from ledger.book import Resting
from ledger.money import ASSETS
from ledger.symbols import Side, Symbol

# The most records or orders one set-up call writes (bench/cases.py sends 1,000).
MAX_SEED_PER_CALL = 1_000

LEVEL_BOOK = Symbol("BTC-USD.LEVELS", ASSETS["BTC"], ASSETS["USD"])
markets.register(LEVEL_BOOK)  # traded on our OrderBook, as the listed symbols are

noop = restate.VirtualObject("Noop")
account = copy_object(production.account)
order_book = copy_object(production.order_book)


@noop.handler(name="call", input_serde=BytesSerde(), output_serde=BytesSerde())
async def noop_call(ctx: restate.ObjectContext, body: bytes) -> bytes:
    return b"{}"


class SeedBody(RequestBody):
    deposits: dict[AssetCode, AmountText] = Field(default_factory=dict, max_length=len(ASSETS))


class HistoryBody(RequestBody):
    records: int = Field(strict=True, gt=0, le=MAX_SEED_PER_CALL)


class HistorySeeded(BaseModel):
    account: str
    history_count: int


class BookSeedBody(RequestBody):
    side: Literal["BUY", "SELL"]
    orders: int = Field(strict=True, gt=0, le=MAX_SEED_PER_CALL)
    first_price_minor: int = Field(strict=True, gt=0)
    step_minor: int = Field(strict=True, ge=0)
    quantity_minor: int = Field(strict=True, gt=0)
    prefix: Key


class BookSeeded(BaseModel):
    symbol: str
    side: str
    head: int
    pages: int


@handler(account, key_name="account")
async def bench_read(ctx: restate.ObjectContext, key: str, req: EmptyBody) -> BalanceView:
    return balance_view(acct.require_open(await account_obj.load(ctx, key), key))


@handler(account, key_name="account")
async def bench_seed(ctx: restate.ObjectContext, key: str, req: SeedBody) -> BalanceView:
    """Opens the account if need be, then deposits `deposits` (asset: amount)."""
    current = await account_obj.load(ctx, key)
    changes = []
    if current is None:
        changes.append(acct.open_account(None, key, None))
        current = changes[-1].account
    for code, amount in req.deposits.items():
        asset = money.asset(code)
        changes.append(acct.deposit(current, asset, money.parse_amount(amount, asset)))
        current = changes[-1].account
    _write(ctx, changes)
    return balance_view(current)


@handler(account, key_name="account")
async def bench_history(ctx: restate.ObjectContext, key: str, req: HistoryBody) -> HistorySeeded:
    """`records` deposits of one cent, each its own history entry."""
    current = acct.require_open(await account_obj.load(ctx, key), key)
    changes = []
    for _ in range(req.records):
        changes.append(acct.deposit(current, ASSETS["USD"], 1))
        current = changes[-1].account
    _write(ctx, changes)
    return HistorySeeded(account=key, history_count=current.history_count)


def _write(ctx, changes: list[acct.Change]) -> None:
    """What the Account object stores for each change, the account once.
    Set-up records carry at_ms 0: no journaled clock read, one round trip less."""
    if changes:
        account_obj.store_all(ctx, [(change, None) for change in changes], 0)


@handler(order_book, key_name="symbol")
async def bench_seed_book(ctx: restate.ObjectContext, key: str, req: BookSeedBody) -> BookSeeded:
    """Rests `orders` orders on the symbol's book, from `first_price_minor`
    up by `step_minor` (0: all at one price); none may cross."""
    sym = markets.lookup(key)
    side, first = Side(req.side), req.first_price_minor
    book = await book_obj.load(ctx, sym)
    # Each price is worse than the one before, so each lands in the page
    # the first one does, or in a page made on the way. With a step of 0
    # every order joins one level, read first; new prices start new levels.
    await book_obj.load_more(ctx, book, pages=[(side, p) for p in book.index(side).page_for(first)],
                             levels=[(side, first)] if req.step_minor == 0 else [])
    for i in range(req.orders):
        # What pure.submit does for an order that rests without crossing,
        # with the slice checked once per call rather than once per order.
        pure.rest(book, Resting(f"{req.prefix}-{i}", f"{req.prefix}-acct", side, first + i * req.step_minor,
                                req.quantity_minor, req.quantity_minor))
    pure.check_slice(book)
    book_obj.store(ctx, book, book.trade_count)
    index = book.index(side)
    return BookSeeded(symbol=key, side=side.value, head=len(index.head), pages=len(index.directory))


# The ledger's services with the bench's copies in place of Account and OrderBook.
_COPIES = {production.account: account, production.order_book: order_book}
SERVICES = [_COPIES.get(s, s) for s in production.SERVICES] + [noop, *floor_app.SERVICES]
app = restate.app(SERVICES)
