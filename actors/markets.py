"""The symbols this endpoint trades, each with the venue its orders go to:
one home for both, so a symbol is never listed without its venue.

ledger.symbols.SYMBOLS trade on our OrderBook. An app that serves more than
the ledger lists its own symbols with `register` when its module is
imported, before it serves: the tests' app its fault-injecting venue
(tests/apps/), the bench's a book of its own. The production app
(actors/app.py) lists none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.symbols import SYMBOLS, Symbol, symbol

if TYPE_CHECKING:
    from actors.venues import Venue

# code -> the symbol and its venue (None: our OrderBook), beside SYMBOLS.
_LISTED: dict[str, tuple[Symbol, Venue | None]] = {}


def register(sym: Symbol, venue: Venue | None = None) -> None:
    """List `sym` and send its orders to `venue` (None: our OrderBook). The
    same symbol and venue again changes nothing; another one under a listed
    code is refused."""
    if sym.code in SYMBOLS or sym.code in _LISTED:
        if _LISTED.get(sym.code) == (sym, venue):
            return
        raise ValueError(f"symbol {sym.code} is already listed")
    _LISTED[sym.code] = (sym, venue)


def lookup(code: object, field: str = "symbol") -> Symbol:
    """The listed symbol `code`; 400 naming `field` if there is none."""
    return symbol(code, tuple(sym for sym, _ in _LISTED.values()), field)


def venue_of(code: str) -> Venue | None:
    """The venue registered for `code`; None for our OrderBook."""
    listed = _LISTED.get(code)
    return None if listed is None else listed[1]
