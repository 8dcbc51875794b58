"""Where an order goes to be matched: a small interface, so that an external
exchange adapter could take the place of our own OrderBook.

A venue answers a submit with the fills it made at once, whether the rest
rests, and (for an order it finished) what its hold gives back; it refuses
with a TerminalError, and a submit that takes longer than `timeout` is
treated as failed and cancelled at the venue.

Which venue takes a symbol's orders is listed in actors/markets.py: our
OrderBook, unless an app registered another for the symbol.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Awaitable, Protocol

import restate

from actors import book, markets
from actors.shell import call
from api.requests import SubmitBody, VenueCancelBody
from api.responses import VenueCancelled, VenueOutcome
from ledger.order import Order


class VenueTimeout(Exception):
    pass


class Venue(Protocol):
    """What the place saga needs of a venue. `timeout`: None when the venue
    answers every submit exactly once (a timed-out submit could have matched)."""

    timeout: timedelta | None

    def submit(self, ctx, order: Order, may_rest: bool) -> Awaitable[VenueOutcome]: ...

    def cancel(self, ctx, order: Order) -> Awaitable[VenueCancelled]: ...


class BookVenue:
    """Our own OrderBook object. Restate answers every call exactly once, so
    no timeout: a timed-out submit could have matched."""

    timeout: timedelta | None = None

    def submit(self, ctx, order: Order, may_rest: bool):
        return call(ctx, book.submit, order.symbol.code, submit_body(order, may_rest))

    def cancel(self, ctx, order: Order):
        return call(ctx, book.cancel, order.symbol.code, cancel_body(order))


BOOK = BookVenue()


def venue_for(order: Order) -> Venue:
    return markets.venue_of(order.symbol.code) or BOOK


async def submit_with_timeout(ctx, venue: Venue, order: Order, may_rest: bool) -> VenueOutcome:
    answer = venue.submit(ctx, order, may_rest)
    if venue.timeout is None:
        return await answer
    match await restate.select(answer=answer, timeout=ctx.sleep(venue.timeout)):
        case ["answer", result]:
            return result
        case _:
            raise VenueTimeout(f"the venue did not answer within {venue.timeout.total_seconds():g} s")


def submit_body(order: Order, may_rest: bool) -> SubmitBody:
    """What a venue's submit handler is sent for `order`."""
    return SubmitBody(order=order.order_id, account=order.account, side=order.side.value,
                      quantity_minor=order.quantity_minor, price_minor=order.price_minor,
                      may_rest=may_rest)


def cancel_body(order: Order) -> VenueCancelBody:
    """What a venue's cancel handler is sent for `order`."""
    return VenueCancelBody(order=order.order_id, side=order.side.value, price_minor=order.price_minor)
