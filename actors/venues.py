"""Where an order goes to be matched: a small interface, so that an external
exchange adapter could take the place of our own OrderBook.

A venue answers a submit with the fills it made at once, whether the rest
rests, and (for an order it finished) what its hold gives back; it refuses
with a TerminalError, and a submit that takes longer than `timeout` is
treated as failed and cancelled at the venue.

The symbols of ledger.symbols go to our OrderBook. An app that serves more
than the ledger lists its own symbols, each with its venue, through
`register` when its module is imported, before it serves: the tests' app
its fault-injecting venue (tests/apps/), the bench's a book of its own.
The production app (actors/app.py) registers none.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Awaitable, Protocol

import restate

from actors import book, config
from actors.shell import call
from api.requests import SubmitBody, VenueCancelBody
from api.responses import VenueCancelled, VenueOutcome
from ledger.order import Order
from ledger.symbols import SYMBOLS, Symbol


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
# The venues of the registered symbols, by code; every other symbol's is BOOK.
_VENUES: dict[str, Venue] = {}


def register(sym: Symbol, venue: Venue = BOOK) -> None:
    """List `sym` beside ledger.symbols.SYMBOLS and send its orders to
    `venue`. At import time of an app module, before it serves: the objects
    look symbols up at each call (config.EXTRA_SYMBOLS). The same symbol and
    venue again changes nothing; another one under a listed code is refused."""
    listed = {s.code: s for s in (*SYMBOLS.values(), *config.EXTRA_SYMBOLS)}
    if sym.code in listed:
        same_again = listed[sym.code] == sym and _VENUES.get(sym.code) is venue
        if same_again:
            return
        raise ValueError(f"symbol {sym.code} is already listed")
    _VENUES[sym.code] = venue
    config.EXTRA_SYMBOLS = (*config.EXTRA_SYMBOLS, sym)


def venue_for(order: Order) -> Venue:
    return _VENUES.get(order.symbol.code, BOOK)


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
