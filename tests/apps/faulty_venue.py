"""The fault-injecting venue, for the tests of the place saga's
compensations: served only by the tests' app (tests/apps/ledger_app.py),
which routes the symbol BTC-USD.FAULTY here.

What it does is chosen by the order id's first word: refuse-* is refused
(409), fail-* fails (502), slow-* answers after 5 s, past its 1 s timeout;
any other id rests and never fills.
"""

from __future__ import annotations

from datetime import timedelta

import restate

from actors.shell import call, handler
from actors.venues import cancel_body, submit_body
from api.requests import SubmitBody, VenueCancelBody
from api.responses import VenueCancelled, VenueOutcome
from ledger.errors import Refused
from ledger.money import ASSETS
from ledger.order import Order
from ledger.symbols import Side, Symbol, hold_minor

FAULTY = Symbol("BTC-USD.FAULTY", ASSETS["BTC"], ASSETS["USD"])
SLOW_S = 5  # how long a slow-* submit takes to answer
TIMEOUT_S = 1  # how long the place saga waits for it

faulty_venue = restate.VirtualObject("FaultyVenue")  # key: the order id


@handler(faulty_venue, internal=True, key_name="order", name="submit")
async def faulty_submit(ctx: restate.ObjectContext, key: str, req: SubmitBody) -> VenueOutcome:
    behaviour = key.split("-", 1)[0]
    if behaviour == "refuse":
        raise Refused("the venue refused the order")
    if behaviour == "fail":
        raise restate.TerminalError("the venue failed", status_code=502)
    if behaviour == "slow":
        await ctx.sleep(timedelta(seconds=SLOW_S))
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


class FaultyVenue:
    """The venue (actors.venues.Venue) the place saga sees: one FaultyVenue
    key per order."""

    timeout = timedelta(seconds=TIMEOUT_S)

    def submit(self, ctx, order: Order, may_rest: bool):
        return call(ctx, faulty_submit, order.order_id, submit_body(order, may_rest))

    def cancel(self, ctx, order: Order):
        return call(ctx, faulty_cancel, order.order_id, cancel_body(order))
