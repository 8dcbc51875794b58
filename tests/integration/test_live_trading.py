"""Concurrent order flow from several accounts on two symbols, against the
live ledger; at quiescence the trading invariants hold through the public
API alone, and every fill is settled exactly once."""

import asyncio
import uuid
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.client import ApiError, AsyncLedgerClient
from runtime.poll import polls_async
from tests.integration.helpers import eventually_async
from tests.integration.trading import (
    LIVE, MAKER_BPS, SCALES, SYMBOL_ASSETS, TAKER_BPS, minor, remaining_hold, status_agrees_with_fills,
    value_minor,
)

pytestmark = pytest.mark.live

TRADERS = 4
SYMBOLS = ("BTC-USD", "ETH-USD")
FUNDS = {"USD": "1000000", "BTC": "10", "ETH": "100"}
BAND_TICKS = 6  # a narrow band, so most orders cross something
LOT = {"BTC": "0.01", "ETH": "0.1"}

place = st.tuples(st.just("place"), st.integers(0, TRADERS - 1), st.sampled_from(SYMBOLS),
                  st.sampled_from(["BUY", "SELL"]), st.integers(1, 40), st.integers(0, BAND_TICKS),
                  st.sampled_from(["GTC", "GTC", "IOC"]))
cancel = st.tuples(st.just("cancel"), st.integers(0, 59))

STATS = Counter()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.one_of(place, place, cancel), min_size=20, max_size=60))
def test_concurrent_trading_keeps_every_invariant(stack, batch):
    asyncio.run(trade(stack.ingress_url, batch))


def teardown_module():
    print(f"\nlive trading: {STATS['orders']} orders placed, {STATS['fills']} fills settled")


async def trade(url: str, batch: list[tuple], crash=None) -> None:
    """Run `batch` concurrently; `crash`, if given, is called once a few
    orders have answered, with the rest still in flight."""
    run = uuid.uuid4().hex[:8]
    names = [f"tr{run}-{i}" for i in range(TRADERS)]
    async with AsyncLedgerClient(url, max_connections=32, timeout_s=120) as ledger:
        for name in names:
            await ledger.open(name)
            for asset, amount in FUNDS.items():
                await ledger.deposit(name, asset, amount)
        floors = {sym: await _free_band(ledger, sym) for sym in SYMBOLS}
        fees_before = await _fee_balances(ledger)

        placed: list[str] = []
        answered = Counter()

        async def apply(i: int, op: tuple):
            if op[0] == "place":
                _, who, sym, side, lots, tick, tif = op
                base, _ = SYMBOL_ASSETS[sym]
                qty = _times(LOT[base], lots)
                order_id = f"o{run}-{i}"
                placed.append(order_id)
                answer = await _retrying(lambda: ledger.place_order(
                    order_id, names[who], sym, side, qty, str(floors[sym] + tick), tif))
                assert not isinstance(answer, ApiError) or "REJECTED" in answer.message, answer
                answered["orders"] += 1
            else:
                target = f"o{run}-{op[1]}"
                await _retrying(lambda: ledger.cancel_order(target), refusals=(404, 409))

        tasks = [asyncio.create_task(apply(i, op)) for i, op in enumerate(batch)]
        try:
            if crash is not None:
                await eventually_async(lambda: answered["orders"] >= 3, "some orders answered before the crash")
                STATS["in_flight_at_crash"] += sum(not t.done() for t in tasks)
                crash()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=240)
            await _check(ledger, names, placed, fees_before)
        finally:
            # Leave no live order behind, even when a check failed, so the
            # next example's band and other tests' books stay clean.
            for order_id in placed:
                try:
                    await ledger.cancel_order(order_id)
                except ApiError:
                    pass
            for order_id in placed:
                try:
                    left = await ledger.order_status(order_id)
                except ApiError:
                    continue
                assert left.status not in LIVE, left


async def _check(ledger, names: list[str], placed: list[str], fees_before: dict) -> None:
    orders = await _settled_orders(ledger, placed)
    STATS["orders"] += len(orders)
    fills_by_trade = defaultdict(list)
    for o in orders.values():
        assert status_agrees_with_fills(o), o
        for f in o.fills:
            fills_by_trade[f.trade].append((o, f))
    STATS["fills"] += len(fills_by_trade)

    # Each trade: one taker side, one maker side, same price and quantity, opposite sides.
    expected = {n: {a: minor(v, a) for a, v in FUNDS.items()} for n in names}
    fees = defaultdict(int)
    for trade_id, legs in fills_by_trade.items():
        assert sorted(f.role for _, f in legs) == ["MAKER", "TAKER"], (trade_id, legs)
        (o1, f1), (o2, f2) = legs
        assert (f1.price, f1.quantity) == (f2.price, f2.quantity) and o1.side != o2.side, legs
        buy, sell = (o1, o2) if o1.side == "BUY" else (o2, o1)
        buy_fill = f1 if o1 is buy else f2
        base, quote = SYMBOL_ASSETS[buy.symbol]
        qty, price = minor(f1.quantity, base), minor(f1.price, quote)
        value = value_minor(qty, price, base, False)
        buyer_bps = TAKER_BPS if buy_fill.role == "TAKER" else MAKER_BPS
        seller_bps = MAKER_BPS if buyer_bps == TAKER_BPS else TAKER_BPS
        buyer_fee, seller_fee = qty * buyer_bps // 10_000, value * seller_bps // 10_000
        expected[buy.account][quote] -= value
        expected[buy.account][base] += qty - buyer_fee
        expected[sell.account][base] -= qty
        expected[sell.account][quote] += value - seller_fee
        fees[base] += buyer_fee
        fees[quote] += seller_fee

    reserved = {n: defaultdict(int) for n in names}
    for o in orders.values():
        if o.status in LIVE:
            asset, held = remaining_hold(o)
            reserved[o.account][asset] += held
    for name in names:
        view = await ledger.balance(name)
        for asset in FUNDS:
            available, held = view.minor(asset), view.minor(asset, "reserved")
            assert available >= 0 and held >= 0
            assert held == reserved[name][asset], (name, asset, held, reserved[name][asset])
            # exactly once: the totals are what the recorded fills add up to
            assert available + held == expected[name][asset], (name, asset)
    fees_after = await _fee_balances(ledger)
    assert {a: fees_after[a] - fees_before[a] for a in SCALES} == {a: fees[a] for a in SCALES}
    for sym in SYMBOLS:
        book = await ledger.book(sym, depth=1)
        if book.bids and book.asks:
            assert minor(book.bids[0].price, "USD") < minor(book.asks[0].price, "USD"), book

    # Everything still live can be cancelled, and then nothing is held.
    for o in orders.values():
        if o.status in LIVE:
            assert (await ledger.cancel_order(o.order)).status == "CANCELLED"
    for name in names:
        view = await ledger.balance(name)
        assert all(view.minor(a, "reserved") == 0 for a in FUNDS), view


async def _retrying(call, refusals=(409,), timeout_s: float = 120.0):
    """A careful client: the same order id again after a transport error
    (it places once); a refusal is an answer. Gives up, naming the last
    error, if the ledger has not answered within `timeout_s`."""
    last = None
    async for _ in polls_async(timeout_s, interval_s=0.1):
        try:
            return await call()
        except ApiError as err:
            assert err.status_code in refusals, err
            return err
        except Exception as err:  # connection reset or timeout during a crash
            last = err
    raise AssertionError(f"no answer within {timeout_s:g} s; last: {last!r}")


async def _settled_orders(ledger, order_ids: list[str], timeout_s: float = 60.0) -> dict:
    """Every order's status once the makers' fill notices have all arrived:
    each trade is then recorded by both of its orders."""
    roles: Counter = Counter()
    async for _ in polls_async(timeout_s):
        orders = {}
        for order_id in order_ids:
            try:
                orders[order_id] = await ledger.order_status(order_id)
            except ApiError as err:
                assert err.status_code == 404, err  # refused before it was recorded
        roles = Counter(f.trade for o in orders.values() for f in o.fills)
        if all(n == 2 for n in roles.values()):
            return orders
    raise AssertionError(f"fills never recorded by both orders: {roles}")


async def _free_band(ledger, sym: str) -> int:
    """A price floor (whole quote units) whose band lies strictly inside the
    book's spread, so resting orders of other tests cannot trade with ours."""
    book = await ledger.book(sym, depth=1)
    best_bid = int(minor(book.bids[0].price, "USD") // 100) if book.bids else 0
    best_ask = int(minor(book.asks[0].price, "USD") // 100) if book.asks else 10**6
    floor = max(best_bid + 1, 1000)
    assert floor + BAND_TICKS < best_ask, f"no free price band on {sym}: {book}"
    return floor


async def _fee_balances(ledger) -> dict[str, int]:
    try:
        view = await ledger.balance("fees")
    except ApiError:
        return defaultdict(int)
    return defaultdict(int, {a: view.minor(a) for a in view.balances})


def _times(lot: str, n: int) -> str:
    whole, _, frac = lot.partition(".")
    scaled = int(whole + frac) * n
    digits = str(scaled).rjust(len(frac) + 1, "0")
    return f"{digits[:-len(frac)]}.{digits[-len(frac):]}"
