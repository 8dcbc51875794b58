"""An order's lifecycle.

PENDING (being placed) -> ACCEPTED / PARTIALLY_FILLED / FILLED / CANCELLED
(IOC rest, self-trade prevention) or REJECTED (funds, venue); a live order
(ACCEPTED, PARTIALLY_FILLED) -> FILLED or CANCELLED (cancel, GTD expiry).
`filled` is always the sum of the order's recorded fills.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import Enum

from ledger.errors import InvalidInput, Refused
from ledger.invariants import InvariantViolation
from ledger.symbols import Side, Symbol, check_order_size, hold_minor


class TimeInForce(str, Enum):
    GTC = "GTC"  # good till cancelled
    IOC = "IOC"  # immediate or cancel: what does not fill at once is cancelled
    GTD = "GTD"  # good till a date: cancelled by a durable timer at expires_at_ms


class Status(str, Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


LIVE = frozenset({Status.ACCEPTED, Status.PARTIALLY_FILLED})
TERMINAL = frozenset({Status.FILLED, Status.CANCELLED, Status.REJECTED})
# An order can rest for at most this long (GTD), one year.
MAX_GTD_MS = 366 * 24 * 3600 * 1000


@dataclass(frozen=True)
class OrderFill:
    trade_id: str
    price_minor: int
    quantity_minor: int
    role: str  # MAKER or TAKER


@dataclass(frozen=True)
class Order:
    order_id: str
    account: str
    symbol: Symbol
    side: Side
    quantity_minor: int
    price_minor: int
    tif: TimeInForce = TimeInForce.GTC
    expires_at_ms: int | None = None
    status: Status = Status.PENDING
    fills: tuple[OrderFill, ...] = ()
    reason: str | None = None
    # A REJECTED order answers with the status of what refused it, again on
    # every resubmission: 404 for an account never opened, else 409.
    refusal_status: int | None = None

    @property
    def filled_minor(self) -> int:
        return sum(f.quantity_minor for f in self.fills)

    @property
    def hold(self) -> tuple[str, int]:
        return hold_minor(self.symbol, self.side, self.quantity_minor, self.price_minor)

    def same_request(self, other: "Order") -> bool:
        fields = ("account", "symbol", "side", "quantity_minor", "price_minor", "tif", "expires_at_ms")
        return all(getattr(self, f) == getattr(other, f) for f in fields)

    def to_record(self) -> dict:
        check_order(self)
        rec = asdict(self)
        rec.update(symbol=self.symbol.code, side=self.side.value, tif=self.tif.value,
                   status=self.status.value, fills=[list(asdict(f).values()) for f in self.fills])
        return rec

    @classmethod
    def from_record(cls, rec: dict, sym: Symbol) -> "Order":
        order = cls(**{**rec, "symbol": sym, "side": Side(rec["side"]), "tif": TimeInForce(rec["tif"]),
                       "status": Status(rec["status"]),
                       "fills": tuple(OrderFill(*f) for f in rec["fills"])})
        check_order(order)
        return order


def new(order_id: str, account: str, sym: Symbol, side: Side, quantity_minor: int,
        price_minor: int, tif: TimeInForce, expires_at_ms: int | None, now_ms: int) -> Order:
    check_order_size(sym, quantity_minor, price_minor)
    if tif is TimeInForce.GTD:
        if expires_at_ms is None:
            raise InvalidInput("expires_at_ms: required for a GTD order")
        if not now_ms < expires_at_ms <= now_ms + MAX_GTD_MS:
            raise InvalidInput("expires_at_ms: must be in the future, at most a year ahead")
    elif expires_at_ms is not None:
        raise InvalidInput("expires_at_ms: only a GTD order expires")
    return Order(order_id, account, sym, side, quantity_minor, price_minor, tif, expires_at_ms)


def resubmitted(first: Order, again: Order) -> Order:
    if not first.same_request(again):
        raise Refused(f"order {first.order_id} already exists with other parameters")
    return first


def rejected(order: Order, reason: str, refusal_status: int = 409) -> Order:
    _require(order, {Status.PENDING})
    assert refusal_status in (404, 409), refusal_status
    return replace(order, status=Status.REJECTED, reason=reason, refusal_status=refusal_status)


def placed(order: Order, taker_fills: tuple[OrderFill, ...], rested: bool, cancel_reason: str | None) -> Order:
    """The venue took the order: record the fills it made at once."""
    _require(order, {Status.PENDING})
    order = replace(order, fills=taker_fills)
    if order.filled_minor == order.quantity_minor:
        status, reason = Status.FILLED, None
    elif rested:
        status, reason = (Status.PARTIALLY_FILLED if order.fills else Status.ACCEPTED), None
    else:
        status, reason = Status.CANCELLED, cancel_reason
    return _checked(replace(order, status=status, reason=reason))


def maker_fill(order: Order, fill: OrderFill) -> Order | None:
    """A fill the order got while resting; None when already recorded."""
    if any(f.trade_id == fill.trade_id for f in order.fills):
        return None
    _require(order, LIVE | {Status.CANCELLED})
    order = replace(order, fills=order.fills + (fill,))
    if order.filled_minor == order.quantity_minor:
        order = replace(order, status=Status.FILLED)
    elif order.status is Status.ACCEPTED:
        order = replace(order, status=Status.PARTIALLY_FILLED)
    return _checked(order)


def require_cancellable(order: Order) -> None:
    if order.status not in LIVE:
        raise Refused(f"order {order.order_id} is {order.status.value} and cannot be cancelled")


def cancelled(order: Order, reason: str) -> Order:
    _require(order, LIVE)
    return _checked(replace(order, status=Status.CANCELLED, reason=reason))


def check_order(order: Order) -> None:
    filled = order.filled_minor
    ok = 0 <= filled <= order.quantity_minor and all(f.quantity_minor > 0 for f in order.fills)
    if order.status is Status.FILLED:
        ok = ok and filled == order.quantity_minor
    elif order.status in (Status.PENDING, Status.ACCEPTED, Status.REJECTED):
        ok = ok and filled == 0
    elif order.status is Status.PARTIALLY_FILLED:
        ok = ok and 0 < filled < order.quantity_minor
    elif order.status is Status.CANCELLED:
        # the book took the rest off, so the fills can never add up to all
        ok = ok and filled < order.quantity_minor
    ok = ok and (order.refusal_status is not None) == (order.status is Status.REJECTED)
    if not ok or len({f.trade_id for f in order.fills}) != len(order.fills):
        raise InvariantViolation(f"order {order.order_id}: status {order.status.value} "
                                 f"disagrees with fills {order.fills}")


def _require(order: Order, allowed: frozenset[Status] | set[Status]) -> None:
    if order.status not in allowed:
        raise InvariantViolation(f"order {order.order_id}: unexpected from {order.status.value}")


def _checked(order: Order) -> Order:
    check_order(order)
    return order
