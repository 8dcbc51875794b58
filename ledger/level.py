"""One price level of an order book: its resting orders in time priority,
kept in pages, so that a submit reads and writes a bounded amount however
many orders wait at that price.

The level's record holds its page ids (oldest first), the next page id, the
total remaining quantity on every page (the book view needs nothing else),
and the orders of two pages: the front (where matching takes from) and the
tail (where an order rests). The pages between them are entries of their
own, read only when matching reaches them or a cancel names one. So a
resting order costs the level's record, at most two pages of orders, at
any depth; a page holds at most `page_max` orders.

An order keeps the page it rested in until it leaves, and a page keeps its
id: a cancel finds the order from the page id the book noted when it
rested (for any page but page 0, the first a level opens). A page that
empties is dropped, except that an emptied front or tail stays, empty,
while the page next to it is not loaded (it becomes the front or the tail
when next read).

Only loaded pages can be read or changed; reaching one that is not loaded
is the caller's bug and raises. What changed is tracked, so the caller
writes exactly the record, the pages and the order-to-page notes that
changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ledger.invariants import InvariantViolation
from ledger.symbols import Side

PAGE_MAX = 64  # orders per page


class LevelPageNotLoaded(Exception):
    """The caller asked for orders from a page it did not load."""


@dataclass(frozen=True)
class Resting:
    order_id: str
    account: str
    side: Side
    price_minor: int
    quantity_minor: int
    remaining_minor: int
    # What the order's hold has paid for its fills so far: quote for a buy,
    # base for a sell. hold - captured is what its final release gives back.
    captured_minor: int = 0

    def to_record(self) -> list:
        return [self.order_id, self.account, self.side.value, self.price_minor,
                self.quantity_minor, self.remaining_minor, self.captured_minor]

    @classmethod
    def from_record(cls, rec: list) -> "Resting":
        oid, account, side, price, qty, remaining, captured = rec
        return cls(oid, account, Side(side), price, qty, remaining, captured)


@dataclass
class Level:
    side: Side
    price_minor: int
    ids: list[int] = field(default_factory=list)  # page ids, oldest first
    next_page: int = 0
    total_minor: int = 0  # remaining quantity over every page, loaded or not
    pages: dict = field(default_factory=dict)  # page id -> list of Resting, the loaded pages only
    page_max: int = PAGE_MAX
    stored_middle: frozenset[int] = frozenset()  # the pages stored as entries of their own when loaded
    changed_pages: set[int] = field(default_factory=set)  # any change also moves the record's total
    notes: dict[str, int | None] = field(default_factory=dict)  # order id -> its page (None: forget)
    legacy: bool = False  # read from a record of before levels were paged: no notes stored

    # --- records -------------------------------------------------------------

    @classmethod
    def from_record(cls, side: Side, price_minor: int, rec: dict | None, page_max: int = PAGE_MAX) -> "Level":
        if rec is None:
            return cls(side, price_minor, page_max=page_max)
        if isinstance(rec, list):
            # A level written before levels were paged: all its orders in one
            # list. It is read into pages as if they had just rested, and so
            # stored paged, with its notes, when the book next changes it.
            level = cls(side, price_minor, page_max=page_max, legacy=True)
            for r in rec:
                level.append(Resting.from_record(r))
            level.check()
            return level
        ids = list(rec["ids"])
        if not ids:
            raise InvariantViolation(f"level {side.value} {price_minor}: stored with no page")
        level = cls(side, price_minor, ids, rec["next"], rec["total"], page_max=page_max,
                    stored_middle=frozenset(ids[1:-1]))
        level.pages[ids[0]] = [Resting.from_record(r) for r in rec["front"]]
        if len(ids) > 1:
            level.pages[ids[-1]] = [Resting.from_record(r) for r in rec["tail"]]
        level.check()
        return level

    @property
    def record_changed(self) -> bool:
        return bool(self.changed_pages)

    def record(self) -> dict | None:
        """The level's own entry; None once it holds no order (clear it).
        The book checks the level as it writes it (ledger/book.py: writes)."""
        if not self.ids:
            return None
        rec = {"ids": list(self.ids), "next": self.next_page, "total": self.total_minor,
               "front": [r.to_record() for r in self.pages[self.ids[0]]]}
        if len(self.ids) > 1:
            rec["tail"] = [r.to_record() for r in self.pages[self.ids[-1]]]
        return rec

    def middle(self) -> list[int]:
        return self.ids[1:-1]

    def load(self, page_id: int, records: list | None) -> None:
        """A page between front and tail, as stored."""
        if page_id not in self.middle():
            raise InvariantViolation(f"level {self.side.value} {self.price_minor}: page {page_id} is not stored alone")
        if not records:
            raise InvariantViolation(f"level {self.side.value} {self.price_minor}: page {page_id} stored empty")
        self.pages[page_id] = [Resting.from_record(r) for r in records]
        # This page only: a sweep loads many, and the book checks the whole
        # level once they are in (check_slice).
        self._check_page(page_id, end=False)

    def page_writes(self) -> dict[int, list | None]:
        """The pages to store alone (their order records) or to clear (None)."""
        middle = set(self.middle())
        out: dict[int, list | None] = {}
        for pid in sorted(middle):
            if pid in self.pages and (pid in self.changed_pages or pid not in self.stored_middle):
                out[pid] = [r.to_record() for r in self.pages[pid]]
        for pid in sorted(self.stored_middle - middle):
            out[pid] = None
        return out

    # --- reading -------------------------------------------------------------

    def is_empty(self) -> bool:
        return not self.ids

    def orders(self) -> Iterator:
        """The loaded orders, oldest first (every order, once all pages are loaded)."""
        for pid in self.ids:
            yield from self.pages.get(pid, ())

    def unloaded(self) -> list[int]:
        return [pid for pid in self.ids if pid not in self.pages]

    def loaded_prefix(self) -> tuple[int, int | None]:
        """The quantity on the loaded pages before the first one that is not
        loaded, and that page's id (None: every page is loaded)."""
        covered = 0
        for pid in self.ids:
            if pid not in self.pages:
                return covered, pid
            covered += sum(r.remaining_minor for r in self.pages[pid])
        return covered, None

    def first(self):
        """The oldest order, or None if the level is empty."""
        pid = self._first_page()
        return None if pid is None else self.pages[pid][0]

    def page_of(self, order_id: str) -> int | None:
        """The loaded page holding `order_id` (for books held whole in memory)."""
        return next((pid for pid, page in self.pages.items() if any(r.order_id == order_id for r in page)), None)

    # --- changes -------------------------------------------------------------

    def append(self, order) -> int:
        """Rest `order` at the back; answers the page it went to."""
        if not self.ids:
            self.ids, self.next_page, self.pages = [0], 1, {0: []}
        tail = self.ids[-1]
        if tail not in self.pages:
            raise LevelPageNotLoaded(f"level {self.side.value} {self.price_minor}: tail page {tail}")
        if len(self.pages[tail]) >= self.page_max:
            tail, self.next_page = self.next_page, self.next_page + 1
            self.ids.append(tail)
            self.pages[tail] = []
        self.pages[tail].append(order)
        self.total_minor += order.remaining_minor
        if tail != 0:
            self.notes[order.order_id] = tail
        self._changed(tail)
        return tail

    def replace_first(self, order) -> None:
        """The oldest order, partly filled."""
        pid = self._first_page()
        before = self.pages[pid][0]
        assert before.order_id == order.order_id and 0 < order.remaining_minor <= before.remaining_minor, (before, order)
        self.pages[pid][0] = order
        self.total_minor -= before.remaining_minor - order.remaining_minor
        self._changed(pid)

    def pop_first(self):
        """Take the oldest order off (it filled)."""
        pid = self._first_page()
        return self._take(pid, 0)

    def remove(self, order_id: str, page_id: int):
        """Take `order_id` off page `page_id`; None if it is not there."""
        if page_id not in self.ids:
            return None
        if page_id not in self.pages:
            raise LevelPageNotLoaded(f"level {self.side.value} {self.price_minor}: page {page_id}")
        for i, r in enumerate(self.pages[page_id]):
            if r.order_id == order_id:
                return self._take(page_id, i)
        return None

    # --- checks --------------------------------------------------------------

    def check(self) -> None:
        where = f"level {self.side.value} {self.price_minor}"
        if len(set(self.ids)) != len(self.ids) or any(not 0 <= pid < self.next_page for pid in self.ids):
            raise InvariantViolation(f"{where}: page ids {self.ids} (next {self.next_page})")
        if self.ids and (self.ids[0] not in self.pages or self.ids[-1] not in self.pages):
            raise InvariantViolation(f"{where}: front or tail page not held")
        for i, pid in enumerate(self.ids):
            if pid in self.pages:
                self._check_page(pid, end=i in (0, len(self.ids) - 1))
        held = sum(r.remaining_minor for r in self.orders())
        if self.unloaded() and not held < self.total_minor or not self.unloaded() and held != self.total_minor:
            raise InvariantViolation(f"{where}: total {self.total_minor}, loaded pages hold {held}")
        if (self.total_minor > 0) != bool(self.ids):
            raise InvariantViolation(f"{where}: total {self.total_minor} on pages {self.ids}")

    def _check_page(self, pid: int, end: bool) -> None:
        """At most page_max orders, all of this level; empty only for a front
        or tail kept while the page next to it is not loaded."""
        where, page = f"level {self.side.value} {self.price_minor}", self.pages[pid]
        if len(page) > self.page_max:
            raise InvariantViolation(f"{where}: page {pid} holds {len(page)} orders")
        if not page and not (end and len(self.ids) >= 3):
            raise InvariantViolation(f"{where}: page {pid} is empty")
        for r in page:
            if r.side is not self.side or r.price_minor != self.price_minor or not 0 < r.remaining_minor <= r.quantity_minor:
                raise InvariantViolation(f"{where}: bad resting order {r}")

    # --- helpers -------------------------------------------------------------

    def _first_page(self) -> int | None:
        for pid in self.ids:
            if pid not in self.pages:
                raise LevelPageNotLoaded(f"level {self.side.value} {self.price_minor}: page {pid}")
            if self.pages[pid]:
                return pid
        return None

    def _take(self, pid: int, i: int):
        order = self.pages[pid].pop(i)
        self.total_minor -= order.remaining_minor
        if pid != 0:
            self.notes[order.order_id] = None
        self._changed(pid)
        self._drop_empty()
        return order

    def _changed(self, pid: int) -> None:
        self.changed_pages.add(pid)

    def _drop_empty(self) -> None:
        kept = [pid for pid in self.ids if pid not in self.pages or self.pages[pid]]
        if kept and kept[0] not in self.pages:
            kept.insert(0, self.ids[0])  # the emptied front stays until the page after it is read
        if kept and kept[-1] not in self.pages:
            kept.append(self.ids[-1])  # likewise the tail
        for pid in set(self.ids) - set(kept):
            del self.pages[pid]
        self.ids = kept
