"""The order book's pure matching, on slices loaded the way actors/book.py
loads them.

`Store` plays the OrderBook object's state: an index per side, a record
per level with its pages, the notes of which page an order rests in, a
trade counter. A submit loads a slice of it (the crossing levels, the
level pages its quantity reaches, and the incoming order's own level),
matches, and writes back only what the slice says changed, exactly as the
object does; so a level the matching forgot to mark as changed shows up as
a stale store. Index pages hold 2 prices and level pages 2 orders here, so
most tests run over several of both.

Expectations are computed here, by hand or by a naive reference matcher.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import book as pure
from ledger.book import Fees, Fill, Outcome, Resting, Slice, check_slice, crossing_prices
from ledger.invariants import InvariantViolation
from ledger.level import Level
from ledger.price_index import PriceIndex
from ledger.symbols import SYMBOLS, Side

BTC_USD, ETH_USD = SYMBOLS["BTC-USD"], SYMBOLS["ETH-USD"]
BUY, SELL = Side.BUY, Side.SELL
BTC = 100_000_000  # one BTC in satoshi
NO_FEES = Fees()
FEES = Fees(maker_bps=10, taker_bps=20)


def value_down(qty: int, price: int, scale: int = 8) -> int:
    return math.floor(Fraction(qty * price, 10**scale))


def value_up(qty: int, price: int, scale: int = 8) -> int:
    return math.ceil(Fraction(qty * price, 10**scale))


def hold_of(side: Side, qty: int, price: int) -> int:
    return value_up(qty, price) if side is BUY else qty


# --- the store, as actors/book.py keeps it --------------------------------------


@dataclass
class Store:
    """Entries as the object keeps them: one head record (both sides' index
    heads and the trade counter), index pages, level records and the level
    pages stored alone, notes of an order's page, trades."""

    symbol: object = BTC_USD
    page_max: int = 2
    level_page_max: int = 2
    head: dict | None = None  # both sides' index heads and the trade counter
    pages: dict = field(default_factory=dict)  # (side, page id) -> prices
    levels: dict = field(default_factory=dict)  # (side, price) -> the level's record
    level_pages: dict = field(default_factory=dict)  # (side, price, page id) -> order records
    notes: dict = field(default_factory=dict)  # order id -> its level page
    tape: dict = field(default_factory=dict)  # trade number -> record

    @property
    def trades(self) -> int:
        return self.head["trades"] if self.head else 0

    def load(self, levels=(), pages=(), level_pages=(), check=True) -> Slice:
        book = Slice.from_head(self.symbol, self.head, self.page_max)
        book.level_page_max = self.level_page_max
        self.load_more(book, levels, pages, level_pages, check)
        return book

    def load_more(self, book: Slice, levels=(), pages=(), level_pages=(), check=True) -> None:
        for side, pid in pages:
            book.index(side).load(pid, self.pages.get((side, pid)))
        for side, price in levels:
            book.levels[(side, price)] = Level.from_record(side, price, self.levels.get((side, price)),
                                                           self.level_page_max)
        for side, price, pid in level_pages:
            book.levels[(side, price)].load(pid, self.level_pages.get((side, price, pid)))
        if check:
            check_slice(book)

    def store(self, book: Slice) -> None:
        w = pure.writes(book, self.trades)
        for stored, changes in ((self.levels, w.levels), (self.pages, w.pages),
                                (self.level_pages, w.level_pages), (self.notes, w.notes)):
            for key, value in changes.items():
                if value is None:
                    stored.pop(key, None)
                else:
                    stored[key] = value
        self.tape.update(w.trades)
        if w.head is not None:
            self.head = w.head

    def submit(self, order_id, account, side, qty, price, may_rest=True, fees=NO_FEES) -> Outcome:
        """In the object's steps: the head with the level the order would
        rest on and the opposite level at its limit (unchecked: their index
        pages may not be loaded yet); the index pages the limit reaches and
        the page the order would go in; the crossing levels not yet loaded;
        the level pages its quantity reaches."""
        book = self.load(levels=[(side, price), (side.opposite, price)], check=False)
        self.load_more(book, pages=[(side.opposite, p) for p in book.index(side.opposite).pages_reaching(price)]
                       + [(side, p) for p in book.index(side).page_for(price)])
        self.load_more(book, levels=[(side.opposite, p) for p in crossing_prices(book, side, price)
                                     if (side.opposite, p) not in book.levels])
        while more := pure.level_pages_to_load(book, side, price, qty):
            self.load_more(book, level_pages=more)
        outcome = pure.submit(book, Resting(order_id, account, side, price, qty, qty), may_rest, fees)
        self.store(book)
        return outcome

    def cancel(self, side, price, order_id):
        """As the object: the head, the order's noted page (0 without a
        note) and its level; then the index page the price is in, and the
        noted page if the level stores it alone."""
        book = self.load(levels=[(side, price)], check=False)
        page = self.notes.get(order_id, 0)
        stored_alone = page in book.levels[(side, price)].middle()
        self.load_more(book, pages=[(side, p) for p in book.index(side).page_for(price)],
                       level_pages=[(side, price, page)] if stored_alone else [])
        removed = pure.cancel(book, side, price, order_id, page)
        if removed is not None:
            self.store(book)
        return removed

    @property
    def index(self) -> dict:
        """Every price per side, best first, read back from the stored pages."""
        found = {}
        for side in (BUY, SELL):
            index = Slice.from_head(self.symbol, self.head, self.page_max).index(side)
            for _, pid in list(index.directory):
                index.load(pid, self.pages[(side, pid)])
            found[side] = index.prices()
        return found

    # --- reading it back ---

    def level(self, side, price) -> Level:
        """A level read back whole: its record and every page stored alone."""
        level = Level.from_record(side, price, self.levels.get((side, price)), self.level_page_max)
        for pid in level.middle():
            level.load(pid, self.level_pages[(side, price, pid)])
        return level

    def resting(self, side, price) -> list[Resting]:
        return list(self.level(side, price).orders())

    def view(self) -> dict:
        """Each side, best first: [(price, [(order, remaining), ...])]."""
        return {
            side: [(p, [(r.order_id, r.remaining_minor) for r in self.resting(side, p)]) for p in self.index[side]]
            for side in (BUY, SELL)
        }

    def full_slice(self) -> Slice:
        return self.load(list(self.levels), [(s, pid) for s, pid in self.pages], list(self.level_pages))


def filled(fills) -> list[tuple[str, int, int]]:
    """(maker order, quantity, price) per fill, in order."""
    return [(f.maker_order, f.quantity_minor, f.price_minor) for f in fills]


def store_with(*orders) -> Store:
    """A store after resting each (order, account, side, qty, price) in turn."""
    s = Store()
    for oid, account, side, qty, price in orders:
        out = s.submit(oid, account, side, qty, price)
        assert out.rested and not out.fills, (oid, out)
    return s


# --- crossing_prices ------------------------------------------------------------


@pytest.mark.parametrize("page_max", [1, 2, 128])
def test_crossing_prices(page_max):
    asks = Slice.whole(BTC_USD, [], [103, 100, 101], page_max=page_max)
    assert crossing_prices(asks, BUY, 101) == [100, 101]
    assert crossing_prices(asks, BUY, 99) == []
    assert crossing_prices(asks, BUY, 200) == [100, 101, 103]
    bids = Slice.whole(BTC_USD, [100, 103, 101], [], page_max=page_max)
    assert crossing_prices(bids, SELL, 101) == [103, 101]
    assert crossing_prices(bids, SELL, 104) == []
    assert crossing_prices(bids, SELL, 1) == [103, 101, 100]


# --- resting, and the index ---------------------------------------------------


def test_orders_rest_on_sorted_levels_fifo():
    s = store_with(
        ("b1", "alice", BUY, 10, 3_000_000),
        ("b2", "bob", BUY, 20, 3_100_000),
        ("b3", "carol", BUY, 30, 2_900_000),
        ("b4", "dave", BUY, 40, 3_000_000),
        ("s1", "alice", SELL, 5, 3_300_000),
        ("s2", "bob", SELL, 6, 3_200_000),
        ("s3", "carol", SELL, 7, 3_300_000),
    )
    assert s.view() == {
        BUY: [(3_100_000, [("b2", 20)]), (3_000_000, [("b1", 10), ("b4", 40)]), (2_900_000, [("b3", 30)])],
        SELL: [(3_200_000, [("s2", 6)]), (3_300_000, [("s1", 5), ("s3", 7)])],
    }
    assert s.trades == 0
    check_slice(s.full_slice())


def test_a_rested_order_answers_no_release():
    s = Store()
    out = s.submit("b1", "alice", BUY, 10 * BTC, 3_000_000)
    assert out == Outcome((), 0, True, None, None)


# --- price-time priority --------------------------------------------------------


def test_a_buy_takes_the_lowest_ask_first():
    s = store_with(
        ("s1", "alice", SELL, BTC, 3_020_000),
        ("s2", "bob", SELL, BTC, 3_000_000),
        ("s3", "carol", SELL, BTC, 3_010_000),
    )
    out = s.submit("b1", "dave", BUY, BTC, 3_020_000)
    assert filled(out.fills) == [("s2", BTC, 3_000_000)]
    assert s.view()[SELL] == [(3_010_000, [("s3", BTC)]), (3_020_000, [("s1", BTC)])]


def test_a_sell_takes_the_highest_bid_first():
    s = store_with(
        ("b1", "alice", BUY, BTC, 2_980_000),
        ("b2", "bob", BUY, BTC, 3_000_000),
        ("b3", "carol", BUY, BTC, 2_990_000),
    )
    out = s.submit("s1", "dave", SELL, 2 * BTC, 2_985_000)
    assert filled(out.fills) == [("b2", BTC, 3_000_000), ("b3", BTC, 2_990_000)]
    assert out.filled_minor == 2 * BTC and not out.rested
    assert s.view()[BUY] == [(2_980_000, [("b1", BTC)])]


def test_at_one_price_the_earlier_order_fills_first():
    s = store_with(
        ("s1", "alice", SELL, 3, 100_000_000),
        ("s2", "bob", SELL, 4, 100_000_000),
        ("s3", "carol", SELL, 5, 100_000_000),
    )
    out = s.submit("b1", "dave", BUY, 5, 100_000_000)
    assert filled(out.fills) == [("s1", 3, 100_000_000), ("s2", 2, 100_000_000)]
    assert s.view()[SELL] == [(100_000_000, [("s2", 2), ("s3", 5)])]
    # a partly filled order keeps its place at the head
    out = s.submit("b2", "erin", BUY, 3, 100_000_000)
    assert filled(out.fills) == [("s2", 2, 100_000_000), ("s3", 1, 100_000_000)]


def test_a_non_crossing_order_rests_without_touching_the_other_side():
    s = store_with(("s1", "alice", SELL, BTC, 3_000_000))
    out = s.submit("b1", "bob", BUY, BTC, 2_999_999)
    assert out.rested and out.fills == ()
    assert s.view() == {BUY: [(2_999_999, [("b1", BTC)])], SELL: [(3_000_000, [("s1", BTC)])]}


# --- partial fills ------------------------------------------------------------


def test_partial_fill_of_the_maker():
    s = store_with(("s1", "alice", SELL, 5 * BTC, 3_000_000))
    out = s.submit("b1", "bob", BUY, 2 * BTC, 3_000_000)
    assert out.filled_minor == 2 * BTC and not out.rested and out.cancel_reason is None
    assert out.release_minor == 0  # exact price: the hold is all used
    [maker] = s.resting(SELL, 3_000_000)
    assert (maker.remaining_minor, maker.quantity_minor, maker.captured_minor) == (3 * BTC, 5 * BTC, 2 * BTC)
    assert out.fills[0].maker_release_minor is None  # the maker lives on


def test_partial_fill_of_the_taker_rests_the_rest():
    s = store_with(("s1", "alice", SELL, 2 * BTC, 3_000_000))
    out = s.submit("b1", "bob", BUY, 5 * BTC, 3_050_000)
    assert out.filled_minor == 2 * BTC and out.rested and out.release_minor is None
    assert s.view() == {BUY: [(3_050_000, [("b1", 3 * BTC)])], SELL: []}
    [rested] = s.resting(BUY, 3_050_000)
    # it rests having paid 2 BTC at the maker's price
    assert (rested.quantity_minor, rested.remaining_minor, rested.captured_minor) == (5 * BTC, 3 * BTC, 6_000_000)
    assert out.fills[0].maker_release_minor == 0  # the maker (a sell) is done


# --- the trade price ----------------------------------------------------------


def test_a_buy_trades_at_the_resting_price_and_gets_the_difference_back():
    s = store_with(("s1", "alice", SELL, BTC, 3_000_000))
    out = s.submit("b1", "bob", BUY, BTC, 3_100_000)
    [f] = out.fills
    assert (f.price_minor, f.quantity_minor, f.quote_minor) == (3_000_000, BTC, 3_000_000)
    assert out.release_minor == 3_100_000 - 3_000_000
    assert out.cancel_reason is None and not out.rested


def test_a_sell_trades_at_the_resting_bid():
    s = store_with(("b1", "alice", BUY, BTC, 3_100_000))
    out = s.submit("s1", "bob", SELL, BTC, 3_000_000)
    [f] = out.fills
    assert (f.price_minor, f.quote_minor) == (3_100_000, 3_100_000)
    assert (f.buyer, f.buyer_order, f.seller, f.seller_order) == ("alice", "b1", "bob", "s1")
    assert f.taker_side is SELL and f.maker_order == "b1"
    assert out.release_minor == 0  # a sell's hold is its quantity: all delivered
    assert f.maker_release_minor == 0  # the buyer's limit was the trade price


def test_release_is_hold_less_what_fills_paid_with_rounding():
    # Two makers at different odd prices; each fill is rounded down, the
    # taker's hold (at its limit) rounded up; the release is what is left.
    q1, p1, q2, p2, limit = 33_333_333, 2_999_999, 44_444_445, 3_000_001, 3_000_003
    s = store_with(("s1", "alice", SELL, q1, p1), ("s2", "carol", SELL, q2, p2))
    out = s.submit("b1", "bob", BUY, q1 + q2, limit)
    assert [f.quote_minor for f in out.fills] == [value_down(q1, p1), value_down(q2, p2)]
    expected = value_up(q1 + q2, limit) - value_down(q1, p1) - value_down(q2, p2)
    assert out.release_minor == expected
    assert expected > 0


def test_a_buy_maker_release_when_a_fill_ends_it():
    q, p = 150_000_001, 3_000_001  # hold rounds up, fills round down
    s = store_with(("b1", "alice", BUY, q, p))
    first = s.submit("s1", "bob", SELL, 50_000_000, p)
    assert first.fills[0].maker_release_minor is None
    second = s.submit("s2", "carol", SELL, 100_000_001, 1)
    [f] = second.fills
    assert f.maker_order == "b1" and f.price_minor == p
    assert f.maker_release_minor == value_up(q, p) - value_down(50_000_000, p) - value_down(100_000_001, p)
    assert f.maker_release_minor == 1  # 4,500,002 held; 1,500,000 + 3,000,001 paid
    assert s.view() == {BUY: [], SELL: []}
    # the seller, a taker, gets its price improved to the bid and releases 0
    assert second.release_minor == 0 and not second.rested


# --- no crossed book at rest -----------------------------------------------------


def slice_of(bids, asks, levels=None) -> Slice:
    """Each side's prices as given, in its head, unsorted: check_slice judges.
    Each level's orders (a list) go in its one page."""
    return Slice(BTC_USD, PriceIndex(True, list(bids)), PriceIndex(False, list(asks)), {
        (side, price): Level(side, price, [0] if orders else [], 1, sum(o.remaining_minor for o in orders),
                             {0: list(orders)} if orders else {})
        for (side, price), orders in (levels or {}).items()})


def r(oid, side, price, qty=10, remaining=None, account="alice"):
    return Resting(oid, account, side, price, qty, qty if remaining is None else remaining)


def test_check_slice_accepts_a_well_formed_book():
    check_slice(slice_of([101, 100], [102, 103], {
        (BUY, 101): [r("b1", BUY, 101)], (SELL, 102): [r("s1", SELL, 102, 10, 4)], (SELL, 104): [],
    }))


@pytest.mark.parametrize(
    "bids, asks, levels, words",
    [
        ([100, 101], [], {}, "bids index: head out of order"),
        ([], [103, 102], {}, "asks index: head out of order"),
        ([100, 100], [], {}, "bids index: head out of order or repeated"),
        ([101], [101], {}, "crossed book 101 >= 101"),
        ([102, 99], [101], {}, "crossed book 102 >= 101"),
        ([100], [101], {(BUY, 99): [r("b1", BUY, 99)]}, "level BUY 99 not indexed"),
        ([100], [101], {(BUY, 100): [r("s1", SELL, 100)]}, "bad resting order"),
        ([100], [101], {(BUY, 100): [r("b1", BUY, 99)]}, "bad resting order"),
        ([100], [101], {(BUY, 100): [r("b1", BUY, 100, 10, 0)]}, "bad resting order"),
        ([100], [101], {(BUY, 100): [r("b1", BUY, 100, 10, 11)]}, "bad resting order"),
    ],
)
def test_check_slice_rejects(bids, asks, levels, words):
    with pytest.raises(InvariantViolation) as caught:
        check_slice(slice_of(bids, asks, levels))
    assert words in str(caught.value)


def test_after_every_submit_the_best_bid_is_below_the_best_ask():
    s = Store()
    orders = [("o1", "a", BUY, 5, 100), ("o2", "b", SELL, 3, 99), ("o3", "c", SELL, 9, 98),
              ("o4", "a", BUY, 4, 101), ("o5", "b", BUY, 10, 98), ("o6", "c", SELL, 20, 97)]
    for oid, account, side, qty, price in orders:
        s.submit(oid, account, side, qty * BTC, price * 100_000)
        if s.index[BUY] and s.index[SELL]:
            assert s.index[BUY][0] < s.index[SELL][0]
    # o2 takes 3 of o1's 5; o3 takes o1's last 2 and rests 7@98; o4 takes 4
    # of them, o5 the other 3 and rests 7@98; o6 takes those and rests 13@97
    assert s.view() == {BUY: [], SELL: [(9_700_000, [("o6", 13 * BTC)])]}
    assert s.trades == 5


# --- self-trade prevention --------------------------------------------------------


def test_self_trade_cancels_the_rest_of_the_incoming_and_keeps_earlier_fills():
    s = store_with(
        ("s1", "bob", SELL, BTC, 2_990_000),
        ("s2", "alice", SELL, BTC, 3_000_000),
        ("s3", "carol", SELL, BTC, 3_000_000),
    )
    out = s.submit("b1", "alice", BUY, 3 * BTC, 3_000_000)
    assert filled(out.fills) == [("s1", BTC, 2_990_000)]
    assert out.filled_minor == BTC and not out.rested
    assert out.cancel_reason == "self-trade prevented: the rest of the order was cancelled"
    assert out.release_minor == 3 * 3_000_000 - 2_990_000
    # the resting order of alice is untouched, and so is the one behind it
    assert s.view() == {BUY: [], SELL: [(3_000_000, [("s2", BTC), ("s3", BTC)])]}
    [s2, s3] = s.resting(SELL, 3_000_000)
    assert s2 == Resting("s2", "alice", SELL, 3_000_000, BTC, BTC, 0)
    assert s3.captured_minor == 0


def test_self_trade_within_a_level_after_another_account():
    s = store_with(("b1", "bob", BUY, 2, 300_000_000), ("b2", "alice", BUY, 5, 300_000_000))
    out = s.submit("s1", "alice", SELL, 10, 300_000_000)
    assert filled(out.fills) == [("b1", 2, 300_000_000)]
    assert out.cancel_reason.startswith("self-trade prevented")
    assert out.release_minor == 8  # a sell gives back its unfilled quantity
    assert s.view() == {BUY: [(300_000_000, [("b2", 5)])], SELL: []}


def test_self_trade_at_the_first_order_fills_nothing():
    s = store_with(("s1", "alice", SELL, BTC, 3_000_000))
    out = s.submit("b1", "alice", BUY, BTC, 3_100_000, may_rest=True)
    assert out.fills == () and out.filled_minor == 0 and not out.rested
    assert out.release_minor == 3_100_000  # all of the hold
    assert out.cancel_reason.startswith("self-trade prevented")
    assert s.view() == {BUY: [], SELL: [(3_000_000, [("s1", BTC)])]}
    assert s.trades == 0


def test_own_orders_that_do_not_cross_are_no_self_trade():
    s = store_with(("s1", "alice", SELL, BTC, 3_100_000), ("s2", "bob", SELL, BTC, 3_000_000))
    out = s.submit("b1", "alice", BUY, 2 * BTC, 3_050_000)
    assert filled(out.fills) == [("s2", BTC, 3_000_000)]
    assert out.rested and out.cancel_reason is None
    assert s.view() == {BUY: [(3_050_000, [("b1", BTC)])], SELL: [(3_100_000, [("s1", BTC)])]}


# --- immediate or cancel -----------------------------------------------------------


def test_ioc_cancels_its_rest_and_releases_it():
    s = store_with(("s1", "alice", SELL, BTC, 3_000_000))
    out = s.submit("b1", "bob", BUY, 3 * BTC, 3_010_000, may_rest=False)
    assert filled(out.fills) == [("s1", BTC, 3_000_000)]
    assert not out.rested
    assert out.cancel_reason == "immediate-or-cancel: the rest of the order was cancelled"
    assert out.release_minor == 3 * 3_010_000 - 3_000_000
    assert s.view() == {BUY: [], SELL: []}


def test_ioc_with_nothing_to_meet_releases_all():
    s = store_with(("s1", "alice", SELL, BTC, 3_000_000))
    out = s.submit("x", "bob", SELL, 7, 100_000_000, may_rest=False)
    assert out == Outcome((), 0, False, 7, "immediate-or-cancel: the rest of the order was cancelled")
    assert s.view() == {BUY: [], SELL: [(3_000_000, [("s1", BTC)])]}


def test_ioc_filled_entirely_has_no_cancel_reason():
    s = store_with(("s1", "alice", SELL, BTC, 3_000_000))
    out = s.submit("b1", "bob", BUY, BTC, 3_000_001, may_rest=False)
    assert out.filled_minor == BTC and out.cancel_reason is None and not out.rested
    assert out.release_minor == 1


# --- sweeping ---------------------------------------------------------------------


def test_a_sweep_across_levels_removes_the_emptied_ones():
    s = store_with(
        ("s1", "a", SELL, 1 * BTC, 3_000_000),
        ("s2", "b", SELL, 2 * BTC, 3_010_000),
        ("s3", "c", SELL, 1 * BTC, 3_010_000),
        ("s4", "a", SELL, 3 * BTC, 3_020_000),
        ("s5", "b", SELL, 1 * BTC, 3_030_000),
    )
    out = s.submit("b1", "d", BUY, 6 * BTC, 3_020_000)
    assert filled(out.fills) == [
        ("s1", BTC, 3_000_000), ("s2", 2 * BTC, 3_010_000), ("s3", BTC, 3_010_000), ("s4", 2 * BTC, 3_020_000)]
    assert [f.trade_id for f in out.fills] == ["BTC-USD-1", "BTC-USD-2", "BTC-USD-3", "BTC-USD-4"]
    assert s.index[SELL] == [3_020_000, 3_030_000]
    assert (SELL, 3_000_000) not in s.levels and (SELL, 3_010_000) not in s.levels
    assert s.view()[SELL] == [(3_020_000, [("s4", BTC)]), (3_030_000, [("s5", BTC)])]
    assert out.release_minor == 6 * 3_020_000 - (3_000_000 + 3 * 3_010_000 + 2 * 3_020_000)
    # A sweep that empties the whole side and rests the rest.
    out = s.submit("b2", "d", BUY, 3 * BTC, 3_040_000)
    assert [f.quantity_minor for f in out.fills] == [BTC, BTC] and out.rested
    assert s.index[SELL] == [] and s.levels.keys() == {(BUY, 3_040_000)}
    assert s.view()[BUY] == [(3_040_000, [("b2", BTC)])]
    assert [f.trade_id for f in out.fills] == ["BTC-USD-5", "BTC-USD-6"]


def test_the_slice_marks_changed_levels_and_the_index_follows():
    s = store_with(("s1", "a", SELL, BTC, 3_000_000), ("s2", "a", SELL, BTC, 3_010_000))
    book = s.load([(SELL, 3_000_000), (SELL, 3_010_000), (BUY, 3_010_000)])
    out = pure.submit(book, Resting("b1", "b", BUY, 3_010_000, BTC + 1, BTC + 1), True, NO_FEES)
    assert not out.rested and out.filled_minor == BTC + 1
    assert book.asks.prices() == [3_010_000] and book.levels[(SELL, 3_000_000)].is_empty()
    assert (SELL, 3_000_000) in book.changed and (SELL, 3_010_000) in book.changed
    assert book.levels[(SELL, 3_010_000)].first().remaining_minor == BTC - 1
    assert book.bids.prices() == []  # filled entirely: nothing rested


# --- cancel -------------------------------------------------------------------------


def test_cancel_of_a_partly_filled_buy_releases_hold_less_captured():
    q, p = 3 * BTC + 7, 3_000_001
    s = store_with(("b1", "alice", BUY, q, p))
    s.submit("s1", "bob", SELL, BTC + 3, 2_000_000)
    removed = s.cancel(BUY, p, "b1")
    assert removed.order_id == "b1" and removed.remaining_minor == 2 * BTC + 4
    assert removed.captured_minor == value_down(BTC + 3, p)
    assert pure.release_minor(BTC_USD, removed) == value_up(q, p) - value_down(BTC + 3, p)
    assert s.view() == {BUY: [], SELL: []}


def test_cancel_of_a_sell_releases_what_is_unfilled():
    s = store_with(("s1", "alice", SELL, 10, 400_000_000), ("s2", "bob", SELL, 5, 400_000_000))
    s.submit("b1", "carol", BUY, 4, 400_000_000)
    removed = s.cancel(SELL, 400_000_000, "s1")
    assert pure.release_minor(BTC_USD, removed) == 6
    # the level keeps its other order, and stays indexed
    assert s.view()[SELL] == [(400_000_000, [("s2", 5)])]


def test_cancel_from_the_middle_of_a_level_keeps_the_fifo():
    s = store_with(*[(f"b{i}", "x", BUY, i, 100_000_000) for i in (1, 2, 3)])
    assert s.cancel(BUY, 100_000_000, "b2").order_id == "b2"
    assert s.view()[BUY] == [(100_000_000, [("b1", 1), ("b3", 3)])]


def test_cancel_of_an_absent_order_is_none_and_changes_nothing():
    s = store_with(("s1", "alice", SELL, BTC, 3_000_000))
    before = s.view()
    assert s.cancel(SELL, 3_000_000, "nope") is None
    assert s.cancel(BUY, 3_000_000, "s1") is None  # the wrong side
    assert s.cancel(SELL, 3_000_001, "s1") is None  # the wrong price
    book = s.load([])
    assert pure.cancel(book, SELL, 2_000_000, "s1") is None and book.changed == set()
    assert s.view() == before
    # filled, then cancelled: nothing to take off
    s.submit("b1", "bob", BUY, BTC, 3_000_000)
    assert s.cancel(SELL, 3_000_000, "s1") is None


# --- trade ids ----------------------------------------------------------------------


def test_trade_ids_are_sequential_per_symbol():
    btc, eth = Store(), Store(symbol=ETH_USD)
    for s in (btc, eth):
        for i in range(3):
            s.submit(f"s{i}", "alice", SELL, 10**8 if s is btc else 10**18, 100)
    ids = [f.trade_id for f in btc.submit("b1", "bob", BUY, 2 * 10**8, 100).fills]
    ids += [f.trade_id for f in btc.submit("b2", "bob", BUY, 10**8, 100).fills]
    assert ids == ["BTC-USD-1", "BTC-USD-2", "BTC-USD-3"]
    [f] = eth.submit("b1", "bob", BUY, 10**18, 100).fills
    assert (f.trade_id, f.symbol) == ("ETH-USD-1", "ETH-USD")
    assert (btc.trades, eth.trades) == (3, 1)


def test_every_counted_trade_is_written_with_its_number():
    s = Store()
    for i in range(3):
        s.submit(f"s{i}", "alice", SELL, BTC, 100 + i)
    made = s.submit("b1", "bob", BUY, 2 * BTC, 101).fills + s.submit("b2", "bob", BUY, BTC, 102).fills
    assert sorted(s.tape) == [1, 2, 3] == list(range(1, s.trades + 1))
    for seq, fill in enumerate(made, start=1):
        assert pure.stored_trade(BTC_USD, seq, s.tape[seq]) == fill
    assert s.submit("b3", "bob", BUY, BTC, 99).fills == () and sorted(s.tape) == [1, 2, 3]


def test_a_stored_trade_is_checked_when_read_back():
    s = store_with(("s1", "alice", SELL, BTC, 100))
    s.submit("b1", "bob", BUY, BTC, 100)
    with pytest.raises(InvariantViolation, match="counted but not stored"):
        pure.stored_trade(BTC_USD, 2, None)
    with pytest.raises(InvariantViolation, match="trade 2 holds BTC-USD-1"):
        pure.stored_trade(BTC_USD, 2, s.tape[1])
    with pytest.raises(InvariantViolation, match="of BTC-USD"):
        pure.stored_trade(ETH_USD, 1, s.tape[1])


# --- fees ---------------------------------------------------------------------------


def test_fees_when_the_taker_buys():
    q, p = 123_456_789, 3_000_001
    s = store_with(("s1", "maker", SELL, q, p))
    [f] = s.submit("b1", "taker", BUY, q, p, fees=FEES).fills
    value = value_down(q, p)
    assert f.quote_minor == value == 3_703_704  # 3,703,704.9... rounded down
    # the buyer (taker, 20 bps) pays in base; the seller (maker, 10 bps) in quote
    assert f.buyer_fee_minor == math.floor(Fraction(q * 20, 10_000)) == 246_913
    assert f.seller_fee_minor == math.floor(Fraction(value * 10, 10_000)) == 3_703


def test_fees_when_the_taker_sells():
    q, p = 123_456_789, 3_000_001
    s = store_with(("b1", "maker", BUY, q, p))
    [f] = s.submit("s1", "taker", SELL, q, p, fees=FEES).fills
    value = value_down(q, p)
    assert f.buyer_fee_minor == math.floor(Fraction(q * 10, 10_000)) == 123_456
    assert f.seller_fee_minor == math.floor(Fraction(value * 20, 10_000)) == 7_407


def test_no_fees_by_default_and_fees_below_one_unit_round_to_zero():
    s = store_with(("s1", "m", SELL, 499, 100_000_000))
    [f] = s.submit("b1", "t", BUY, 499, 100_000_000, fees=FEES).fills
    assert f.quote_minor == 499
    assert (f.buyer_fee_minor, f.seller_fee_minor) == (0, 0)  # 0.998 and 0.499
    s = store_with(("s1", "m", SELL, BTC, 3_000_000))
    [f] = s.submit("b1", "t", BUY, BTC, 3_000_000).fills
    assert (f.buyer_fee_minor, f.seller_fee_minor) == (0, 0)


# --- records ------------------------------------------------------------------------


def test_resting_and_fill_records_round_trip():
    rest = Resting("o1", "alice", BUY, 3_000_000, 10, 4, 123)
    assert rest.to_record() == ["o1", "alice", "BUY", 3_000_000, 10, 4, 123]
    assert Resting.from_record(rest.to_record()) == rest
    s = store_with(("s1", "m", SELL, BTC, 3_000_000))
    [f] = s.submit("b1", "t", BUY, BTC, 3_000_000, fees=FEES).fills
    rec = f.to_record()
    assert rec["taker_side"] == "BUY" and rec["maker_release_minor"] == 0
    assert Fill.from_record(rec) == f


# --- against a naive reference matcher ------------------------------------------------


class Reference:
    """A list of resting orders scanned in full on every submit."""

    def __init__(self):
        self.book: list[list] = []  # [seq, order, account, side, price, remaining]
        self.seq = 0

    def submit(self, oid, account, side, qty, price, may_rest):
        def crosses(o):
            return o[3] is not side and (o[4] <= price if side is BUY else o[4] >= price)

        makers = sorted((o for o in self.book if crosses(o)),
                        key=lambda o: (o[4] if side is BUY else -o[4], o[0]))
        fills, left, stp = [], qty, False
        for o in makers:
            if not left:
                break
            if o[2] == account:
                stp = True
                break
            n = min(left, o[5])
            fills.append((o[1], n, o[4]))
            o[5] -= n
            left -= n
        self.book = [o for o in self.book if o[5]]
        self.seq += 1
        rested = bool(left) and may_rest and not stp
        if rested:
            self.book.append([self.seq, oid, account, side, price, left])
        return fills, rested

    def view(self):
        out = {}
        for side, best_first in ((BUY, True), (SELL, False)):
            prices = sorted({o[4] for o in self.book if o[3] is side}, reverse=best_first)
            out[side] = [(p, [(o[1], o[5]) for o in sorted(self.book, key=lambda o: o[0])
                              if o[3] is side and o[4] == p]) for p in prices]
        return out


order_steps = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([BUY, SELL]),
        st.integers(1, 6),
        st.integers(97, 103),
        st.booleans(),
        st.integers(0, 3),  # 0: cancel a random resting order first
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps=order_steps, pick=st.randoms(use_true_random=False))
def test_matching_agrees_with_a_naive_reference(steps, pick):
    s, ref = Store(), Reference()
    for n, (account, side, qty, price, may_rest, cancel_first) in enumerate(steps):
        if cancel_first == 0 and ref.book:
            victim = pick.choice(ref.book)
            ref.book.remove(victim)
            removed = s.cancel(victim[3], victim[4], victim[1])
            assert removed is not None and removed.remaining_minor == victim[5]
        oid = f"o{n}"
        want_fills, want_rested = ref.submit(oid, account, side, qty, price, may_rest)
        out = s.submit(oid, account, side, qty, price, may_rest)
        assert filled(out.fills) == want_fills
        assert out.rested == want_rested
        assert out.filled_minor == sum(q for _, q, _ in want_fills)
        assert (out.release_minor is None) == want_rested
        assert s.view() == ref.view()
        check_slice(s.full_slice())


def test_a_level_stored_before_paging_still_matches_and_cancels():
    s = store_with(*[(f"s{i}", "alice", SELL, BTC, 3_000_000) for i in range(5)])
    # The level as it was stored before levels were paged: one list of orders.
    s.levels[(SELL, 3_000_000)] = [r.to_record() for r in s.resting(SELL, 3_000_000)]
    s.level_pages.clear()
    s.notes.clear()
    assert s.cancel(SELL, 3_000_000, "s3").order_id == "s3"  # found without a note
    assert s.view()[SELL] == [(3_000_000, [("s0", BTC), ("s1", BTC), ("s2", BTC), ("s4", BTC)])]
    assert isinstance(s.levels[(SELL, 3_000_000)], dict)  # stored paged since
    assert filled(s.submit("b1", "bob", BUY, 3 * BTC, 3_000_000).fills) == [
        ("s0", BTC, 3_000_000), ("s1", BTC, 3_000_000), ("s2", BTC, 3_000_000)]
