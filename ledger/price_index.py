"""One side of an order book's price index, kept in pages, so that a submit
reads the best prices and the one page its own price belongs to, not every
price on the side.

The head record holds the best prices and a directory of the other pages,
each listed by its first (best) price. Every price in a page is at or worse
than its first and better than the next page's first; the head's prices are
better than every page's. A page that passes `page_max` prices splits; an
emptied page leaves the directory. The head may be empty while pages remain
(its prices were taken and the next page was not loaded): it takes the next
page's prices over whenever that page is loaded, and until then the best
price is read from the directory.

Only loaded pages can be read or changed; reaching a page that is not loaded
is the caller's bug and raises. What changed is tracked, so the caller
writes the head record and the pages that changed, and nothing else.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from ledger.invariants import InvariantViolation

PAGE_MAX = 128  # prices per page (and in the head) before it splits


class PageNotLoaded(Exception):
    """The caller asked for prices from a page it did not load."""


@dataclass
class PriceIndex:
    descending: bool  # bids are kept highest first, asks lowest first
    head: list[int] = field(default_factory=list)
    directory: list[list[int]] = field(default_factory=list)  # [first price, page id], best first
    next_page: int = 1
    page_max: int = PAGE_MAX
    pages: dict[int, list[int]] = field(default_factory=dict)  # the loaded pages only
    head_changed: bool = False  # the head record: head, directory, next page id
    pages_changed: set[int] = field(default_factory=set)  # a changed id not in `pages` was dropped

    # --- records -------------------------------------------------------------

    @classmethod
    def from_record(cls, rec: dict | None, descending: bool, page_max: int = PAGE_MAX) -> "PriceIndex":
        if rec is None:
            return cls(descending, page_max=page_max)
        index = cls(descending, list(rec["head"]), [list(e) for e in rec["pages"]], rec["next"], page_max)
        index.check()
        return index

    def head_record(self) -> dict:
        return {"head": list(self.head), "pages": [list(e) for e in self.directory], "next": self.next_page}

    def load(self, page_id: int, prices: list[int] | None) -> None:
        if page_id not in self._listed():
            raise InvariantViolation(f"page {page_id} is not in the directory")
        if not prices:
            raise InvariantViolation(f"page {page_id} is listed but stored empty")
        self.pages[page_id] = list(prices)
        self._check_page(page_id)
        self._take_over_head()

    def writes(self) -> tuple[dict | None, dict[int, list[int] | None]]:
        """What to store: the head record (None if unchanged) and each changed
        page's prices (None: clear it)."""
        self.check()
        pages = {pid: list(self.pages[pid]) if pid in self.pages else None for pid in sorted(self.pages_changed)}
        return (self.head_record() if self.head_changed else None), pages

    @classmethod
    def of(cls, prices: list[int], descending: bool, page_max: int = PAGE_MAX) -> "PriceIndex":
        """Every price loaded: for tests and for building a book in memory."""
        index = cls(descending, page_max=page_max)
        for p in prices:
            index.insert(p)
        return index

    # --- what a caller must load --------------------------------------------

    def pages_reaching(self, limit: int) -> list[int]:
        """The unloaded pages holding prices at or better than `limit` (what
        an incoming order with that limit could trade against)."""
        return [pid for first, pid in self.directory if self._reaches(first, limit) and pid not in self.pages]

    def page_for(self, price: int) -> list[int]:
        """The unloaded page `price` would be in ([] if that is the head or loaded)."""
        pid = self._page_of(price)
        return [] if pid is None or pid in self.pages else [pid]

    def pages_for_depth(self, depth: int, batch: int = 2) -> list[int]:
        """The next unloaded pages, if the loaded best prices are fewer than `depth`."""
        have = len(self.head)
        wanted = []
        for _, pid in self.directory:
            if have >= depth or len(wanted) == batch:
                break
            if pid in self.pages:
                have += len(self.pages[pid])
            else:
                wanted.append(pid)
        return wanted

    # --- reading ---------------------------------------------------------------

    def best(self) -> int | None:
        if self.head:
            return self.head[0]
        return self.directory[0][0] if self.directory else None

    def __bool__(self) -> bool:
        return self.best() is not None

    def crossing(self, limit: int) -> list[int]:
        """Prices at or better than `limit`, best first."""
        found = [p for p in self.head if self._reaches(p, limit)]
        for first, pid in self.directory:
            if not self._reaches(first, limit):
                break
            found += [p for p in self._loaded(pid) if self._reaches(p, limit)]
        return found

    def best_prices(self, depth: int) -> list[int]:
        """Up to `depth` best prices, from the head and the loaded pages that follow it."""
        found = list(self.head[:depth])
        for _, pid in self.directory:
            if len(found) >= depth or pid not in self.pages:
                break
            found += self.pages[pid][: depth - len(found)]
        return found

    def prices(self) -> list[int]:
        """Every price, best first; every page must be loaded."""
        found = list(self.head)
        for _, pid in self.directory:
            found += self._loaded(pid)
        return found

    def contains(self, price: int) -> bool:
        return price in self._prices_of(self._page_of(price))

    # --- changing ----------------------------------------------------------------

    def insert(self, price: int) -> None:
        pid = self._page_of(price)
        prices = self._prices_of(pid)
        keyed = [-p for p in prices] if self.descending else prices
        at = bisect.bisect_left(keyed, -price if self.descending else price)
        if at < len(prices) and prices[at] == price:
            raise InvariantViolation(f"price {price} is already indexed")
        prices.insert(at, price)
        self._changed(pid)
        if len(prices) > self.page_max:
            self._split(pid, prices, appended=at == len(prices) - 1)

    def remove(self, price: int) -> None:
        pid = self._page_of(price)
        prices = self._prices_of(pid)
        if price not in prices:
            raise InvariantViolation(f"price {price} is not indexed")
        was_first = prices[0] == price
        prices.remove(price)
        self._changed(pid)
        if pid is not None:
            at = self._listed().index(pid)
            if not prices:
                del self.directory[at]
                del self.pages[pid]
                self.head_changed = True
            elif was_first:
                self.directory[at][0] = prices[0]
                self.head_changed = True
        self._take_over_head()

    # --- invariants --------------------------------------------------------------

    def check(self) -> None:
        """Each loaded part in order and in its range; the directory in order."""
        self._check_sorted("head", self.head)
        if len(self.head) > self.page_max:
            raise InvariantViolation(f"head holds {len(self.head)} prices, over {self.page_max}")
        firsts = [first for first, _ in self.directory]
        self._check_sorted("directory", firsts)
        listed = self._listed()
        ids = set(listed)
        if len(ids) != len(listed) or listed and not 0 < min(listed) <= max(listed) < self.next_page:
            raise InvariantViolation(f"bad page ids {listed} (next {self.next_page})")
        if self.head and firsts and not self._better(self.head[-1], firsts[0]):
            raise InvariantViolation(f"head's last {self.head[-1]} is not better than page first {firsts[0]}")
        if not ids.issuperset(self.pages):
            raise InvariantViolation("a loaded page is not in the directory")
        for pid in self.pages:
            self._check_page(pid)

    # --- inside ------------------------------------------------------------------

    def _better(self, a: int, b: int) -> bool:
        return a > b if self.descending else a < b

    def _reaches(self, price: int, limit: int) -> bool:
        return not self._better(limit, price)

    def _listed(self) -> list[int]:
        return [pid for _, pid in self.directory]

    def _page_of(self, price: int) -> int | None:
        """The page whose range holds `price`; None for the head."""
        found = None
        for first, pid in self.directory:
            if not self._reaches(first, price):
                break
            found = pid
        return found

    def _loaded(self, pid: int) -> list[int]:
        try:
            return self.pages[pid]
        except KeyError:
            raise PageNotLoaded(f"page {pid} is needed but not loaded") from None

    def _prices_of(self, pid: int | None) -> list[int]:
        return self.head if pid is None else self._loaded(pid)

    def _changed(self, pid: int | None) -> None:
        if pid is None:
            self.head_changed = True
        else:
            self.pages_changed.add(pid)

    def _split(self, pid: int | None, prices: list[int], appended: bool) -> None:
        # Prices added at the worst end (a book built in price order) start a
        # new page of their own, so such pages stay full rather than half full.
        last_part = not self.directory if pid is None else pid == self._listed()[-1]
        keep = len(prices) - 1 if appended and last_part else len(prices) // 2
        moved = prices[keep:]
        del prices[keep:]
        new = self.next_page
        self.next_page += 1
        at = 0 if pid is None else self._listed().index(pid) + 1
        self.directory.insert(at, [moved[0], new])
        self.pages[new] = moved
        self.pages_changed.add(new)
        self.head_changed = True

    def _take_over_head(self) -> None:
        if not self.head and self.directory and self.directory[0][1] in self.pages:
            _, pid = self.directory.pop(0)
            self.head = self.pages.pop(pid)
            self.pages_changed.add(pid)
            self.head_changed = True

    def _check_page(self, pid: int) -> None:
        prices = self.pages[pid]
        listed = self._listed()
        at = listed.index(pid)
        self._check_sorted(f"page {pid}", prices)
        if not prices or len(prices) > self.page_max:
            raise InvariantViolation(f"page {pid} holds {len(prices)} prices (1 to {self.page_max})")
        if prices[0] != self.directory[at][0]:
            raise InvariantViolation(f"page {pid} starts at {prices[0]}, listed at {self.directory[at][0]}")
        if at + 1 < len(listed) and not self._better(prices[-1], self.directory[at + 1][0]):
            raise InvariantViolation(f"page {pid} runs into the next page")

    def _check_sorted(self, name: str, prices: list[int]) -> None:
        # Strictly best first is the same as equal to its sorted distinct
        # prices; sorted() runs in C, where a pairwise test ran a Python call
        # per price, several times per submit over heads of up to 128 prices.
        if prices != sorted(set(prices), reverse=self.descending):
            raise InvariantViolation(f"{name} out of order or repeated")
