"""The Trade object (key = trade id): the saga that settles one fill.

Both legs move from holds placed when the orders were accepted: the buyer's
held quote pays the seller, the seller's held base goes to the buyer, fees
are kept from what each receives. Every step is an account operation with an
id made of the trade id and the step, so a retry, a replay or the endpoint
dying half-way never settles anything twice. No step can be refused: holds
cover every fill by construction, and receiving never refuses.
"""

from __future__ import annotations

import restate

from actors import account as account_obj
from actors import config
from actors.shell import all_of, call, handler, now_ms, send
from ledger.book import Fill
from ledger.models import CaptureBody, MakerFillBody, MoveBody, OpenBody, ReleaseBody, SettleBody, parse_body
from ledger.operations import op_id
from ledger.symbols import Side, symbol

trade = restate.VirtualObject("Trade")

SETTLED = "settled"


@handler(trade, internal=True, key_name="trade")
async def settle(ctx: restate.ObjectContext, key: str, body: bytes) -> dict:
    req = parse_body(SettleBody, body)
    if await ctx.get(SETTLED):
        return {"trade": key, "settled": True}
    fill = Fill.from_record(req.model_dump())
    sym = symbol(fill.symbol, config.EXTRA_SYMBOLS)
    step = lambda name: op_id("trade", key, name)  # noqa: E731
    at_ms = await now_ms(ctx)  # once: every leg's record carries the settlement's instant
    captures = [
        call(ctx, account_obj.capture, fill.seller, CaptureBody(
            op=step("seller-capture"), hold=fill.seller_order, amount_minor=fill.quantity_minor, at_ms=at_ms)),
    ]
    if fill.quote_minor:
        captures.append(call(ctx, account_obj.capture, fill.buyer, CaptureBody(
            op=step("buyer-capture"), hold=fill.buyer_order, amount_minor=fill.quote_minor, at_ms=at_ms)))
    await all_of(*captures)
    legs = [
        (fill.seller, sym.quote.code, fill.quote_minor - fill.seller_fee_minor, "seller-receive"),
        (fill.buyer, sym.base.code, fill.quantity_minor - fill.buyer_fee_minor, "buyer-receive"),
        (config.FEE_ACCOUNT, sym.quote.code, fill.seller_fee_minor, "seller-fee"),
        (config.FEE_ACCOUNT, sym.base.code, fill.buyer_fee_minor, "buyer-fee"),
    ]
    if fill.seller_fee_minor or fill.buyer_fee_minor:
        await call(ctx, account_obj.open_account, config.FEE_ACCOUNT, OpenBody(owner="trading fees"))
    await all_of(*(
        call(ctx, account_obj.receive, who,
             MoveBody(op=step(name), asset=asset, amount_minor=amount, ref=key, at_ms=at_ms))
        for who, asset, amount, name in legs if amount > 0
    ))
    maker_side = fill.taker_side.opposite
    maker, maker_order = (fill.buyer, fill.buyer_order) if maker_side is Side.BUY else (fill.seller, fill.seller_order)
    if fill.maker_release_minor:
        await call(ctx, account_obj.release, maker, ReleaseBody(
            op=op_id("order", maker_order, "final-release"), hold=maker_order,
            amount_minor=fill.maker_release_minor, at_ms=at_ms))
    from actors import order as order_obj  # the Order object imports this one

    send(ctx, order_obj.maker_fill, maker_order, MakerFillBody(
        trade=key, price_minor=fill.price_minor, quantity_minor=fill.quantity_minor))
    ctx.set(SETTLED, True)
    return {"trade": key, "settled": True}
