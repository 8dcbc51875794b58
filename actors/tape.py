"""The Tape object (key = symbol): every trade of a symbol, in the order its
book made them, for `OrderBook/{symbol}/trades`.

The book sends each submit's fills here in one one-way send, numbered by its
trade counter, and never waits: the trade records grow without bound, so
they are kept out of the book's key, and writing them costs the book's
submit nothing but the send. Sends from one object to another arrive in the
order they were made; the tape still keys every record by its number, so a
page reads the same whatever arrived first.
"""

from __future__ import annotations

import restate

from actors import config
from actors.shell import all_of, handler
from ledger import history
from ledger.book import Fill
from ledger.models import MAX_INTERNAL_BODY_BYTES, HistoryBody, TapeBody, parse_body
from ledger.money import format_amount
from ledger.symbols import symbol

tape = restate.VirtualObject("Tape", state_preload=False)

TOP = "top"  # the highest trade number recorded


def _trade_key(seq: int) -> str:
    return f"t:{seq}"


@handler(tape, internal=True, key_name="symbol")
async def record(ctx: restate.ObjectContext, key: str, body: bytes) -> dict:
    req = parse_body(TapeBody, body, MAX_INTERNAL_BODY_BYTES)
    fills = [Fill.from_record(f.model_dump()) for f in req.fills]
    for seq, fill in enumerate(fills, start=req.first_seq):
        if fill.symbol != key or fill.trade_id != f"{key}-{seq}":
            raise restate.TerminalError(f"trade {fill.trade_id} is not {key}'s trade {seq}", status_code=400)
    top = await ctx.get(TOP) or 0
    for seq, fill in enumerate(fills, start=req.first_seq):
        ctx.set(_trade_key(seq), fill.to_record())
    last = req.first_seq + len(fills) - 1
    if last > top:
        ctx.set(TOP, last)
    return {"symbol": key, "top": max(top, last)}


@handler(tape, kind="shared", internal=True, key_name="symbol", name="trades")
async def trades_page(ctx: restate.ObjectSharedContext, key: str, body: bytes) -> dict:
    """Recent trades, newest first, paged like an account's history; the
    public door is `OrderBook/{symbol}/trades`, which checks the symbol."""
    req = parse_body(HistoryBody, body)
    sym = symbol(key, config.EXTRA_SYMBOLS)
    top = await ctx.get(TOP) or 0
    seqs, next_cursor = history.page(top, req.limit, req.before)
    records = await all_of(*(ctx.get(_trade_key(s)) for s in seqs))
    entries = []
    for seq, rec in zip(seqs, records):
        if rec is None:  # a later send arrived first; this one is on its way
            continue
        fill = Fill.from_record(rec)
        entries.append({
            "seq": seq,
            "trade": fill.trade_id,
            "price": format_amount(fill.price_minor, sym.quote),
            "quantity": format_amount(fill.quantity_minor, sym.base),
            "taker_side": fill.taker_side.value,
        })
    return {"symbol": sym.code, "trades": entries, "next": next_cursor}
