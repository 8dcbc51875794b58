"""The OrderBook virtual object: one key per symbol.

State is spread over many entries so that a deep book costs what a shallow
one does per submit: an index of prices per side, one entry per price level
(its FIFO of resting orders), one entry per order submitted (its outcome,
for idempotency and for finding it to cancel), one per trade. The book never
awaits another object: it answers, and settlement is its caller's saga.
"""

from __future__ import annotations

import restate

from actors import config
from actors.shell import all_of, handler
from ledger import book as pure
from ledger import history
from ledger.book import Resting, Slice
from ledger.errors import InvalidInput, NotFound
from ledger.models import BookBody, HistoryBody, SubmitBody, VenueCancelBody, parse_body
from ledger.money import format_amount
from ledger.symbols import Side, symbol

order_book = restate.VirtualObject("OrderBook", state_preload=False)

META = "meta"
DEFAULT_DEPTH = 20


def _index_key(side: Side) -> str:
    return f"idx:{side.value}"


def _level_key(side: Side, price_minor: int) -> str:
    return f"lv:{side.value}:{price_minor}"


def _order_key(order_id: str) -> str:
    return f"o:{order_id}"


def _trade_key(seq: int) -> str:
    return f"t:{seq}"


@handler(order_book, internal=True, key_name="symbol")
async def submit(ctx: restate.ObjectContext, key: str, body: bytes) -> dict:
    req = parse_body(SubmitBody, body)
    sym = _symbol(key)
    done = await ctx.get(_order_key(req.order))
    if done is not None:
        return done["outcome"]  # the same order submitted again: once only
    side = Side(req.side)
    book = await _load(ctx, sym)
    wanted = [(side.opposite, p) for p in pure.crossing_prices(book.index(side.opposite), side, req.price_minor)]
    wanted.append((side, req.price_minor))
    await _load_levels(ctx, book, wanted)
    incoming = Resting(req.order, req.account, side, req.price_minor, req.quantity_minor, req.quantity_minor)
    first_trade = book.trade_count + 1
    outcome = pure.submit(book, incoming, req.may_rest, config.FEES)
    answer = {
        "fills": [f.to_record() for f in outcome.fills],
        "filled_minor": outcome.filled_minor,
        "rested": outcome.rested,
        "release_minor": outcome.release_minor,
        "cancel_reason": outcome.cancel_reason,
    }
    _store(ctx, book)
    ctx.set(META, {"trades": book.trade_count})
    for seq, fill in enumerate(outcome.fills, start=first_trade):
        ctx.set(_trade_key(seq), fill.to_record())
    ctx.set(_order_key(req.order), {"side": side.value, "price_minor": req.price_minor, "outcome": answer})
    return answer


@handler(order_book, internal=True, key_name="symbol")
async def cancel(ctx: restate.ObjectContext, key: str, body: bytes) -> dict:
    """Take an order off the book; says what its hold gives back."""
    req = parse_body(VenueCancelBody, body)
    sym = _symbol(key)
    if await ctx.get(_order_key(req.order)) is None:
        return {"cancelled": False, "release_minor": None}
    side = Side(req.side)
    book = await _load(ctx, sym)
    await _load_levels(ctx, book, [(side, req.price_minor)])
    removed = pure.cancel(book, side, req.price_minor, req.order)
    if removed is None:
        return {"cancelled": False, "release_minor": None}
    _store(ctx, book)
    return {"cancelled": True, "release_minor": pure.release_minor(sym, removed)}


@handler(order_book, kind="shared", key_name="symbol", name="book")
async def book_view(ctx: restate.ObjectSharedContext, key: str, body: bytes) -> dict:
    depth = parse_body(BookBody, body).depth or DEFAULT_DEPTH
    sym = _symbol(key)
    bids, asks = await all_of(ctx.get(_index_key(Side.BUY)), ctx.get(_index_key(Side.SELL)))
    sides = {Side.BUY: (bids or [])[:depth], Side.SELL: (asks or [])[:depth]}
    keys = [(side, p) for side, prices in sides.items() for p in prices]
    levels = await all_of(*(ctx.get(_level_key(s, p)) for s, p in keys))
    totals = {}
    for (side, price), level in zip(keys, levels):
        totals[(side, price)] = sum(Resting.from_record(r).remaining_minor for r in level or [])
    view = {
        name: [{"price": format_amount(p, sym.quote), "quantity": format_amount(totals[(side, p)], sym.base)}
               for p in sides[side]]
        for name, side in (("bids", Side.BUY), ("asks", Side.SELL))
    }
    return {"symbol": sym.code, **view}


@handler(order_book, kind="shared", key_name="symbol")
async def trades(ctx: restate.ObjectSharedContext, key: str, body: bytes) -> dict:
    """Recent trades, newest first, paged like an account's history."""
    req = parse_body(HistoryBody, body)
    sym = _symbol(key)
    meta = await ctx.get(META) or {"trades": 0}
    seqs, next_cursor = history.page(meta["trades"], req.limit, req.before)
    records = await all_of(*(ctx.get(_trade_key(s)) for s in seqs))
    entries = []
    for seq, rec in zip(seqs, records):
        fill = pure.Fill.from_record(rec)
        entries.append({
            "seq": seq,
            "trade": fill.trade_id,
            "price": format_amount(fill.price_minor, sym.quote),
            "quantity": format_amount(fill.quantity_minor, sym.base),
            "taker_side": fill.taker_side.value,
        })
    return {"symbol": sym.code, "trades": entries, "next": next_cursor}


async def _load(ctx, sym) -> Slice:
    meta, bids, asks = await all_of(ctx.get(META), ctx.get(_index_key(Side.BUY)), ctx.get(_index_key(Side.SELL)))
    meta = meta or {"trades": 0}
    return Slice(sym, list(bids or []), list(asks or []), {}, meta["trades"])


async def _load_levels(ctx, book: Slice, wanted: list[tuple[Side, int]]) -> None:
    found = await all_of(*(ctx.get(_level_key(s, p)) for s, p in wanted))
    for (side, price), level in zip(wanted, found):
        book.levels[(side, price)] = [Resting.from_record(r) for r in level or []]
    pure.check_slice(book)


def _store(ctx, book: Slice) -> None:
    """Write what the slice says changed, and only that."""
    for side, price in book.changed:
        queue = book.levels[(side, price)]
        if queue:
            ctx.set(_level_key(side, price), [r.to_record() for r in queue])
        else:
            ctx.clear(_level_key(side, price))
    for side in (Side.BUY, Side.SELL):
        if any(s is side for s, _ in book.changed):
            ctx.set(_index_key(side), book.index(side))


def _symbol(key: str):
    try:
        return symbol(key, config.EXTRA_SYMBOLS)
    except InvalidInput:
        raise NotFound(f"symbol {key} has no book") from None
