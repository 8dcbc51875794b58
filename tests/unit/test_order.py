"""An order's lifecycle: validation, idempotent placing, the status its
fills give it, cancelling, and its stored record and view."""

import json

import pytest

from ledger import order as lc
from ledger.errors import InvalidInput, Refused
from ledger.invariants import InvariantViolation
from ledger.order import MAX_GTD_MS, Order, OrderFill, Status, TimeInForce
from ledger.symbols import SYMBOLS, Side

BTC_USD, ETH_USD = SYMBOLS["BTC-USD"], SYMBOLS["ETH-USD"]
BUY, SELL = Side.BUY, Side.SELL
GTC, IOC, GTD = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.GTD
NOW = 1_700_000_000_000
BTC = 100_000_000
_NOTHING = object()


def pending(qty=3 * BTC, price=3_000_000, side=BUY, tif=GTC, expires=None, oid="o1") -> Order:
    return lc.new(oid, "alice", BTC_USD, side, qty, price, tif, expires, NOW)


def fill(trade, qty, price=3_000_000, role="TAKER") -> OrderFill:
    return OrderFill(trade, price, qty, role)


def live(qty=3 * BTC, fills=()) -> Order:
    """Placed and resting, with `fills` taken at once."""
    return lc.placed(pending(qty), tuple(fills), rested=True, cancel_reason=None)


def refused_input(call, *args) -> InvalidInput:
    result = _NOTHING
    with pytest.raises(InvalidInput) as caught:
        result = call(*args)
    assert result is _NOTHING and caught.value.status_code == 400
    return caught.value


# --- new ------------------------------------------------------------------------


def test_new_is_a_pending_order_with_its_request():
    o = pending()
    assert (o.order_id, o.account, o.symbol, o.side) == ("o1", "alice", BTC_USD, BUY)
    assert (o.quantity_minor, o.price_minor, o.tif, o.expires_at_ms) == (3 * BTC, 3_000_000, GTC, None)
    assert (o.status, o.fills, o.reason, o.filled_minor) == (Status.PENDING, (), None, 0)
    assert o.hold == ("USD", 9_000_000)
    assert pending(side=SELL).hold == ("BTC", 3 * BTC)
    assert pending(qty=BTC // 3, price=3_000_001).hold == ("USD", 1_000_001)  # 1,000,000.33 up


@pytest.mark.parametrize("expires", [NOW + 1, NOW + 60_000, NOW + MAX_GTD_MS])
def test_gtd_accepts_an_expiry_in_the_future_within_a_year(expires):
    o = pending(tif=GTD, expires=expires)
    assert o.tif is GTD and o.expires_at_ms == expires and o.status is Status.PENDING


def test_gtd_needs_an_expiry():
    err = refused_input(pending, 3 * BTC, 3_000_000, BUY, GTD, None)
    assert err.message == "expires_at_ms: required for a GTD order"


@pytest.mark.parametrize("expires", [NOW, NOW - 1, 0, NOW + MAX_GTD_MS + 1])
def test_gtd_refuses_an_expiry_now_past_or_over_a_year(expires):
    err = refused_input(pending, 3 * BTC, 3_000_000, BUY, GTD, expires)
    assert err.message == "expires_at_ms: must be in the future, at most a year ahead"


@pytest.mark.parametrize("tif", [GTC, IOC])
def test_only_gtd_takes_an_expiry(tif):
    err = refused_input(pending, 3 * BTC, 3_000_000, BUY, tif, NOW + 1000)
    assert err.message == "expires_at_ms: only a GTD order expires"


@pytest.mark.parametrize("side", [BUY, SELL])
def test_new_refuses_an_order_worth_less_than_a_cent(side):
    # 33 sat at 30,000.00 USD: 0.99 cents
    err = refused_input(pending, 33, 3_000_000, side)
    assert err.message.startswith("quantity: the order's value is below one minor unit of USD")
    assert pending(34, 3_000_000, side).quantity_minor == 34  # 1.02 cents


def test_size_is_checked_before_the_expiry():
    err = refused_input(pending, 1, 1, BUY, GTC, NOW + 1)
    assert err.message.startswith("quantity:")


# --- resubmitted ------------------------------------------------------------------


def test_resubmitted_with_the_same_request_answers_the_first():
    first = lc.placed(pending(), (fill("t1", BTC),), True, None)
    again = pending()
    assert lc.resubmitted(first, again) is first
    gtd = pending(tif=GTD, expires=NOW + 10)
    assert lc.resubmitted(gtd, pending(tif=GTD, expires=NOW + 10)) is gtd


@pytest.mark.parametrize(
    "other",
    [
        dict(account="bob"),
        dict(symbol=ETH_USD),
        dict(side=SELL),
        dict(quantity_minor=3 * BTC + 1),
        dict(price_minor=3_000_001),
        dict(tif=IOC),
        dict(tif=GTD, expires_at_ms=NOW + 10),
    ],
    ids=lambda d: ",".join(d),
)
def test_resubmitted_with_other_parameters_is_refused(other):
    from dataclasses import replace

    first = pending()
    with pytest.raises(Refused) as caught:
        lc.resubmitted(first, replace(first, **other))
    assert caught.value.status_code == 409
    assert caught.value.message == "order o1 already exists with other parameters"


def test_resubmitted_with_another_expiry_is_refused():
    first = pending(tif=GTD, expires=NOW + 10)
    with pytest.raises(Refused):
        lc.resubmitted(first, pending(tif=GTD, expires=NOW + 11))


# --- placed -----------------------------------------------------------------------


def test_placed_filled_at_once():
    o = lc.placed(pending(), (fill("t1", BTC), fill("t2", 2 * BTC, 2_990_000)), False, None)
    assert o.status is Status.FILLED and o.reason is None and o.filled_minor == 3 * BTC


def test_placed_filled_even_if_the_venue_says_rested_is_never_partial():
    o = lc.placed(pending(), (fill("t1", 3 * BTC),), True, None)
    assert o.status is Status.FILLED


def test_placed_partly_filled_and_rested():
    o = lc.placed(pending(), (fill("t1", BTC),), True, None)
    assert o.status is Status.PARTIALLY_FILLED and o.filled_minor == BTC and o.reason is None


def test_placed_rested_without_fills_is_accepted():
    o = lc.placed(pending(), (), True, None)
    assert o.status is Status.ACCEPTED and o.fills == () and o.reason is None


@pytest.mark.parametrize("fills", [(), (fill("t1", BTC),)])
@pytest.mark.parametrize("reason", [
    "immediate-or-cancel: the rest of the order was cancelled",
    "self-trade prevented: the rest of the order was cancelled",
])
def test_placed_not_rested_and_not_filled_is_cancelled_with_the_reason(fills, reason):
    o = lc.placed(pending(tif=IOC), fills, False, reason)
    assert o.status is Status.CANCELLED and o.reason == reason
    assert o.filled_minor == sum(f.quantity_minor for f in fills)


def test_placed_more_than_the_quantity_is_an_invariant_violation():
    with pytest.raises(InvariantViolation):
        lc.placed(pending(), (fill("t1", 2 * BTC), fill("t2", BTC + 1)), False, None)


def test_placed_only_from_pending():
    o = live()
    with pytest.raises(InvariantViolation):
        lc.placed(o, (), True, None)
    rej = lc.rejected(pending(), "insufficient funds")
    assert rej.status is Status.REJECTED and rej.reason == "insufficient funds" and rej.fills == ()
    with pytest.raises(InvariantViolation):
        lc.placed(rej, (), True, None)
    with pytest.raises(InvariantViolation):
        lc.rejected(o, "late")


# --- maker fills ------------------------------------------------------------------


def test_maker_fills_move_accepted_to_partially_filled_to_filled():
    o = live()
    assert o.status is Status.ACCEPTED
    o = lc.maker_fill(o, fill("t1", BTC, role="MAKER"))
    assert o.status is Status.PARTIALLY_FILLED and o.filled_minor == BTC
    o = lc.maker_fill(o, fill("t2", BTC, role="MAKER"))
    assert o.status is Status.PARTIALLY_FILLED and o.filled_minor == 2 * BTC
    o = lc.maker_fill(o, fill("t3", BTC, role="MAKER"))
    assert o.status is Status.FILLED and o.filled_minor == 3 * BTC
    assert [f.trade_id for f in o.fills] == ["t1", "t2", "t3"]


def test_maker_fill_after_a_taker_fill():
    o = live(fills=(fill("t1", BTC),))
    o = lc.maker_fill(o, fill("t9", 2 * BTC, role="MAKER"))
    assert o.status is Status.FILLED
    assert [f.role for f in o.fills] == ["TAKER", "MAKER"]


def test_maker_fill_is_idempotent_by_trade_id():
    o = lc.maker_fill(live(), fill("t1", BTC, role="MAKER"))
    assert lc.maker_fill(o, fill("t1", BTC, role="MAKER")) is None
    # the trade id alone decides: a differing replay is still the same trade
    assert lc.maker_fill(o, fill("t1", 2 * BTC, role="MAKER")) is None
    done = lc.maker_fill(o, fill("t2", 2 * BTC, role="MAKER"))
    assert done.status is Status.FILLED
    assert lc.maker_fill(done, fill("t2", 2 * BTC, role="MAKER")) is None  # even once FILLED
    taker = live(fills=(fill("t0", BTC),))
    assert lc.maker_fill(taker, fill("t0", BTC, role="MAKER")) is None


def test_a_fill_that_settles_after_the_cancel_is_recorded_and_stays_cancelled():
    o = lc.cancelled(lc.maker_fill(live(), fill("t1", BTC, role="MAKER")), "cancelled by request")
    assert o.status is Status.CANCELLED
    late = lc.maker_fill(o, fill("t2", BTC, role="MAKER"))
    assert late.status is Status.CANCELLED and late.reason == "cancelled by request"
    assert late.filled_minor == 2 * BTC
    # an accepted order cancelled, then its fill arrives
    o = lc.maker_fill(lc.cancelled(live(), "expired (good till date)"), fill("t1", BTC, role="MAKER"))
    assert o.status is Status.CANCELLED and o.filled_minor == BTC


def test_late_fills_that_complete_a_cancelled_order_make_it_filled():
    # Unreachable through the book (it only cancels what still rests), but
    # if the fills do add up to the quantity, the order did fill.
    o = lc.cancelled(lc.maker_fill(live(), fill("t1", BTC, role="MAKER")), "cancelled by request")
    done = lc.maker_fill(o, fill("t2", 2 * BTC, role="MAKER"))
    assert done.status is Status.FILLED and done.filled_minor == 3 * BTC


@pytest.mark.parametrize("make", [
    lambda: pending(),
    lambda: lc.rejected(pending(), "no funds"),
    lambda: lc.placed(pending(), (fill("t1", 3 * BTC),), False, None),
])
def test_maker_fill_of_a_new_trade_on_a_pending_rejected_or_filled_order_is_a_violation(make):
    with pytest.raises(InvariantViolation):
        lc.maker_fill(make(), fill("t7", 1, role="MAKER"))


def test_maker_fill_beyond_the_quantity_is_a_violation():
    with pytest.raises(InvariantViolation):
        lc.maker_fill(live(), fill("t1", 3 * BTC + 1, role="MAKER"))


# --- cancelling -------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: live(), lambda: live(fills=(fill("t1", BTC),))])
def test_a_live_order_is_cancellable(make):
    o = make()
    assert lc.require_cancellable(o) is None
    done = lc.cancelled(o, "cancelled by request")
    assert done.status is Status.CANCELLED and done.reason == "cancelled by request"
    assert done.fills == o.fills


@pytest.mark.parametrize("make, shown", [
    (lambda: lc.placed(pending(), (fill("t1", 3 * BTC),), False, None), "FILLED"),
    (lambda: lc.cancelled(live(), "cancelled by request"), "CANCELLED"),
    (lambda: lc.placed(pending(tif=IOC), (), False, "immediate-or-cancel"), "CANCELLED"),
    (lambda: lc.rejected(pending(), "no funds"), "REJECTED"),
    (lambda: pending(), "PENDING"),
])
def test_require_cancellable_refuses_an_order_that_is_not_live(make, shown):
    o = make()
    with pytest.raises(Refused) as caught:
        lc.require_cancellable(o)
    assert caught.value.status_code == 409
    assert caught.value.message == f"order o1 is {shown} and cannot be cancelled"
    if o.status is not Status.PENDING:
        with pytest.raises(InvariantViolation):
            lc.cancelled(o, "again")


# --- the record -------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: pending(),
    lambda: live(fills=(fill("t1", BTC), fill("t2", 5, 2_999_999))),
    lambda: lc.cancelled(live(), "cancelled by request"),
    lambda: lc.rejected(pending(tif=GTD, expires=NOW + 5), "no funds"),
    lambda: lc.placed(pending(), (fill("t1", 3 * BTC),), False, None),
])
def test_record_round_trips_through_json(make):
    o = make()
    rec = json.loads(json.dumps(o.to_record()))
    assert rec["symbol"] == "BTC-USD" and rec["side"] == "BUY" and rec["status"] == o.status.value
    assert rec["fills"] == [[f.trade_id, f.price_minor, f.quantity_minor, f.role] for f in o.fills]
    assert Order.from_record(rec, BTC_USD) == o


def good_record(**changes) -> dict:
    rec = live(fills=(fill("t1", BTC),)).to_record()
    return {**rec, **changes}


@pytest.mark.parametrize("changes", [
    dict(status="FILLED"),  # 1 of 3 BTC filled
    dict(status="ACCEPTED"),  # has a fill
    dict(status="PENDING"),
    dict(status="REJECTED"),
    dict(status="PARTIALLY_FILLED", fills=[]),
    dict(status="PARTIALLY_FILLED", fills=[["t1", 3_000_000, 3 * BTC, "TAKER"]]),
    dict(status="CANCELLED", fills=[["t1", 3_000_000, 3 * BTC, "TAKER"]]),
    dict(fills=[["t1", 3_000_000, BTC, "TAKER"], ["t1", 3_000_000, BTC, "MAKER"]]),  # same trade twice
    dict(fills=[["t1", 3_000_000, BTC, "TAKER"], ["t2", 3_000_000, 0, "MAKER"]]),  # an empty fill
    dict(fills=[["t1", 3_000_000, BTC, "TAKER"], ["t2", 3_000_000, -1, "MAKER"]]),
    dict(status="FILLED", fills=[["t1", 3_000_000, 4 * BTC, "TAKER"]]),  # over the quantity
], ids=lambda d: "-".join(f"{k}={v}"[:30] for k, v in d.items()))
def test_from_record_rejects_a_status_that_disagrees_with_its_fills(changes):
    Order.from_record(good_record(), BTC_USD)  # the unchanged record is fine
    with pytest.raises(InvariantViolation):
        Order.from_record(good_record(**changes), BTC_USD)


def test_to_record_refuses_an_inconsistent_order():
    from dataclasses import replace

    o = replace(live(), status=Status.FILLED)
    with pytest.raises(InvariantViolation):
        o.to_record()
    with pytest.raises(InvariantViolation):
        lc.check_order(replace(live(), status=Status.CANCELLED, fills=(fill("t1", 3 * BTC),)))
    lc.check_order(replace(live(), status=Status.CANCELLED, fills=(fill("t1", 3 * BTC - 1),)))
