"""Where an order goes to be matched: a small interface, so that an external
exchange adapter could take the place of our own OrderBook.

A venue answers a submit with the fills it made at once, whether the rest
rests, and (for an order it finished) what its hold gives back; it refuses
with a TerminalError, and a submit that takes longer than `timeout` is
treated as failed and cancelled at the venue.

The fault-injecting venue exists for the tests of the place saga's
compensations; it is listed only when LEDGER_FAULTY_VENUE=1. What it does is
chosen by the order id's first word: refuse-*, fail-*, slow-* (answers after
5 s, past its 1 s timeout); any other id rests and never fills.
"""

from __future__ import annotations

from datetime import timedelta

import restate

from actors import book
from actors.shell import call, handler
from api.requests import SubmitBody, VenueCancelBody
from api.responses import VenueCancelled, VenueOutcome
from ledger.errors import Refused
from ledger.order import Order
from ledger.symbols import FAULTY, Side, hold_minor


class VenueTimeout(Exception):
    pass


class BookVenue:
    """Our own OrderBook object. Restate answers every call exactly once, so
    no timeout: a timed-out submit could have matched."""

    timeout: timedelta | None = None

    def submit(self, ctx, order: Order, may_rest: bool):
        return call(ctx, book.submit, order.symbol.code, _submit_body(order, may_rest))

    def cancel(self, ctx, order: Order):
        return call(ctx, book.cancel, order.symbol.code, _cancel_body(order))


class FaultyVenue:
    timeout = timedelta(seconds=1)

    def submit(self, ctx, order: Order, may_rest: bool):
        return call(ctx, faulty_submit, order.order_id, _submit_body(order, may_rest))

    def cancel(self, ctx, order: Order):
        return call(ctx, faulty_cancel, order.order_id, _cancel_body(order))


VENUES = {"book": BookVenue(), "faulty": FaultyVenue()}


def venue_for(order: Order):
    return VENUES[order.symbol.venue]


async def submit_with_timeout(ctx, venue, order: Order, may_rest: bool) -> VenueOutcome:
    answer = venue.submit(ctx, order, may_rest)
    if venue.timeout is None:
        return await answer
    match await restate.select(answer=answer, timeout=ctx.sleep(venue.timeout)):
        case ["answer", result]:
            return result
        case _:
            raise VenueTimeout(f"the venue did not answer within {venue.timeout.total_seconds():g} s")


def _submit_body(order: Order, may_rest: bool) -> SubmitBody:
    return SubmitBody(order=order.order_id, account=order.account, side=order.side.value,
                      quantity_minor=order.quantity_minor, price_minor=order.price_minor,
                      may_rest=may_rest)


def _cancel_body(order: Order) -> VenueCancelBody:
    return VenueCancelBody(order=order.order_id, side=order.side.value, price_minor=order.price_minor)


# --- the fault-injecting venue (key = order id) --------------------------------

faulty_venue = restate.VirtualObject("FaultyVenue")


@handler(faulty_venue, internal=True, key_name="order", name="submit")
async def faulty_submit(ctx: restate.ObjectContext, key: str, req: SubmitBody) -> VenueOutcome:
    behaviour = key.split("-", 1)[0]
    if behaviour == "refuse":
        raise Refused("the venue refused the order")
    if behaviour == "fail":
        raise restate.TerminalError("the venue failed", status_code=502)
    if behaviour == "slow":
        await ctx.sleep(timedelta(seconds=5))
    ctx.set("resting", req.model_dump())
    return VenueOutcome(fills=[], filled_minor=0, rested=True, release_minor=None, cancel_reason=None)


@handler(faulty_venue, internal=True, key_name="order", name="cancel")
async def faulty_cancel(ctx: restate.ObjectContext, key: str, req: VenueCancelBody) -> VenueCancelled:
    resting = await ctx.get("resting")
    if resting is None:
        return VenueCancelled(cancelled=False, release_minor=None)
    ctx.clear("resting")
    _, held = hold_minor(FAULTY, Side(resting["side"]), resting["quantity_minor"], resting["price_minor"])
    return VenueCancelled(cancelled=True, release_minor=held)
