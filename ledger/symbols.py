"""Trading symbols, and the exact arithmetic of an order's value.

A quantity is in minor units of the base asset, a price in minor units of
the quote asset per one whole base unit. quantity x price is therefore in
units 10**base.scale times finer than the quote's minor unit, so it is
rounded, always the same way, and both legs of a fill move the same integer:
- a fill's quote amount is rounded down (the buyer never pays above limit);
- a buy order's hold is rounded up (it always covers every fill);
the difference is released to the buyer when the order ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from ledger.errors import InvalidInput
from ledger.money import ASSETS, MAX_MINOR, Asset

BPS = 10_000  # basis points in one


class Side(str, Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> "Side":
        return Side.SELL if self is Side.BUY else Side.BUY


@dataclass(frozen=True)
class Symbol:
    code: str
    base: Asset
    quote: Asset


SYMBOLS = MappingProxyType({
    s.code: s for s in (
        Symbol("BTC-USD", ASSETS["BTC"], ASSETS["USD"]),
        Symbol("ETH-USD", ASSETS["ETH"], ASSETS["USD"]),
        Symbol("BTC-EUR", ASSETS["BTC"], ASSETS["EUR"]),
    )
})


def symbol(code: object, extra: tuple[Symbol, ...] = (), field: str = "symbol") -> Symbol:
    known = {**SYMBOLS, **{s.code: s for s in extra}}
    if not isinstance(code, str) or code not in known:
        shown = code[:40] if isinstance(code, str) else code
        raise InvalidInput(f"{field}: unknown symbol {shown!r} (known: {', '.join(known)})")
    return known[code]


def quote_minor(sym: Symbol, quantity_minor: int, price_minor: int) -> int:
    """What `quantity_minor` costs at `price_minor`, rounded down."""
    return quantity_minor * price_minor // 10**sym.base.scale


def hold_minor(sym: Symbol, side: Side, quantity_minor: int, price_minor: int) -> tuple[str, int]:
    """The asset and amount an order holds: a buy its value rounded up, a
    sell its quantity."""
    if side is Side.SELL:
        return sym.base.code, quantity_minor
    return sym.quote.code, -(-quantity_minor * price_minor // 10**sym.base.scale)


def check_order_size(sym: Symbol, quantity_minor: int, price_minor: int) -> None:
    value = quote_minor(sym, quantity_minor, price_minor)
    if value < 1:
        raise InvalidInput(
            f"quantity: the order's value is below one minor unit of {sym.quote.code}"
        )
    if -(-quantity_minor * price_minor // 10**sym.base.scale) > MAX_MINOR:
        raise InvalidInput("quantity: the order's value exceeds the largest amount the ledger holds")


def fee_minor(amount_minor: int, fee_bps: int) -> int:
    """A fee on what a party receives, rounded down (never more than quoted)."""
    assert 0 <= fee_bps <= BPS and amount_minor >= 0, (amount_minor, fee_bps)
    return amount_minor * fee_bps // BPS
