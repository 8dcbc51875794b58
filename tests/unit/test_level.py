"""A price level kept in pages (ledger/level.py), against a plain list.

Each step loads the level as the book object does (its record, then only
the pages the step needs), changes it, and stores only what it says
changed; the stored level, read back whole, must hold the list's orders in
the list's order, with the right total, and a note of its page for exactly
the orders past page 0.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.invariants import InvariantViolation
from ledger.level import Level, LevelPageNotLoaded, Resting
from ledger.symbols import Side

BUY, PRICE = Side.BUY, 100


class Stored:
    def __init__(self, page_max: int) -> None:
        self.page_max = page_max
        self.record: dict | None = None
        self.pages: dict[int, list] = {}
        self.notes: dict[str, int] = {}

    def load(self) -> Level:
        return Level.from_record(BUY, PRICE, self.record, self.page_max)

    def load_page(self, level: Level, pid: int) -> None:
        level.load(pid, self.pages.get(pid))

    def store(self, level: Level) -> None:
        if level.record_changed:
            self.record = level.record()
        for pid, records in level.page_writes().items():
            if records is None:
                del self.pages[pid]
            else:
                self.pages[pid] = records
        for oid, pid in level.notes.items():
            if pid is None:
                del self.notes[oid]
            else:
                self.notes[oid] = pid

    def whole(self) -> Level:
        level = self.load()
        for pid in level.middle():
            self.load_page(level, pid)
        level.check()
        return level


def order(oid: str, qty: int) -> Resting:
    return Resting(oid, "acct", BUY, PRICE, qty, qty)


def take(stored: Stored, qty: int) -> list[tuple[str, int]]:
    """What matching does: load what `qty` may reach, then take from the front."""
    level = stored.load()
    if level.total_minor <= qty:
        for pid in level.unloaded():
            stored.load_page(level, pid)
    else:
        while True:
            covered, next_page = level.loaded_prefix()
            if next_page is None or covered >= qty:
                break
            stored.load_page(level, next_page)
    taken = []
    while qty and (first := level.first()) is not None:
        n = min(qty, first.remaining_minor)
        qty -= n
        taken.append((first.order_id, n))
        if n == first.remaining_minor:
            level.pop_first()
        else:
            level.replace_first(Resting(first.order_id, first.account, BUY, PRICE, first.quantity_minor,
                                        first.remaining_minor - n))
    level.check()
    stored.store(level)
    return taken


steps = st.lists(st.one_of(
    st.tuples(st.just("rest"), st.integers(1, 5)),
    st.tuples(st.just("take"), st.integers(1, 12)),
    st.tuples(st.just("cancel"), st.integers(0, 10**6)),
), max_size=60)


@settings(max_examples=300, deadline=None)
@given(page_max=st.integers(1, 4), steps=steps)
def test_a_paged_level_is_a_fifo(page_max, steps):
    stored, model, n = Stored(page_max), [], 0  # model: [order id, remaining], oldest first
    for kind, arg in steps:
        if kind == "rest":
            level = stored.load()
            level.append(order(f"o{n}", arg))
            level.check()
            stored.store(level)
            model.append([f"o{n}", arg])
            n += 1
        elif kind == "take":
            want, left = [], arg
            for entry in model:
                if not left:
                    break
                got = min(left, entry[1])
                want.append((entry[0], got))
                left -= got
            assert take(stored, arg) == want
            for oid, got in want:
                entry = next(e for e in model if e[0] == oid)
                entry[1] -= got
            model = [e for e in model if e[1]]
        elif model:
            oid, remaining = model.pop(arg % len(model))
            level = stored.load()
            page = stored.notes.get(oid, 0)
            if page in level.middle():
                stored.load_page(level, page)
            removed = level.remove(oid, page)
            assert (removed.order_id, removed.remaining_minor) == (oid, remaining)
            level.check()
            stored.store(level)
        whole = stored.whole()
        assert [[r.order_id, r.remaining_minor] for r in whole.orders()] == model
        assert whole.total_minor == sum(e[1] for e in model)
        assert (stored.record is None) == (not model)
        where = {r.order_id: pid for pid in whole.ids for r in whole.pages[pid]}
        assert stored.notes == {oid: pid for oid, pid in where.items() if pid != 0}
        assert all(len(stored.pages[pid]) > 0 for pid in whole.middle())
        assert set(stored.pages) == set(whole.middle())


def test_a_rest_reads_no_page_but_the_record_at_any_depth():
    stored = Stored(page_max=3)
    for i in range(30):
        level = stored.load()
        assert level.unloaded() == level.middle()  # only front and tail are held
        level.append(order(f"o{i}", 1))
        stored.store(level)
    assert len(stored.record["front"]) == 3 and len(stored.pages) == 8 and stored.record["total"] == 30


def three_pages() -> Stored:
    stored = Stored(page_max=1)
    for i in range(3):
        level = stored.load()
        level.append(order(f"o{i}", 1))
        stored.store(level)
    return stored


def test_an_emptied_front_stays_until_the_page_after_it_is_read():
    stored = three_pages()
    level = stored.load()
    level.pop_first()  # the front empties; the page after it is not loaded
    with pytest.raises(LevelPageNotLoaded):
        level.first()
    stored.store(level)
    assert (stored.record["ids"], stored.record["front"], sorted(stored.pages)) == ([0, 1, 2], [], [1])
    level = stored.load()
    stored.load_page(level, 1)
    assert level.pop_first().order_id == "o1"
    stored.store(level)
    assert (stored.record["ids"], stored.pages, stored.notes) == ([2], {}, {"o2": 2})


def test_a_bad_record_or_page_is_refused():
    stored = three_pages()
    with pytest.raises(InvariantViolation, match="stored empty"):
        stored.load().load(1, [])
    with pytest.raises(InvariantViolation, match="not stored alone"):
        stored.load().load(2, stored.record["tail"])
    with pytest.raises(InvariantViolation, match="total"):
        Level.from_record(BUY, PRICE, dict(stored.record, ids=[0, 2]), 1)
    with pytest.raises(InvariantViolation, match="holds 2 orders"):
        Level.from_record(BUY, PRICE, dict(stored.record, front=stored.record["front"] * 2, total=4), 1)
    with pytest.raises(InvariantViolation, match="page 1 is empty"):
        Level.from_record(BUY, PRICE, {"ids": [0, 1], "next": 2, "total": 1, "front": stored.record["front"],
                                       "tail": []}, 1)


def test_a_level_stored_before_paging_is_read_into_pages_and_stored_paged():
    orders = [order(f"o{i}", i + 1) for i in range(7)]
    level = Level.from_record(BUY, PRICE, [r.to_record() for r in orders], 3)
    assert level.legacy and list(level.orders()) == orders and level.total_minor == 28
    assert level.ids == [0, 1, 2] and level.unloaded() == []
    stored = Stored(page_max=3)
    stored.store(level)  # as the book does once it changes the level
    whole = stored.whole()
    assert not whole.legacy and list(whole.orders()) == orders
    assert stored.notes == {"o3": 1, "o4": 1, "o5": 1, "o6": 2} and sorted(stored.pages) == [1]
