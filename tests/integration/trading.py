"""Expectations of trading, computed independently of the ledger's code."""

from decimal import Decimal

SCALES = {"USD": 2, "EUR": 2, "BTC": 8, "ETH": 18}
SYMBOL_ASSETS = {"BTC-USD": ("BTC", "USD"), "ETH-USD": ("ETH", "USD"), "BTC-EUR": ("BTC", "EUR"),
                 "BTC-USD.FAULTY": ("BTC", "USD")}
MAKER_BPS, TAKER_BPS = 10, 20  # what tests/harness.py gives the live endpoint
LIVE = {"ACCEPTED", "PARTIALLY_FILLED"}


def minor(text: str, asset: str) -> int:
    value = Decimal(text) * 10 ** SCALES[asset]
    assert value == value.to_integral_value(), text
    return int(value)


def value_minor(qty: int, price: int, base: str, rounding_up: bool) -> int:
    """qty (base minor) x price (quote minor per whole base), in quote minor."""
    scale = 10 ** SCALES[base]
    return -(-qty * price // scale) if rounding_up else qty * price // scale


def remaining_hold(order) -> tuple[str, int]:
    """What a live order still holds: a sell its unfilled quantity, a buy
    its hold (value at limit, rounded up) less what its fills paid."""
    base, quote = SYMBOL_ASSETS[order.symbol]
    qty, price = minor(order.quantity, base), minor(order.price, quote)
    if order.side == "SELL":
        return base, qty - minor(order.filled, base)
    paid = sum(value_minor(minor(f.quantity, base), minor(f.price, quote), base, False) for f in order.fills)
    return quote, value_minor(qty, price, base, True) - paid


def status_agrees_with_fills(order) -> bool:
    base, _ = SYMBOL_ASSETS[order.symbol]
    filled = sum(minor(f.quantity, base) for f in order.fills)
    qty = minor(order.quantity, base)
    if filled != minor(order.filled, base) or filled > qty:
        return False
    return {
        "ACCEPTED": filled == 0, "REJECTED": filled == 0, "FILLED": filled == qty,
        "PARTIALLY_FILLED": 0 < filled < qty, "CANCELLED": filled < qty,
    }[order.status]
