"""An order book's pure matching: price-time priority, partial fills, the
resting order's price as the trade price, no crossed book at rest.

Self-trade prevention: an incoming order never trades with a resting order
of the same account; when it reaches one, the rest of the incoming order is
cancelled ("cancel newest"), which leaves the older order and the book
uncrossed. Fills made before that point stand.

The book is kept as price levels, each a FIFO of resting orders in pages
(ledger/level.py), plus a paged index of prices per side
(ledger/price_index.py). Matching works on a slice: the index pages and the
levels that cross the incoming order's limit, as many of their pages as
its quantity reaches (loaded by the caller: see level_pages_to_load), and
the level it would rest on; it answers the fills and exactly what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ledger.invariants import InvariantViolation
from ledger.level import PAGE_MAX as LEVEL_PAGE_MAX
from ledger.level import Level, Resting
from ledger.price_index import PAGE_MAX, PriceIndex
from ledger.symbols import Side, Symbol, fee_minor, hold_minor, quote_minor


@dataclass(frozen=True)
class Fees:
    maker_bps: int = 0
    taker_bps: int = 0


@dataclass(frozen=True)
class Fill:
    """One trade, with everything its settlement needs."""

    trade_id: str
    symbol: str
    price_minor: int
    quantity_minor: int  # base
    quote_minor: int  # what the buyer pays the seller
    buyer: str
    buyer_order: str
    seller: str
    seller_order: str
    taker_side: Side
    buyer_fee_minor: int  # base, kept from what the buyer receives
    seller_fee_minor: int  # quote, kept from what the seller receives
    # When the fill ends the maker order, what its hold gives back.
    maker_release_minor: int | None = None

    @property
    def maker_order(self) -> str:
        return self.seller_order if self.taker_side is Side.BUY else self.buyer_order

    def to_record(self) -> dict:
        rec = dict(self.__dict__)
        rec["taker_side"] = self.taker_side.value
        return rec

    @classmethod
    def from_record(cls, rec: dict) -> "Fill":
        return cls(**{**rec, "taker_side": Side(rec["taker_side"])})


@dataclass
class Slice:
    """The part of one symbol's book a submit or cancel reads and writes."""

    symbol: Symbol
    bids: PriceIndex  # best (highest) first
    asks: PriceIndex  # best (lowest) first
    levels: dict[tuple[Side, int], Level]  # the loaded levels only
    trade_count: int = 0  # trades ever made on this book: the last trade's number
    changed: set[tuple[Side, int]] = field(default_factory=set)
    made: list[Fill] = field(default_factory=list)  # the trades made on this slice, in order
    level_page_max: int = LEVEL_PAGE_MAX  # of a level this slice opens

    @classmethod
    def from_head(cls, symbol: Symbol, rec: dict | None, page_max: int = PAGE_MAX) -> "Slice":
        """The slice a head record starts (both sides' index heads and the
        trade counter, stored as one entry); levels and pages load later."""
        if rec is None:
            return cls(symbol, PriceIndex(True, page_max=page_max), PriceIndex(False, page_max=page_max), {})
        trades = rec["trades"]
        if not isinstance(trades, int) or isinstance(trades, bool) or trades < 0:
            raise InvariantViolation(f"book {symbol.code}: stored trade counter {trades!r}")
        return cls(symbol, PriceIndex.from_record(rec["bids"], True, page_max),
                   PriceIndex.from_record(rec["asks"], False, page_max), {}, trades)

    def head_record(self) -> dict:
        assert isinstance(self.trade_count, int) and self.trade_count >= 0, self.trade_count
        return {"bids": self.bids.head_record(), "asks": self.asks.head_record(), "trades": self.trade_count}

    @classmethod
    def whole(cls, symbol: Symbol, bids: list[int], asks: list[int], page_max: int = PAGE_MAX,
              level_page_max: int = LEVEL_PAGE_MAX) -> "Slice":
        """A book held whole in memory, every page loaded (tests, models)."""
        return cls(symbol, PriceIndex.of(bids, True, page_max), PriceIndex.of(asks, False, page_max), {},
                   level_page_max=level_page_max)

    def index(self, side: Side) -> PriceIndex:
        return self.bids if side is Side.BUY else self.asks


@dataclass(frozen=True)
class Outcome:
    """What a submit did to the incoming order."""

    fills: tuple[Fill, ...]
    filled_minor: int
    rested: bool
    # Set when the incoming order is finished (filled, or its rest cancelled).
    release_minor: int | None
    cancel_reason: str | None = None


def crossing_prices(book: Slice, taker: Side, limit_minor: int) -> list[int]:
    """The opposite side's prices the incoming order may trade at, best
    first (from the loaded pages: see PriceIndex.pages_reaching)."""
    return book.index(taker.opposite).crossing(limit_minor)


def level_pages_to_load(book: Slice, taker: Side, limit_minor: int, quantity_minor: int) -> list[tuple[Side, int, int]]:
    """The level pages (side, price, page id) an incoming order's match may
    reach that are not loaded yet: every page of a level it may take whole,
    and the next page of the level it stops in while the loaded ones might
    not cover it. The caller loads them and asks again until none is left."""
    opposite, left, wanted = taker.opposite, quantity_minor, []
    for price in crossing_prices(book, taker, limit_minor):
        level = book.levels[(opposite, price)]
        if level.total_minor <= left:
            wanted += [(opposite, price, pid) for pid in level.unloaded()]
            left -= level.total_minor
            if left == 0:
                break
            continue
        covered, next_page = level.loaded_prefix()
        if next_page is not None and covered < left:
            wanted.append((opposite, price, next_page))
        break
    return wanted


def submit(book: Slice, incoming: Resting, may_rest: bool, fees: Fees) -> Outcome:
    """Match `incoming` against the loaded crossing levels, then rest what is
    left if `may_rest` (GTC, GTD) or cancel it (IOC)."""
    assert incoming.remaining_minor == incoming.quantity_minor > 0, incoming
    taker = incoming
    fills: list[Fill] = []
    cancel_reason = None
    opposite = taker.side.opposite
    for price in crossing_prices(book, taker.side, taker.price_minor):
        if taker.remaining_minor == 0 or cancel_reason:
            break
        level = book.levels[(opposite, price)]
        while taker.remaining_minor and (maker := level.first()) is not None:
            if maker.account == taker.account:
                cancel_reason = "self-trade prevented: the rest of the order was cancelled"
                break
            fill, maker, taker = _trade(book, maker, taker, fees)
            fills.append(fill)
            if maker.remaining_minor:
                level.replace_first(maker)
            else:
                level.pop_first()
        book.changed.add((opposite, price))
        if level.is_empty():
            book.index(opposite).remove(price)
    filled_minor = taker.quantity_minor - taker.remaining_minor
    if taker.remaining_minor and may_rest and not cancel_reason:
        rest(book, taker)
        outcome = Outcome(tuple(fills), filled_minor, True, None)
    else:
        if taker.remaining_minor and not cancel_reason:
            cancel_reason = "immediate-or-cancel: the rest of the order was cancelled"
        outcome = Outcome(tuple(fills), filled_minor, False, _release(book.symbol, taker), cancel_reason)
    return outcome


def cancel(book: Slice, side: Side, price_minor: int, order_id: str, page_id: int | None = None) -> Resting | None:
    """Take a resting order off the book; None if it is not resting (filled).
    `page_id`: the level page the book noted when it rested (0 if none); a
    book held whole in memory may leave it out to have the page searched."""
    level = book.levels.get((side, price_minor))
    if level is None:
        return None
    if page_id is None or level.legacy:  # a legacy level is held whole, and has no notes yet
        page_id = level.page_of(order_id)
        if page_id is None:
            return None
    removed = level.remove(order_id, page_id)
    if removed is None:
        return None
    book.changed.add((side, price_minor))
    if level.is_empty():
        book.index(side).remove(price_minor)
    return removed


def release_minor(sym: Symbol, order: Resting) -> int:
    """What an order's hold gives back once it ends (nothing more will fill)."""
    return _release(sym, order)


@dataclass(frozen=True)
class Writes:
    """What a slice's changes come to in stored entries; None clears one."""

    head: dict | None  # the head record, when either index head or the counter changed
    pages: dict[tuple[Side, int], list[int] | None]
    levels: dict[tuple[Side, int], dict | None]  # each level's own record
    level_pages: dict[tuple[Side, int, int], list | None]  # level pages stored alone
    notes: dict[str, int | None]  # the level page an order rests in, past a level's page 0
    trades: dict[int, dict]  # each new trade's record, by its number


def writes(book: Slice, trades_before: int) -> Writes:
    """The entries to write after a submit or a cancel on `book`, and only
    those; `trades_before` is the counter as loaded."""
    assert book.trade_count == trades_before + len(book.made), (book.trade_count, trades_before, book.made)
    check_slice(book)
    trades = {}
    for seq, fill in enumerate(book.made, start=trades_before + 1):
        _check_trade(book.symbol, seq, fill)
        trades[seq] = fill.to_record()
    levels, level_pages, notes = {}, {}, {}
    for key in sorted(book.changed):
        level = book.levels[key]
        if level.record_changed:
            levels[key] = level.record()
        level_pages.update({(*key, pid): recs for pid, recs in level.page_writes().items()})
        notes.update(level.notes)
    pages, head_changed = {}, book.trade_count != trades_before
    for side in (Side.BUY, Side.SELL):
        head, changed_pages = book.index(side).writes()
        head_changed = head_changed or head is not None
        pages.update({(side, pid): prices or None for pid, prices in changed_pages.items()})
    return Writes(book.head_record() if head_changed else None, pages, levels, level_pages, notes, trades)


def stored_trade(sym: Symbol, seq: int, rec: dict | None) -> Fill:
    """Trade number `seq` read back: written with the counter that counts
    it, so a missing or misnumbered record is a broken book."""
    if rec is None:
        raise InvariantViolation(f"book {sym.code}: trade {seq} is counted but not stored")
    fill = Fill.from_record(rec)
    _check_trade(sym, seq, fill)
    return fill


def _check_trade(sym: Symbol, seq: int, fill: Fill) -> None:
    if fill.symbol != sym.code or fill.trade_id != f"{sym.code}-{seq}" or fill.quantity_minor <= 0:
        raise InvariantViolation(f"book {sym.code}: trade {seq} holds {fill.trade_id} of {fill.symbol}")


def check_slice(book: Slice) -> None:
    """Every loaded level is in its index, holds only its side's orders, and
    the book is not crossed at rest."""
    for name, index, descending in (("bids", book.bids, True), ("asks", book.asks, False)):
        if index.descending is not descending:
            raise InvariantViolation(f"{book.symbol.code}: {name} index kept in the wrong order")
        try:
            index.check()
        except InvariantViolation as err:
            raise InvariantViolation(f"{book.symbol.code}: {name} index: {err}") from None
    best_bid, best_ask = book.bids.best(), book.asks.best()
    if best_bid is not None and best_ask is not None and best_bid >= best_ask:
        raise InvariantViolation(f"{book.symbol.code}: crossed book {best_bid} >= {best_ask}")
    for (side, price), level in book.levels.items():
        if (level.side, level.price_minor) != (side, price):
            raise InvariantViolation(f"{book.symbol.code}: level {level.side.value} {level.price_minor} "
                                     f"kept as {side.value} {price}")
        try:
            level.check()
        except InvariantViolation as err:
            raise InvariantViolation(f"{book.symbol.code}: {err}") from None
        if not level.is_empty() and not book.index(side).contains(price):
            raise InvariantViolation(f"{book.symbol.code}: level {side.value} {price} not indexed")


def _trade(book: Slice, maker: Resting, taker: Resting, fees: Fees) -> tuple[Fill, Resting, Resting]:
    sym = book.symbol
    qty = min(maker.remaining_minor, taker.remaining_minor)
    price = maker.price_minor
    value = quote_minor(sym, qty, price)
    buyer, seller = (taker, maker) if taker.side is Side.BUY else (maker, taker)
    buyer_bps, seller_bps = (
        (fees.taker_bps, fees.maker_bps) if taker.side is Side.BUY else (fees.maker_bps, fees.taker_bps)
    )
    maker = _filled(maker, qty, value)
    taker = _filled(taker, qty, value)
    book.trade_count += 1
    fill = Fill(
        trade_id=f"{sym.code}-{book.trade_count}",
        symbol=sym.code,
        price_minor=price,
        quantity_minor=qty,
        quote_minor=value,
        buyer=buyer.account,
        buyer_order=buyer.order_id,
        seller=seller.account,
        seller_order=seller.order_id,
        taker_side=taker.side,
        buyer_fee_minor=fee_minor(qty, buyer_bps),
        seller_fee_minor=fee_minor(value, seller_bps),
        maker_release_minor=None if maker.remaining_minor else _release(sym, maker),
    )
    book.made.append(fill)
    return fill, maker, taker


def _filled(order: Resting, qty: int, value: int) -> Resting:
    paid = value if order.side is Side.BUY else qty
    return replace(order, remaining_minor=order.remaining_minor - qty,
                   captured_minor=order.captured_minor + paid)


def _release(sym: Symbol, order: Resting) -> int:
    _, held = hold_minor(sym, order.side, order.quantity_minor, order.price_minor)
    left = held - order.captured_minor
    assert left >= 0, (order, held)
    return left


def rest(book: Slice, order: Resting) -> None:
    key = (order.side, order.price_minor)
    # The caller loads the level an order may rest on; one it did not load
    # starts empty here, and the index refuses its price if it was not new.
    level = book.levels.setdefault(key, Level(order.side, order.price_minor, page_max=book.level_page_max))
    if level.is_empty():  # a level is indexed exactly while it holds an order
        book.index(order.side).insert(order.price_minor)
    level.append(order)
    book.changed.add(key)
