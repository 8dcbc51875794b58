"""The paged price index, against a plain sorted list.

Each operation starts from the stored records, as the OrderBook object
does: the head record, then only the pages the operation needs (a page it
forgot raises PageNotLoaded), and writes back what `writes()` names. After
every step the stored pages, read back whole, must equal the list.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger.invariants import InvariantViolation
from ledger.price_index import PageNotLoaded, PriceIndex


class Stored:
    def __init__(self, descending: bool, page_max: int) -> None:
        self.descending, self.page_max = descending, page_max
        self.head: dict | None = None
        self.pages: dict[int, list[int]] = {}
        self.reads = 0  # pages read since the last reset

    def open(self) -> PriceIndex:
        return PriceIndex.from_record(self.head, self.descending, self.page_max)

    def load(self, index: PriceIndex, pids: list[int]) -> None:
        for pid in pids:
            self.reads += 1
            index.load(pid, self.pages.get(pid))

    def save(self, index: PriceIndex) -> None:
        head, pages = index.writes()
        for pid, prices in pages.items():
            if prices:
                self.pages[pid] = prices
            else:
                self.pages.pop(pid, None)
        if head is not None:
            self.head = head

    def whole(self) -> list[int]:
        index = self.open()
        for _, pid in list(index.directory):
            index.load(pid, self.pages[pid])
        return index.prices()


class IndexMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.stored = None
        self.model: list[int] = []

    @rule(descending=st.booleans(), page_max=st.integers(1, 5))
    @precondition(lambda self: self.stored is None)
    def start(self, descending, page_max):
        self.stored = Stored(descending, page_max)

    def _sorted(self) -> list[int]:
        return sorted(self.model, reverse=self.stored.descending)

    @rule(price=st.integers(1, 60))
    @precondition(lambda self: self.stored is not None)
    def insert(self, price):
        index = self.stored.open()
        self.stored.load(index, index.page_for(price))
        if price in self.model:
            with pytest.raises(InvariantViolation):
                index.insert(price)
            return
        index.insert(price)
        self.stored.save(index)
        self.model.append(price)

    @rule(data=st.data())
    @precondition(lambda self: self.stored is not None and self.model)
    def remove(self, data):
        price = data.draw(st.sampled_from(sorted(self.model)))
        index = self.stored.open()
        self.stored.load(index, index.page_for(price))
        index.remove(price)
        self.stored.save(index)
        self.model.remove(price)

    @rule(limit=st.integers(0, 61))
    @precondition(lambda self: self.stored is not None)
    def cross(self, limit):
        """What a crossing reads: exactly the prices reaching `limit`, and then
        takes them all, as an order sweeping to its limit does."""
        index = self.stored.open()
        self.stored.load(index, index.pages_reaching(limit))
        reaching = [p for p in self._sorted() if (p >= limit if self.stored.descending else p <= limit)]
        assert index.crossing(limit) == reaching
        for p in reaching:
            index.remove(p)
        self.stored.save(index)
        self.model = [p for p in self.model if p not in reaching]

    @rule(depth=st.integers(1, 12))
    @precondition(lambda self: self.stored is not None)
    def best(self, depth):
        index = self.stored.open()
        while wanted := index.pages_for_depth(depth):
            self.stored.load(index, wanted)
        assert index.best_prices(depth) == self._sorted()[:depth]

    @invariant()
    def stored_pages_read_back_as_the_list(self):
        if self.stored is None:
            return
        assert self.stored.whole() == self._sorted()
        index = self.stored.open()
        assert index.best() == (self._sorted() or [None])[0]
        assert bool(index) == bool(self.model)
        listed = {pid for _, pid in index.directory}
        assert listed == set(self.stored.pages), "every page listed is stored, and only those"
        assert all(1 <= len(p) <= self.stored.page_max for p in self.stored.pages.values())
        assert len(index.head) <= self.stored.page_max


IndexMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
TestIndexMachine = IndexMachine.TestCase


def test_an_index_built_in_price_order_keeps_its_pages_full():
    stored = Stored(descending=False, page_max=128)
    for first in range(0, 10_000, 1_000):  # as the benchmark seeds a deep book, in chunks
        index = stored.open()
        stored.load(index, index.page_for(first))
        for p in range(first, first + 1_000):
            index.insert(p)
        stored.save(index)
    index = stored.open()
    assert len(index.head) == 128 and len(index.directory) == -(-10_000 // 128) - 1
    assert all(len(p) == 128 for p in list(stored.pages.values())[:-1])
    assert stored.whole() == list(range(10_000))


def test_a_submit_on_a_deep_side_reads_no_page_unless_its_limit_reaches_one():
    stored = Stored(descending=False, page_max=128)
    index = stored.open()
    for p in range(1_000, 11_000):
        index.insert(p)
    stored.save(index)
    index = stored.open()
    assert index.pages_reaching(999) == [] and index.pages_reaching(1_127) == []
    assert index.page_for(500) == [] and index.page_for(1_050) == []  # both in the head
    assert index.pages_reaching(1_128) == [index.directory[0][1]]
    assert len(index.pages_reaching(1_400)) == 3
    assert index.page_for(5_000) == [index.directory[(5_000 - 1_000) // 128 - 1][1]]


def test_the_head_takes_over_the_next_page_when_it_empties():
    stored = Stored(descending=True, page_max=2)
    index = stored.open()
    for p in (10, 9, 8, 7, 6):
        index.insert(p)
    stored.save(index)
    index = stored.open()
    assert index.head == [10, 9]
    index.remove(10)
    index.remove(9)  # the head is empty; its next page is not loaded
    assert index.head == [] and index.best() == 8
    stored.save(index)
    index = stored.open()
    stored.load(index, index.pages_reaching(8))
    assert index.head == [8, 7] and index.head_changed
    stored.save(index)
    assert stored.whole() == [8, 7, 6]


def test_a_page_not_loaded_is_never_read_as_empty():
    stored = Stored(descending=False, page_max=2)
    index = stored.open()
    for p in (1, 2, 3, 4):
        index.insert(p)
    stored.save(index)
    index = stored.open()
    with pytest.raises(PageNotLoaded):
        index.crossing(4)
    with pytest.raises(PageNotLoaded):
        index.insert(5)
    with pytest.raises(PageNotLoaded):
        index.remove(4)


@pytest.mark.parametrize("record, words", [
    ({"head": [3, 2], "pages": [], "next": 1}, "head out of order"),
    ({"head": [1, 5], "pages": [[4, 1]], "next": 2}, "not better than page first"),
    ({"head": [1], "pages": [[4, 1], [3, 2]], "next": 3}, "directory out of order"),
    ({"head": [1], "pages": [[4, 1], [6, 1]], "next": 2}, "bad page ids"),
    ({"head": [1], "pages": [[4, 2]], "next": 2}, "bad page ids"),
    ({"head": [1, 2, 3], "pages": [], "next": 1}, "over 2"),
])
def test_a_bad_head_record_is_refused_on_load(record, words):
    with pytest.raises(InvariantViolation) as caught:
        PriceIndex.from_record(record, descending=False, page_max=2)
    assert words in str(caught.value)


@pytest.mark.parametrize("page, words", [
    ([5, 6], "starts at 5, listed at 4"),
    ([4, 9], "runs into the next page"),
    ([], "stored empty"),
    ([4, 4], "out of order or repeated"),
])
def test_a_bad_page_is_refused_on_load(page, words):
    index = PriceIndex.from_record({"head": [1], "pages": [[4, 1], [9, 2]], "next": 3}, False, 2)
    with pytest.raises(InvariantViolation) as caught:
        index.load(1, page)
    assert words in str(caught.value)


@given(st.lists(st.integers(1, 10**6), unique=True, max_size=300), st.booleans(), st.integers(1, 9))
@settings(max_examples=100, deadline=None)
def test_of_keeps_every_price_in_order(prices, descending, page_max):
    index = PriceIndex.of(prices, descending, page_max)
    assert index.prices() == sorted(prices, reverse=descending)
    index.check()
