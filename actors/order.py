"""The Order object (key = order id): an order's record and the saga that
places it.

place: validate; reserve the hold on the account; hand the order to its
venue; settle every fill it made at once, here, one call per account
(ledger/settlement.py), which also gives back what the hold no longer needs. A refusal at any step compensates in reverse:
the order is cancelled at the venue (a no-op if it never got there) and its
hold released (a no-op if it was never placed), so nothing stays reserved
for an order that is not live. The same order id placed again places once.
"""

from __future__ import annotations

import restate

from actors import account as account_obj
from actors import config, markets
from actors.saga import Saga
from actors.shell import call, handler, now_ms, recorded, send
from actors.venues import VenueTimeout, submit_with_timeout, venue_for
from api.requests import (
    EmptyBody, MakerFillBody, PlaceBody, ReleaseBody, ReserveBody,
)
from api.responses import ExpireAnswer, MakerFillAnswer, OrderView
from api.views import fill_of, order_view
from ledger import money, settlement
from ledger import order as lifecycle
from ledger.book import Fill
from ledger.errors import NotFound, Refused
from ledger.operations import op_id
from ledger.order import Order, OrderFill, Status, TimeInForce
from ledger.symbols import Side

order = restate.VirtualObject(
    "Order", description="A limit order, keyed by an order id used once: its record and the saga that places it.")

ORDER = "order"
FEE_OWNER = "trading fees"  # the fee account's owner, when its first fee opens it


@handler(order, key_name="order")
async def place(ctx: restate.ObjectContext, key: str, req: PlaceBody) -> OrderView:
    """Hold the funds, match on the symbol's book, settle every fill; 409 REJECTED if refused."""
    sym = markets.lookup(req.symbol)
    quantity_minor = money.parse_amount(req.quantity, sym.base, "quantity")
    price_minor = money.parse_amount(req.price, sym.quote, "price")
    tif = TimeInForce(req.time_in_force)
    first = await _load(ctx)
    if first is not None:
        asked = Order(key, req.account, sym, Side(req.side), quantity_minor, price_minor, tif, req.expires_at_ms)
        return _answer(lifecycle.resubmitted(first, asked))
    at_ms = await now_ms(ctx)
    asked = lifecycle.new(key, req.account, sym, Side(req.side), quantity_minor, price_minor, tif,
                          req.expires_at_ms, at_ms)
    ctx.set(ORDER, asked.to_record())
    placed = await _place(ctx, asked, at_ms)
    ctx.set(ORDER, placed.to_record())
    return _answer(placed)


@handler(order, key_name="order")
async def cancel(ctx: restate.ObjectContext, key: str, req: EmptyBody) -> OrderView:
    """Cancel what is left of a live order and release its hold."""
    current = await _require(ctx, key)
    lifecycle.require_cancellable(current)
    done = await _take_off_venue(ctx, current, "cancelled by request")
    if done is None:
        raise Refused(f"order {key} is already filled; its last fills are settling")
    return order_view(done)


@handler(order, kind="shared", key_name="order")
async def status(ctx: restate.ObjectSharedContext, key: str, req: EmptyBody) -> OrderView:
    """The order, its fills and its status."""
    return order_view(await _require(ctx, key))


@handler(order, internal=True, key_name="order")
async def maker_fill(ctx: restate.ObjectContext, key: str, req: MakerFillBody) -> MakerFillAnswer:
    """A fill the order got while resting, sent by the taker's place once settled."""
    current = await _require(ctx, key)
    updated = lifecycle.maker_fill(current, OrderFill(req.trade, req.price_minor, req.quantity_minor, "MAKER"))
    if updated is not None:
        ctx.set(ORDER, updated.to_record())
    return MakerFillAnswer(order=key, recorded=updated is not None)


@handler(order, internal=True, key_name="order")
async def expire(ctx: restate.ObjectContext, key: str, req: EmptyBody) -> ExpireAnswer:
    """The GTD timer: cancel whatever is still live."""
    current = await _require(ctx, key)
    if current.status in lifecycle.LIVE:
        await _take_off_venue(ctx, current, "expired (good till date)")
    return ExpireAnswer(order=key)


async def _place(ctx, o: Order, at_ms: int) -> Order:
    """`at_ms`: the instant `place` read, stamped on the hold's records and
    the start of a GTD order's timer (so it fires the placing's duration
    late, never early)."""
    asset, held_minor = o.hold
    venue = venue_for(o)
    reserve_op = op_id("order", o.order_id, "reserve")
    saga = Saga()
    saga.on_rollback("release hold", lambda: call(ctx, account_obj.release, o.account, ReleaseBody(
        op=_final_release(o), hold=settlement.order_hold(o.order_id), amount_minor=held_minor, compensates=reserve_op,
        at_ms=at_ms)))
    try:
        await call(ctx, account_obj.reserve, o.account, ReserveBody(
            op=reserve_op, hold=settlement.order_hold(o.order_id), asset=asset, amount_minor=held_minor, at_ms=at_ms))
    except restate.TerminalError as err:
        return lifecycle.rejected(o, err.message, 404 if err.status_code == 404 else 409)
    saga.on_rollback("cancel at venue", lambda: venue.cancel(ctx, o))
    try:
        outcome = await submit_with_timeout(ctx, venue, o, may_rest=o.tif is not TimeInForce.IOC)
    except (restate.TerminalError, VenueTimeout) as err:
        reason = err.message if isinstance(err, restate.TerminalError) else str(err)
        refused = await saga.rollback()
        return lifecycle.rejected(o, "; ".join((reason, *refused)))
    fills = [fill_of(f) for f in outcome.fills]
    await _settle(ctx, o, fills, outcome.release_minor, at_ms)
    if o.tif is TimeInForce.GTD and outcome.rested:
        send(ctx, expire, o.order_id, EmptyBody(), delay=_until(o.expires_at_ms, at_ms))
    taker_fills = tuple(OrderFill(f.trade_id, f.price_minor, f.quantity_minor, "TAKER") for f in fills)
    return lifecycle.placed(o, taker_fills, outcome.rested, outcome.cancel_reason)


async def _settle(ctx, o: Order, fills: list[Fill], release_minor: int | None, at_ms: int) -> None:
    """Settle every fill the submit made, in this invocation: one call per
    account however many fills (ledger/settlement.py), all at once, then
    tell each maker order of its fill. The taker's final release rides in
    its own account's call."""
    by_account = settlement.steps_by_account(o.symbol, fills, config.FEE_ACCOUNT,
                                             (o.account, o.order_id), release_minor)
    await account_obj.settle_all(ctx, by_account, at_ms, open_owner={config.FEE_ACCOUNT: FEE_OWNER})
    for f in fills:
        send(ctx, maker_fill, f.maker_order, MakerFillBody(
            trade=f.trade_id, price_minor=f.price_minor, quantity_minor=f.quantity_minor))


async def _take_off_venue(ctx, o: Order, reason: str) -> Order | None:
    """Cancel at the venue and give back the hold; None if nothing was left."""
    answer = await venue_for(o).cancel(ctx, o)
    if not answer.cancelled:
        return None
    if answer.release_minor:
        await call(ctx, account_obj.release, o.account, ReleaseBody(
            op=_final_release(o), hold=settlement.order_hold(o.order_id), amount_minor=answer.release_minor,
            at_ms=await now_ms(ctx)))  # read only when there is a hold to give back
    done = lifecycle.cancelled(o, reason)
    ctx.set(ORDER, done.to_record())
    return done


def _final_release(o: Order) -> str:
    return settlement.final_release_op(o.order_id)


def _until(at_ms: int, now: int):
    from datetime import timedelta

    return timedelta(milliseconds=max(at_ms - now, 0))


async def _load(ctx) -> Order | None:
    rec = await ctx.get(ORDER)
    if rec is None:
        return None
    return Order.from_record(rec, markets.lookup(rec["symbol"]))


async def _require(ctx, key: str) -> Order:
    rec = await recorded(ctx, ORDER, "order", key)
    return Order.from_record(rec, markets.lookup(rec["symbol"]))


def _answer(o: Order) -> OrderView:
    assert o.status is not Status.PENDING, o
    if o.status is Status.REJECTED:
        refusal = NotFound if o.refusal_status == 404 else Refused
        raise refusal(f"order {o.order_id} REJECTED: {o.reason}")
    return order_view(o)
