"""Expectations of trading, computed independently of the ledger's code.

Shared by the campaign's audit and the live tests: exact minor units from
decimal strings, what a fill moves and what it costs in fees, what a live
order still holds. It never imports the ledger's own arithmetic.
"""

from __future__ import annotations

from decimal import Decimal

SCALES = {"USD": 2, "EUR": 2, "BTC": 8, "ETH": 18}
SYMBOL_ASSETS = {"BTC-USD": ("BTC", "USD"), "ETH-USD": ("ETH", "USD"), "BTC-EUR": ("BTC", "EUR"),
                 "BTC-USD.FAULTY": ("BTC", "USD")}
# What the campaign's and the live tests' endpoints are started with.
MAKER_BPS, TAKER_BPS = 10, 20
FEE_ACCOUNT = "fees"
LIVE = frozenset({"ACCEPTED", "PARTIALLY_FILLED"})
ORDER_TERMINAL_OR_LIVE = frozenset({"ACCEPTED", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "REJECTED"})
TRANSFER_TERMINAL = frozenset({"COMPLETED", "FAILED", "COMPENSATED"})


def minor(text: str, asset: str) -> int:
    value = Decimal(text) * 10 ** SCALES[asset]
    if value != value.to_integral_value():
        raise ValueError(f"{text} is not a whole number of {asset} minor units")
    return int(value)


def text(amount_minor: int, asset: str) -> str:
    """Minor units as the contract's decimal string."""
    scale = SCALES[asset]
    whole, frac = divmod(amount_minor, 10**scale)
    return f"{whole}.{frac:0{scale}d}" if scale else str(whole)


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
    paid = sum(value_minor(minor(f.quantity, base), minor(f.price, quote), base, False)
               for f in order.fills)
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
    }.get(order.status, False)


def trade_legs(buy, sell, buy_fill) -> dict:
    """What one trade moves, in minor units: the buyer pays `value` quote and
    receives `qty - buyer_fee` base; the seller gives `qty` base and receives
    `value - seller_fee` quote; the fee account keeps both fees."""
    base, quote = SYMBOL_ASSETS[buy.symbol]
    qty, price = minor(buy_fill.quantity, base), minor(buy_fill.price, quote)
    value = value_minor(qty, price, base, False)
    buyer_bps = TAKER_BPS if buy_fill.role == "TAKER" else MAKER_BPS
    seller_bps = MAKER_BPS if buyer_bps == TAKER_BPS else TAKER_BPS
    return {
        "base": base, "quote": quote, "qty": qty, "value": value,
        "buyer_fee": qty * buyer_bps // 10_000, "seller_fee": value * seller_bps // 10_000,
    }
