"""Orders, the book and settlement over HTTP, through the real ingress."""

import time
from decimal import Decimal, localcontext

import httpx
import pytest

from tests.integration.helpers import answers_within, eventually, refused, snapshot
from tests.integration.trading import remaining_hold, status_agrees_with_fills

pytestmark = pytest.mark.live


@pytest.fixture
def traders(client, new_id):
    """A seller with 2 BTC and a buyer with 100,000 USD."""
    seller, buyer = new_id("seller"), new_id("buyer")
    for account, asset, amount in ((seller, "BTC", "2"), (buyer, "USD", "100000")):
        client.open(account)
        client.deposit(account, asset, amount)
    return seller, buyer


def balance(client, account, asset, part="available"):
    return getattr(client.balance(account).balances[asset], part)


def test_resting_sell_partial_fill_by_a_crossing_buy(client, traders, new_id):
    seller, buyer = traders
    sell, buy = new_id("o"), new_id("o")


    rested = client.place_order(sell, seller, "BTC-USD", "SELL", "1.5", "91000.00")
    assert (rested.status, rested.filled, rested.fills) == ("ACCEPTED", "0.00000000", [])
    assert balance(client, seller, "BTC", "reserved") == "1.50000000"
    taken = client.place_order(buy, buyer, "BTC-USD", "BUY", "0.5", "91500")
    assert (taken.status, taken.filled) == ("FILLED", "0.50000000")
    (fill,) = taken.fills
    assert (fill.price, fill.quantity, fill.role) == ("91000.00", "0.50000000", "TAKER")
    # buyer: paid 45,500.00 (the resting price), hold 45,750.00, 250.00 released;
    # received 0.5 BTC less the 20 bps taker fee (0.001 BTC)
    assert client.balance(buyer).balances["USD"].model_dump() == {
        "available": "54500.00", "reserved": "0.00", "total": "54500.00"}
    assert balance(client, buyer, "BTC") == "0.49900000"
    # seller: 45,500.00 less the 10 bps maker fee (45.50)
    assert balance(client, seller, "USD") == "45454.50"
    assert client.balance(seller).balances["BTC"].model_dump() == {
        "available": "0.50000000", "reserved": "1.00000000", "total": "1.50000000"}
    maker = eventually(lambda: (o := client.order_status(sell)).fills and o, "the maker's fill recorded")
    assert (maker.status, maker.filled, maker.fills[0].role) == ("PARTIALLY_FILLED", "0.50000000", "MAKER")
    assert maker.fills[0].trade == fill.trade
    levels = client.book("BTC-USD").asks
    assert {"price": "91000.00", "quantity": "1.00000000"} in [lv.model_dump() for lv in levels]
    # The submit that made the trade wrote it: listed as soon as place answered.
    assert fill.trade in [t.trade for t in client.trades("BTC-USD", limit=100).trades]
    cancelled = client.cancel_order(sell)
    assert (cancelled.status, cancelled.reason) == ("CANCELLED", "cancelled by request")
    assert client.balance(seller).balances["BTC"].model_dump() == {
        "available": "1.50000000", "reserved": "0.00000000", "total": "1.50000000"}
    assert "91000.00" not in [lv.price for lv in client.book("BTC-USD").asks]
    assert "cannot be cancelled" in refused(409, client.cancel_order, sell)
    assert "cannot be cancelled" in refused(409, client.cancel_order, buy)


def test_price_time_priority_across_accounts(client, new_id):
    makers = [new_id("mk") for _ in range(3)]
    for m in makers:
        client.open(m)
        client.deposit(m, "ETH", "1")
    taker = new_id("tk")
    client.open(taker)
    client.deposit(taker, "USD", "10000")
    first, second, better = new_id("o"), new_id("o"), new_id("o")
    client.place_order(first, makers[0], "ETH-USD", "SELL", "0.4", "7702")
    client.place_order(second, makers[1], "ETH-USD", "SELL", "0.4", "7702")
    client.place_order(better, makers[2], "ETH-USD", "SELL", "0.4", "7701")
    done = client.place_order(new_id("o"), taker, "ETH-USD", "BUY", "1", "7702", time_in_force="IOC")
    assert [(f.price, f.quantity) for f in done.fills] == [
        ("7701.00", "0.400000000000000000"), ("7702.00", "0.400000000000000000"),
        ("7702.00", "0.200000000000000000")]
    assert done.status == "FILLED"
    # The submit wrote its trades with the counter: listed, newest first and
    # numbered in turn, as soon as place answered; the cursor pages back.
    newest = client.trades("ETH-USD", limit=2)
    assert [t.trade for t in newest.trades] == [done.fills[2].trade, done.fills[1].trade]
    assert [t.price for t in newest.trades] == ["7702.00", "7702.00"]
    seq = newest.trades[0].seq
    assert [t.seq for t in newest.trades] == [seq, seq - 1] and newest.next == seq - 1
    older = client.trades("ETH-USD", limit=1, before=newest.next)
    assert [(t.seq, t.trade, t.price) for t in older.trades] == [(seq - 2, done.fills[0].trade, "7701.00")]
    assert eventually(lambda: client.order_status(first).status == "FILLED", "first filled")
    assert eventually(lambda: client.order_status(second).filled == "0.200000000000000000", "second partly")
    client.cancel_order(second)


def test_ioc_rest_is_cancelled_and_its_hold_released(client, traders, new_id):
    seller, buyer = traders
    client.place_order(new_id("o"), seller, "BTC-USD", "SELL", "0.1", "93000")
    ioc = client.place_order(new_id("o"), buyer, "BTC-USD", "BUY", "0.3", "93000", time_in_force="IOC")
    assert (ioc.status, ioc.filled) == ("CANCELLED", "0.10000000")
    assert "immediate-or-cancel" in ioc.reason
    assert balance(client, buyer, "USD", "reserved") == "0.00"
    assert balance(client, buyer, "USD") == "90700.00"


def test_self_trade_is_prevented(client, new_id):
    account = new_id("both")
    client.open(account)
    client.deposit(account, "BTC", "1")
    client.deposit(account, "EUR", "100000")
    resting = client.place_order(new_id("o"), account, "BTC-EUR", "SELL", "0.5", "50000")
    crossing = client.place_order(new_id("o"), account, "BTC-EUR", "BUY", "0.5", "50000")
    assert crossing.status == "CANCELLED" and "self-trade" in crossing.reason
    assert crossing.fills == []
    assert client.order_status(resting.order).status == "ACCEPTED"
    assert balance(client, account, "EUR", "reserved") == "0.00"
    client.cancel_order(resting.order)


def test_gtd_order_expires_and_releases_its_hold(client, traders, new_id):
    seller, _ = traders
    order_id = new_id("gtd")
    expires_at_ms = int(time.time() * 1000) + 1500
    placed = client.place_order(order_id, seller, "BTC-USD", "SELL", "0.25", "99999",
                                time_in_force="GTD", expires_at_ms=expires_at_ms)
    assert placed.status == "ACCEPTED" and placed.expires_at_ms == expires_at_ms
    assert balance(client, seller, "BTC", "reserved") == "0.25000000"
    expired = eventually(lambda: (o := client.order_status(order_id)).status == "CANCELLED" and o,
                         "the GTD timer to cancel the order")
    assert "expired" in expired.reason
    assert balance(client, seller, "BTC", "reserved") == "0.00000000"


def test_insufficient_funds_rejects_and_holds_nothing(client, traders, new_id):
    _, buyer = traders
    order_id = new_id("o")
    message = refused(409, client.place_order, order_id, buyer, "BTC-USD", "BUY", "2", "60000")
    assert message.startswith(f"order {order_id} REJECTED: insufficient funds")
    status = client.order_status(order_id)
    assert (status.status, status.fills) == ("REJECTED", [])
    assert balance(client, buyer, "USD", "reserved") == "0.00"


@pytest.mark.parametrize("why", ["frozen", "not open"])
def test_account_frozen_or_unopened_rejects(client, new_id, why):
    account = new_id("acct")
    if why == "frozen":
        client.open(account)
        client.deposit(account, "USD", "10")
        client.freeze(account)
    order_id = new_id("o")
    status = 409 if why == "frozen" else 404  # the contract's status for an unknown account
    message = refused(status, client.place_order, order_id, account, "BTC-USD", "BUY", "0.0001", "100")
    assert why in message
    # asked again, it answers the same refusal: the id stays used
    assert refused(status, client.place_order, order_id, account, "BTC-USD", "BUY", "0.0001", "100") == message
    assert client.order_status(order_id).status == "REJECTED"


@pytest.mark.parametrize("behaviour,reason", [
    ("refuse", "the venue refused the order"),
    ("fail", "the venue failed"),
    ("slow", "the venue did not answer within 1 s"),
])
def test_venue_failures_reject_and_release_the_hold(client, traders, new_id, behaviour, reason):
    _, buyer = traders
    order_id = new_id(behaviour)
    message = refused(409, client.place_order, order_id, buyer, "BTC-USD.FAULTY", "BUY", "0.5", "1000")
    assert message == f"order {order_id} REJECTED: {reason}"
    assert client.balance(buyer).balances["USD"].model_dump() == {
        "available": "100000.00", "reserved": "0.00", "total": "100000.00"}
    assert [e.kind for e in client.history(buyer, limit=2).entries] == ["release", "reserve"]


def test_a_venue_that_accepts_keeps_the_hold_until_cancel(client, traders, new_id):
    _, buyer = traders
    order_id = new_id("ok")
    placed = client.place_order(order_id, buyer, "BTC-USD.FAULTY", "BUY", "0.5", "1000")
    assert placed.status == "ACCEPTED"
    assert balance(client, buyer, "USD", "reserved") == "500.00"
    assert remaining_hold(placed) == ("USD", 50000)
    client.cancel_order(order_id)
    assert balance(client, buyer, "USD", "reserved") == "0.00"


def test_same_order_id_places_once(client, traders, new_id):
    seller, _ = traders
    order_id = new_id("o")
    first = client.place_order(order_id, seller, "BTC-USD", "SELL", "0.3", "98000")
    assert client.place_order(order_id, seller, "BTC-USD", "SELL", "0.3", "98000") == first
    assert balance(client, seller, "BTC", "reserved") == "0.30000000"
    assert "other parameters" in refused(409, client.place_order, order_id, seller, "BTC-USD", "SELL", "0.4", "98000")
    assert status_agrees_with_fills(client.order_status(order_id))
    client.cancel_order(order_id)


def test_unknowns_are_404(client, new_id):
    assert "not found" in refused(404, client.order_status, new_id("none"))
    assert "not found" in refused(404, client.cancel_order, new_id("none"))
    assert "no book" in refused(404, client.book, "DOGE-USD")
    assert "no book" in refused(404, client.trades, "DOGE-USD")


PLACE_CASES = [
    ({"symbol": "DOGE-USD"}, "symbol"),
    ({"side": "buy"}, "side"),
    ({"quantity": 1}, "quantity"),
    ({"quantity": "0.000000001"}, "fraction digits"),
    ({"price": "100.001"}, "price"),
    ({"price": "0"}, "price"),
    ({"quantity": "0.00000001", "price": "0.01"}, "below one minor unit"),
    ({"time_in_force": "FOK"}, "time_in_force"),
    ({"time_in_force": "GTD"}, "expires_at_ms"),
    ({"time_in_force": "GTD", "expires_at_ms": 1000}, "expires_at_ms"),
    ({"expires_at_ms": 99999999999999}, "expires_at_ms"),
    ({"account": "bad id"}, "account"),
    ({"leverage": 10}, "leverage"),
]


@pytest.mark.parametrize("change,word", PLACE_CASES)
def test_bad_place_input_is_400_and_changes_nothing(stack, client, traders, new_id, change, word):
    seller, _ = traders
    body = {"account": seller, "symbol": "BTC-USD", "side": "SELL", "quantity": "0.1", "price": "97000", **change}
    order_id = new_id("o")
    before = snapshot(client, seller)
    response = httpx.post(f"{stack.ingress_url}/Order/{order_id}/place", json=body, timeout=30)
    assert response.status_code == 400, response.text
    assert word in response.json()["message"]
    assert snapshot(client, seller) == before
    assert "not found" in refused(404, client.order_status, order_id)
    done = answers_within(5.0, client.place_order, order_id, seller, "BTC-USD", "SELL", "0.1", "97000")
    assert done.status == "ACCEPTED"
    client.cancel_order(order_id)


@pytest.mark.parametrize("path,body", [
    ("/OrderBook/BTC-USD/book", b'{"depth": 0}'),
    ("/OrderBook/BTC-USD/book", b'{"depth": "5"}'),
    ("/OrderBook/BTC-USD/trades", b'{"limit": 1000}'),
    ("/OrderBook/BTC-USD/trades", b'{"before": 0}'),
    ("/OrderBook/BTC-USD/trades", b'{"limit": "5"}'),
    ("/Order/some-order/cancel", b'{"now": true}'),
    ("/Order/some-order/status", b'[]'),
    ("/Order/bad%20id/status", b'{}'),
])
def test_bad_queries_are_400(stack, path, body):
    response = httpx.post(f"{stack.ingress_url}{path}", content=body,
                          headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["message"]


def test_a_trade_pays_out_even_past_the_inflow_cap(client, new_id):
    """Regression: a refused settlement leg was once dropped unseen (restate's
    gather does not raise), destroying the seller's ETH. Settlement legs are
    never refused now, and every leg's answer is checked."""
    rich, seller = new_id("rich"), new_id("seller")
    top = "99999999999999999999.999999999999999999"  # the largest ETH deposit
    client.open(rich)
    client.deposit(rich, "ETH", top)
    client.deposit(rich, "USD", "1")
    client.open(seller)
    client.deposit(seller, "ETH", "1")
    sell = client.place_order(new_id("o"), seller, "ETH-USD", "SELL", "1", "0.01")
    bought = client.place_order(new_id("o"), rich, "ETH-USD", "BUY", "1", "0.01")
    assert bought.status == "FILLED", bought
    # 1 ETH less the 20 bps taker fee arrives on top of the cap
    with localcontext() as exact:
        exact.prec = 60  # the default 28 digits would round this sum
        assert balance(client, rich, "ETH") == str(Decimal(top) + Decimal("0.998"))
    assert balance(client, rich, "USD") == "0.99"
    assert client.balance(seller).balances["ETH"].total == "0.000000000000000000"
    assert balance(client, seller, "USD") == "0.01"  # the 10 bps maker fee rounds to 0
    assert eventually(lambda: client.order_status(sell.order).status == "FILLED", "maker filled")


def test_a_book_deeper_than_one_index_page(client, new_id):
    """150 asks at distinct prices far above every other test's orders spill
    the ask index past its head (128 prices) into a page: resting there,
    viewing it and cancelling from it all read the right page."""
    from concurrent.futures import ThreadPoolExecutor

    from ledger.price_index import PAGE_MAX

    seller = new_id("deep")
    client.open(seller)
    client.deposit(seller, "BTC", "2")
    orders = {5_000_000 + i: new_id("o") for i in range(PAGE_MAX + 22)}
    with ThreadPoolExecutor(8) as pool:  # arrival order does not matter: every price is new
        placed = list(pool.map(lambda item: client.place_order(
            item[1], seller, "BTC-EUR", "SELL", "0.01", f"{item[0]}.00"), orders.items()))
    assert {o.status for o in placed} == {"ACCEPTED"}
    assert balance(client, seller, "BTC", "reserved") == f"{len(orders) * Decimal('0.01'):.8f}"

    def mine(depth=100):
        return [int(Decimal(lv.price)) for lv in client.book("BTC-EUR", depth).asks
                if Decimal(lv.price) >= 5_000_000]

    prices = sorted(orders)
    shown = mine()
    assert shown == prices[: len(shown)] and shown, "the best asks of mine, in price order"
    # Cancel from the far end (a page past the head) and from the best end.
    for price in prices[-5:] + prices[:100]:
        assert client.cancel_order(orders[price]).status == "CANCELLED"
    left = prices[100:-5]
    assert mine() == left  # what was deep now shows, in order
    assert balance(client, seller, "BTC", "reserved") == f"{len(left) * Decimal('0.01'):.8f}"
    for price in left:
        client.cancel_order(orders[price])
    assert mine() == [] and balance(client, seller, "BTC", "reserved") == "0.00000000"


def test_a_price_level_deeper_than_one_page(client, new_id):
    """More orders at one price than a level page holds: they rest in time
    order across pages, the view sums every page, a cancel takes one from a
    page stored alone, and a buy that takes more than the oldest page fills
    them oldest first, skipping the cancelled one."""
    from ledger.level import PAGE_MAX

    seller, buyer = new_id("lvs"), new_id("lvb")
    client.open(seller)
    client.deposit(seller, "BTC", "2")
    client.open(buyer)
    client.deposit(buyer, "EUR", "3000000")
    price, lot = "4000000.00", Decimal("0.01")
    ids = [new_id("o") for _ in range(2 * PAGE_MAX + 10)]
    for oid in ids:  # one at a time: their time priority is the point
        assert client.place_order(oid, seller, "BTC-EUR", "SELL", str(lot), price).status == "ACCEPTED"

    def level() -> str | None:
        return next((lv.quantity for lv in client.book("BTC-EUR", 100).asks if lv.price == price), None)

    assert level() == f"{len(ids) * lot:.8f}"
    gone = ids[PAGE_MAX + 5]  # in the level's second page, between its oldest and newest
    assert client.cancel_order(gone).status == "CANCELLED"
    assert level() == f"{(len(ids) - 1) * lot:.8f}"
    assert client.book("BTC-EUR").asks[0].price == price, "no other test's ask may sit below ours"
    take = PAGE_MAX + 10
    done = client.place_order(new_id("o"), buyer, "BTC-EUR", "BUY", f"{take * lot:.8f}", price,
                              time_in_force="IOC")
    assert (done.status, len(done.fills)) == ("FILLED", take)
    filled, left = [o for o in ids if o != gone][:take], [o for o in ids if o != gone][take:]
    for oid in (filled[0], filled[PAGE_MAX - 1], filled[PAGE_MAX], filled[-1]):
        assert eventually(lambda: client.order_status(oid).status == "FILLED", f"{oid} filled")
    assert client.order_status(left[0]).status == "ACCEPTED" and client.order_status(gone).status == "CANCELLED"
    assert level() == f"{len(left) * lot:.8f}"
    for oid in left:
        assert client.cancel_order(oid).status == "CANCELLED"
    assert level() is None and balance(client, seller, "BTC", "reserved") == "0.00000000"
    assert balance(client, seller, "BTC") == f"{2 - take * lot:.8f}"
