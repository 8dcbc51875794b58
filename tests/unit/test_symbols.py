"""Symbols and the exact arithmetic of an order's value.

Every expectation is computed here with Fraction (exact rationals) and
math.floor / math.ceil, never with the module's own formulas.
"""

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidInput
from ledger.money import ASSETS, MAX_MINOR
from ledger.symbols import (
    BPS,
    SYMBOLS,
    Side,
    Symbol,
    check_order_size,
    fee_minor,
    hold_minor,
    quote_minor,
    symbol,
)

BTC_USD, ETH_USD, BTC_EUR = SYMBOLS["BTC-USD"], SYMBOLS["ETH-USD"], SYMBOLS["BTC-EUR"]
# A symbol an app lists beside the fixed ones (the tests' app lists this one).
EXTRA = Symbol("BTC-USD.FAULTY", ASSETS["BTC"], ASSETS["USD"])
ONE_BTC = 100_000_000  # satoshi
ONE_ETH = 10**18  # wei


def exact_value(sym: Symbol, qty: int, price: int) -> Fraction:
    """qty (base minor) x price (quote minor per whole base) in quote minor, exactly."""
    return Fraction(qty) * price / Fraction(10) ** sym.base.scale


def refused(call, *args) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    assert caught.value.status_code == 400
    return caught.value


# --- the registry -------------------------------------------------------------


def test_the_symbols_and_their_assets():
    assert set(SYMBOLS) == {"BTC-USD", "ETH-USD", "BTC-EUR"}
    assert (BTC_USD.base, BTC_USD.quote) == (ASSETS["BTC"], ASSETS["USD"])
    assert (ETH_USD.base, ETH_USD.quote) == (ASSETS["ETH"], ASSETS["USD"])
    assert (BTC_EUR.base, BTC_EUR.quote) == (ASSETS["BTC"], ASSETS["EUR"])
    assert EXTRA.code not in SYMBOLS  # the domain ships no test symbol
    with pytest.raises(TypeError):
        SYMBOLS["X"] = BTC_USD  # read-only


def test_side_opposite():
    assert Side.BUY.opposite is Side.SELL
    assert Side.SELL.opposite is Side.BUY
    assert Side("BUY") is Side.BUY and Side.SELL.value == "SELL"


@pytest.mark.parametrize("code", ["BTC-USD", "ETH-USD", "BTC-EUR"])
def test_symbol_finds_each_known_code(code):
    assert symbol(code) is SYMBOLS[code]


@pytest.mark.parametrize("code", ["DOGE-USD", "btc-usd", "", "BTC-USD ", "BTC-USD.FAULTY"])
def test_symbol_refuses_an_unknown_code_naming_the_field(code):
    err = refused(symbol, code)
    assert err.message.startswith("symbol: unknown symbol "), err.message
    assert repr(code) in err.message
    for known in ("BTC-USD", "ETH-USD", "BTC-EUR"):
        assert known in err.message


def test_symbol_names_the_field_it_was_given():
    with pytest.raises(InvalidInput) as caught:
        symbol("XYZ", field="legs.1.pair")
    assert caught.value.message.startswith("legs.1.pair: unknown symbol 'XYZ'")


@pytest.mark.parametrize("code", [None, 7, 1.5, ["BTC-USD"], {"s": 1}, True])
def test_symbol_refuses_a_non_string(code):
    err = refused(symbol, code)
    assert err.message.startswith("symbol: unknown symbol ")


def test_symbol_clips_a_long_code_in_its_message():
    code = "Q" * 500
    err = refused(symbol, code)
    assert "Q" * 40 in err.message
    assert "Q" * 41 not in err.message


def test_extra_symbols_are_known_only_when_given():
    refused(symbol, EXTRA.code)
    assert symbol(EXTRA.code, (EXTRA,)) is EXTRA
    assert symbol("BTC-USD", (EXTRA,)) is BTC_USD  # the fixed ones stay known
    other = Symbol("ETH-EUR", ASSETS["ETH"], ASSETS["EUR"])
    assert symbol("ETH-EUR", (EXTRA, other)) is other
    err = refused(symbol, "NOPE", (EXTRA, other))
    assert EXTRA.code in err.message and "ETH-EUR" in err.message


# --- value, rounded down ------------------------------------------------------


@pytest.mark.parametrize(
    "sym, qty, price, expected",
    [
        (BTC_USD, ONE_BTC, 3_000_000, 3_000_000),  # 1 BTC at 30,000.00
        (BTC_USD, ONE_BTC // 2, 3_000_001, 1_500_000),  # 1,500,000.5 -> down
        (BTC_USD, 1, 3_000_000, 0),  # 0.03 cents -> 0
        (BTC_USD, 33_333_333, 3, 0),  # 0.99999999 -> 0
        (BTC_USD, 33_333_334, 3, 1),  # 1.00000002 -> 1
        (BTC_USD, 150_000_000, 2_000_001, 3_000_001),  # 3,000,001.5 -> down
        (ETH_USD, ONE_ETH, 250_012, 250_012),
        (ETH_USD, ONE_ETH - 1, 250_012, 250_011),  # just under one ETH
        (BTC_EUR, 12_345_678, 9_876_543, 1_219_326),  # 1,219,326.2...
    ],
)
def test_quote_minor_rounds_down(sym, qty, price, expected):
    assert quote_minor(sym, qty, price) == expected
    assert expected == math.floor(exact_value(sym, qty, price))


@pytest.mark.parametrize(
    "sym, qty, price, held",
    [
        (BTC_USD, ONE_BTC, 3_000_000, 3_000_000),  # exact: no rounding
        (BTC_USD, ONE_BTC // 2, 3_000_001, 1_500_001),  # 1,500,000.5 -> up
        (BTC_USD, 1, 3_000_000, 1),  # 0.03 cents -> 1
        (BTC_USD, 150_000_000, 2_000_001, 3_000_002),
        (ETH_USD, ONE_ETH - 1, 250_012, 250_012),
    ],
)
def test_hold_minor_of_a_buy_is_its_value_rounded_up(sym, qty, price, held):
    assert hold_minor(sym, Side.BUY, qty, price) == (sym.quote.code, held)
    assert held == math.ceil(exact_value(sym, qty, price))


@pytest.mark.parametrize("sym", [BTC_USD, ETH_USD, BTC_EUR])
def test_hold_minor_of_a_sell_is_its_quantity_in_base(sym):
    assert hold_minor(sym, Side.SELL, 123_456_789, 3_000_001) == (sym.base.code, 123_456_789)
    assert hold_minor(sym, Side.SELL, 1, 1) == (sym.base.code, 1)


@given(
    sym=st.sampled_from([BTC_USD, ETH_USD, BTC_EUR]),
    qty=st.integers(1, 10**30),
    price=st.integers(1, 10**12),
)
def test_value_and_hold_against_exact_rationals(sym, qty, price):
    exact = exact_value(sym, qty, price)
    assert quote_minor(sym, qty, price) == math.floor(exact)
    code, held = hold_minor(sym, Side.BUY, qty, price)
    assert code == sym.quote.code and held == math.ceil(exact)
    assert held - quote_minor(sym, qty, price) == (0 if exact.denominator == 1 else 1)


@given(
    qty=st.integers(2, 10**12),
    limit=st.integers(1, 10**9),
    data=st.data(),
)
def test_a_buy_hold_covers_every_split_into_fills_at_or_below_its_limit(qty, limit, data):
    # However the order is cut into fills, each at its own price <= limit
    # and each rounded down, what they cost together never exceeds the hold.
    cuts = sorted(data.draw(st.sets(st.integers(1, qty - 1), max_size=8)))
    pieces = [b - a for a, b in zip([0, *cuts], [*cuts, qty])]
    prices = [data.draw(st.integers(1, limit)) for _ in pieces]
    paid = sum(quote_minor(BTC_USD, q, p) for q, p in zip(pieces, prices))
    _, held = hold_minor(BTC_USD, Side.BUY, qty, limit)
    assert 0 <= paid <= held
    assert paid <= math.floor(sum(exact_value(BTC_USD, q, p) for q, p in zip(pieces, prices)))


# --- order size ---------------------------------------------------------------


@pytest.mark.parametrize(
    "sym, qty, price",
    [
        (BTC_USD, 1, 99_999_999),  # 0.99999999 cents
        (BTC_USD, 1, 3_000_000),
        (BTC_USD, 33_333_333, 3),
        (ETH_USD, ONE_ETH // 100 - 1, 100),  # 0.99...99 cents
    ],
)
def test_check_order_size_refuses_a_value_below_one_quote_minor(sym, qty, price):
    assert exact_value(sym, qty, price) < 1
    err = refused(check_order_size, sym, qty, price)
    assert err.message == (
        f"quantity: the order's value is below one minor unit of {sym.quote.code}"
    )


@pytest.mark.parametrize(
    "sym, qty, price",
    [
        (BTC_USD, 1, 100_000_000),  # exactly one cent
        (BTC_USD, 33_333_334, 3),  # 1.00000002 cents
        (ETH_USD, ONE_ETH // 100, 100),
        (BTC_EUR, ONE_BTC, 1),
    ],
)
def test_check_order_size_accepts_one_quote_minor_and_more(sym, qty, price):
    assert exact_value(sym, qty, price) >= 1
    assert check_order_size(sym, qty, price) is None


def test_check_order_size_refuses_a_value_over_max_minor():
    scale = 10**8
    # exactly MAX_MINOR: accepted
    check_order_size(BTC_USD, 1, MAX_MINOR * scale)
    check_order_size(BTC_USD, MAX_MINOR, scale)
    # the value rounded down is MAX_MINOR, but the hold (rounded up) is one more
    price = MAX_MINOR * scale + 1
    assert math.floor(exact_value(BTC_USD, 1, price)) == MAX_MINOR
    assert math.ceil(exact_value(BTC_USD, 1, price)) == MAX_MINOR + 1
    for args in ((BTC_USD, 1, price), (BTC_USD, MAX_MINOR, scale + 1), (BTC_USD, 2, MAX_MINOR * scale)):
        err = refused(check_order_size, *args)
        assert err.message == "quantity: the order's value exceeds the largest amount the ledger holds"


# --- fees ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount, bps, expected",
    [
        (0, 20, 0),
        (999, 10, 0),  # 0.999 -> 0
        (1_000, 10, 1),
        (1_999, 10, 1),
        (19_999, 20, 39),  # 39.998 -> 39
        (3_000_001, 20, 6_000),  # 6000.002 -> 6000
        (123_456_789, 0, 0),
        (123_456_789, BPS, 123_456_789),
        (7, 5_000, 3),  # 3.5 -> 3
    ],
)
def test_fee_minor_rounds_down(amount, bps, expected):
    assert fee_minor(amount, bps) == expected
    assert expected == math.floor(Fraction(amount * bps, 10_000))


@given(amount=st.integers(0, MAX_MINOR), bps=st.integers(0, BPS))
def test_fee_minor_never_exceeds_the_exact_fee(amount, bps):
    fee = fee_minor(amount, bps)
    assert fee == math.floor(Fraction(amount) * bps / 10_000)
    assert 0 <= fee <= amount


@pytest.mark.parametrize("amount, bps", [(-1, 10), (100, -1), (100, BPS + 1)])
def test_fee_minor_asserts_on_impossible_input(amount, bps):
    with pytest.raises(AssertionError):
        fee_minor(amount, bps)
