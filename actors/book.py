"""The OrderBook virtual object: one key per symbol.

State is spread over many entries so that a deep book costs what a shallow
one does per submit: per side, a paged price index (its head: the best
prices and a directory of pages; then the pages: ledger/price_index.py),
and per price level a record holding its oldest and newest page of
resting orders, with the pages between them stored alone
(ledger/level.py). Both sides' heads and the trade counter share one
entry, `head`, since every submit needs all three: with lazy state each
entry read is a round trip and two records in restate's log, so one read
serves where three did. A submit reads the head together with the two
levels it can name before the head is read: the one it would rest on, and
the opposite one at its limit, which an order crossing at its limit trades
against first. Every submit on a symbol waits for the one before it, so a
round trip saved here is saved for the whole symbol: the one extra read,
of an opposite level usually empty, costs less (measured: placements and
settled pairs 10% faster). Then, only if its limit reaches past the index
heads, the index pages; only if it crosses at a better price than its
limit, those levels; and the level pages its quantity reaches past those
(none unless it takes more than a level's oldest page holds), and nothing
else. An order resting in a level page past the level's first has a
note of its page, `at:{order}`: a cancel reads the head, the note and the
level together, and then that page only if the level stores it alone.

The book keeps no record per order: an order's record is its Order object,
whose journal makes its one submit call exactly once (and `submit` is
ingress-private, so nothing else calls it). Checking a record first would
cost every submit a round trip in turn before its reads could start.

Trades are numbered by the book's counter and kept here, one entry each
(`t:{number}`), written by the submit that made them: a trade is listed as
soon as its taker's `place` answers. The records grow without bound but
are read lazily, a page at a time, so they cost a submit nothing but their
one write each. The book never awaits another object: it answers, and
settlement is its caller's saga.
"""

from __future__ import annotations

from typing import Callable

import restate

from actors import config, markets
from actors.shell import all_of, handler
from api.requests import BookBody, HistoryBody, SubmitBody, VenueCancelBody
from api.responses import BookView, TradesPage, VenueCancelled, VenueOutcome
from api.views import book_view, trades_page, venue_outcome
from ledger import book as pure
from ledger import history
from ledger.book import Slice
from ledger.errors import InvalidInput, NotFound
from ledger.invariants import InvariantViolation
from ledger.level import Level, Resting
from ledger.symbols import Side

order_book = restate.VirtualObject(
    "OrderBook", state_preload=False,
    description="A symbol's limit order book (key: the symbol, such as BTC-USD) and its trades.")

HEAD = "head"  # {"bids": index head, "asks": index head, "trades": count}
DEFAULT_DEPTH = 20


def _page_key(side: Side, page_id: int) -> str:
    return f"ip:{side.value}:{page_id}"


def _level_key(side: Side, price_minor: int) -> str:
    return f"lv:{side.value}:{price_minor}"


def _level_page_key(side: Side, price_minor: int, page_id: int) -> str:
    return f"lp:{side.value}:{price_minor}:{page_id}"


def _note_key(order_id: str) -> str:
    return f"at:{order_id}"


def _trade_key(seq: int) -> str:
    return f"t:{seq}"


@handler(order_book, internal=True, key_name="symbol")
async def submit(ctx: restate.ObjectContext, key: str, req: SubmitBody) -> VenueOutcome:
    sym = _symbol(key)
    side = Side(req.side)
    # The level it would rest on, and the opposite one at its limit, which an
    # order crossing at its limit trades against first.
    book, _ = await _load_head(ctx, sym, [(side, req.price_minor), (side.opposite, req.price_minor)])
    # Index pages past the head only when the limit reaches past it, or the
    # order would rest in one: an order that sweeps a page of prices pays a
    # round trip more.
    await load_more(ctx, book, pages=[(side.opposite, p) for p in
                                       book.index(side.opposite).pages_reaching(req.price_minor)]
                     + [(side, p) for p in book.index(side).page_for(req.price_minor)])
    await load_more(ctx, book, levels=[(side.opposite, p) for p in pure.crossing_prices(book, side, req.price_minor)
                                        if (side.opposite, p) not in book.levels])
    await _load_rounds(ctx, book, lambda: {"level_pages": pure.level_pages_to_load(
        book, side, req.price_minor, req.quantity_minor)},
        max_rounds=1 + sum(len(level.unloaded()) for level in book.levels.values()))
    pure.check_slice(book)
    incoming = Resting(req.order, req.account, side, req.price_minor, req.quantity_minor, req.quantity_minor)
    trades_before = book.trade_count
    outcome = pure.submit(book, incoming, req.may_rest, config.FEES)
    store(ctx, book, trades_before)
    return venue_outcome(outcome)


@handler(order_book, internal=True, key_name="symbol")
async def cancel(ctx: restate.ObjectContext, key: str, req: VenueCancelBody) -> VenueCancelled:
    """Take an order off the book; says what its hold gives back."""
    sym = _symbol(key)
    side = Side(req.side)
    book, (note,) = await _load_head(ctx, sym, [(side, req.price_minor)], _note_key(req.order))
    page = note or 0
    # The noted page is read only if the level stores it alone, not in its
    # own record; the index page only if the price is past the index head.
    stored_alone = page in book.levels[(side, req.price_minor)].middle()
    await load_more(ctx, book, pages=[(side, p) for p in book.index(side).page_for(req.price_minor)],
                     level_pages=[(side, req.price_minor, page)] if stored_alone else [])
    pure.check_slice(book)
    removed = pure.cancel(book, side, req.price_minor, req.order, page)
    if removed is None:
        return VenueCancelled(cancelled=False, release_minor=None)
    store(ctx, book, book.trade_count)
    return VenueCancelled(cancelled=True, release_minor=pure.release_minor(sym, removed))


@handler(order_book, kind="shared", key_name="symbol", name="book")
async def levels(ctx: restate.ObjectSharedContext, key: str, req: BookBody) -> BookView:
    """The best price levels per side, quantities summed per price."""
    depth = req.depth or DEFAULT_DEPTH
    sym = _symbol(key)
    book = await load(ctx, sym)
    await _load_rounds(ctx, book, lambda: {"pages": [
        (s, p) for s in (Side.BUY, Side.SELL) for p in book.index(s).pages_for_depth(depth)]},
        max_rounds=1 + sum(len(book.index(s).directory) for s in (Side.BUY, Side.SELL)))
    pure.check_slice(book)
    sides = {s: book.index(s).best_prices(depth) for s in (Side.BUY, Side.SELL)}
    keys = [(side, p) for side, prices in sides.items() for p in prices]
    found = await all_of(*(ctx.get(_level_key(s, p)) for s, p in keys))
    totals = {(side, price): Level.from_record(side, price, level).total_minor
              for (side, price), level in zip(keys, found)}
    return book_view(sym, {name: [(p, totals[(side, p)]) for p in sides[side]]
                           for name, side in (("bids", Side.BUY), ("asks", Side.SELL))})


@handler(order_book, kind="shared", key_name="symbol")
async def trades(ctx: restate.ObjectSharedContext, key: str, req: HistoryBody) -> TradesPage:
    """The symbol's trades, newest first, a page at a time."""
    history.check_page_request(req.limit, req.before)
    sym = _symbol(key)
    seqs, next_cursor = history.page((await load(ctx, sym)).trade_count, req.limit, req.before)
    records = await all_of(*(ctx.get(_trade_key(s)) for s in seqs))
    return trades_page(sym, [(s, pure.stored_trade(sym, s, r)) for s, r in zip(seqs, records)], next_cursor)


async def load(ctx, sym) -> Slice:
    """Both sides' index heads and the trade counter: one entry, one read."""
    return Slice.from_head(sym, await ctx.get(HEAD))


async def _load_head(ctx, sym, levels: list[tuple[Side, int]], *entries: str) -> tuple[Slice, list]:
    """The head, with the levels and other entries named before it is read,
    in one round trip. The levels are checked with the slice once the index
    pages they are in are loaded too."""
    head, *found = await all_of(ctx.get(HEAD), *(ctx.get(_level_key(s, p)) for s, p in levels),
                                *(ctx.get(key) for key in entries))
    book = Slice.from_head(sym, head)
    for (side, price), level in zip(levels, found):
        book.levels[(side, price)] = Level.from_record(side, price, level)
    return book, found[len(levels):]


async def load_more(ctx, book: Slice, levels: list[tuple[Side, int]] = (),
                     pages: list[tuple[Side, int]] = (), level_pages: list[tuple[Side, int, int]] = ()) -> None:
    """Index pages, levels and level pages, read together in one round trip.
    Each part is checked as it loads; the caller checks the slice whole
    once everything it needs is in (a sweep loads many times)."""
    if not levels and not pages and not level_pages:
        return
    found = await all_of(*(ctx.get(_page_key(s, pid)) for s, pid in pages),
                         *(ctx.get(_level_key(s, p)) for s, p in levels),
                         *(ctx.get(_level_page_key(s, p, pid)) for s, p, pid in level_pages))
    for (side, pid), prices in zip(pages, found):
        book.index(side).load(pid, prices)
    for (side, price), level in zip(levels, found[len(pages):]):
        book.levels[(side, price)] = Level.from_record(side, price, level)
    for (side, price, pid), records in zip(level_pages, found[len(pages) + len(levels):]):
        book.levels[(side, price)].load(pid, records)


async def _load_rounds(ctx, book: Slice, wanted: Callable[[], dict[str, list]], max_rounds: int) -> None:
    """Load what `wanted` names, round after round, until it names nothing.
    Each round loads something not loaded before, and `max_rounds` is one
    more than the unloaded entries there were to begin with: reaching it is
    a bug, which fails loudly rather than spinning on the symbol's key."""
    for _ in range(max_rounds):
        more = wanted()
        if not any(more.values()):
            return
        await load_more(ctx, book, **more)
    raise InvariantViolation(f"book {book.symbol.code}: still loading after {max_rounds} rounds")


def store(ctx, book: Slice, trades_before: int) -> None:
    """Write what the slice says changed, and only that (ledger/book.py)."""
    w = pure.writes(book, trades_before)
    for (side, price), record in w.levels.items():
        _put(ctx, _level_key(side, price), record)
    for (side, price, pid), records in w.level_pages.items():
        _put(ctx, _level_page_key(side, price, pid), records)
    for order_id, page in w.notes.items():
        _put(ctx, _note_key(order_id), page)
    for (side, pid), prices in w.pages.items():
        _put(ctx, _page_key(side, pid), prices)
    for seq, record in w.trades.items():
        ctx.set(_trade_key(seq), record)
    if w.head is not None:
        ctx.set(HEAD, w.head)


def _put(ctx, key: str, value) -> None:
    if value is None:
        ctx.clear(key)
    else:
        ctx.set(key, value)


def _symbol(key: str):
    try:
        return markets.lookup(key)
    except InvalidInput:
        raise NotFound(f"symbol {key} has no book") from None
