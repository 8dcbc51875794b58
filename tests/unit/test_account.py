"""Every account transition, its refusals, and the stored record."""

import json

import pytest

from ledger import account as acc
from ledger.account import MAX_LIVE_HOLDS, Account, Balance, Hold, Kind
from ledger.errors import NotFound, Refused
from ledger.invariants import InvariantViolation
from ledger.money import ASSETS, MAX_MINOR

USD, EUR, BTC = ASSETS["USD"], ASSETS["EUR"], ASSETS["BTC"]
_NOTHING = object()


# --- helpers ------------------------------------------------------------------


def opened(account_id="alice", owner=None) -> Account:
    return acc.open_account(None, account_id, owner).account


def funded(account_id="alice", **minor_by_asset) -> Account:
    """An open account after one deposit per asset given (in minor units)."""
    account = opened(account_id)
    for code, minor in minor_by_asset.items():
        account = acc.deposit(account, ASSETS[code], minor).account
    return account


def held(account: Account, hold_id: str, asset, minor: int) -> Account:
    return acc.reserve(account, hold_id, asset, minor).account


def minor_of(account: Account, code: str) -> tuple[int, int]:
    b = account.balance(code)
    return b.available_minor, b.reserved_minor


def refusal(error, status, call, account, *args):
    """Call a transition that must refuse; prove it returned nothing and
    left the account exactly as it was."""
    before = account.to_record()
    result = _NOTHING
    with pytest.raises(error) as caught:
        result = call(account, *args)
    assert result is _NOTHING
    assert type(caught.value) is error
    assert caught.value.status_code == status
    assert account.to_record() == before
    return caught.value


def applied(change, before: Account, kind: Kind, asset=None, amount=None, ref=None) -> Account:
    """Check what every successful transition promises: one history entry,
    describing itself correctly; hand back the new account."""
    assert change.account.account_id == before.account_id
    assert change.account.history_count == before.history_count + 1
    assert change.entry == acc.Entry(kind, asset, amount, ref)
    return change.account


# --- lifecycle ----------------------------------------------------------------


def test_open_creates_an_empty_open_account():
    change = acc.open_account(None, "alice", "Alice Liddell")
    a = change.account
    assert (a.account_id, a.owner, a.frozen) == ("alice", "Alice Liddell", False)
    assert dict(a.balances) == {} and dict(a.holds) == {}
    assert a.history_count == 1
    assert change.entry == acc.Entry(Kind.OPEN)


def test_opening_an_open_account_changes_nothing():
    a = funded(USD=500)
    assert acc.open_account(a, "alice", None) is None
    assert a.owner is None and minor_of(a, "USD") == (500, 0)


def test_opening_an_open_account_with_another_owner_is_refused_naming_both():
    with pytest.raises(Refused) as caught:
        acc.open_account(funded(USD=500), "alice", "someone else")
    assert caught.value.message == "account alice is already open with no owner, not 'someone else'"
    owned = acc.open_account(None, "alice", "Alice").account
    assert acc.open_account(owned, "alice", "Alice") is None  # the same owner: nothing to say
    with pytest.raises(Refused) as caught:
        acc.open_account(owned, "alice", "Mallory")
    assert caught.value.message == "account alice is already open with owner 'Alice', not 'Mallory'"


def test_require_open_refuses_a_missing_account():
    result = _NOTHING
    with pytest.raises(NotFound) as caught:
        result = acc.require_open(None, "bob")
    assert result is _NOTHING
    assert caught.value.status_code == 404
    assert caught.value.message == "account bob is not open"


def test_require_open_returns_the_account():
    a = opened()
    assert acc.require_open(a, "alice") is a


def test_freeze_and_unfreeze_are_idempotent():
    a = funded(USD=100)
    frozen = applied(acc.freeze(a), a, Kind.FREEZE)
    assert frozen.frozen and minor_of(frozen, "USD") == (100, 0)
    assert acc.freeze(frozen) is None

    thawed = applied(acc.unfreeze(frozen), frozen, Kind.UNFREEZE)
    assert not thawed.frozen and minor_of(thawed, "USD") == (100, 0)
    assert acc.unfreeze(thawed) is None
    assert acc.unfreeze(a) is None


# --- available funds ----------------------------------------------------------


def test_deposit_adds_to_available_only_in_its_asset():
    a = funded(EUR=7)
    after = applied(acc.deposit(a, USD, 1250), a, Kind.DEPOSIT, "USD", 1250)
    assert minor_of(after, "USD") == (1250, 0)
    assert minor_of(after, "EUR") == (7, 0)
    again = applied(acc.deposit(after, USD, 1), after, Kind.DEPOSIT, "USD", 1)
    assert minor_of(again, "USD") == (1251, 0)


def test_withdraw_takes_from_available():
    a = funded(USD=1000)
    after = applied(acc.withdraw(a, USD, 250), a, Kind.WITHDRAW, "USD", 250)
    assert minor_of(after, "USD") == (750, 0)
    emptied = applied(acc.withdraw(after, USD, 750), after, Kind.WITHDRAW, "USD", 750)
    assert minor_of(emptied, "USD") == (0, 0)


def test_withdraw_more_than_available_is_refused_with_both_amounts():
    a = funded(USD=1000)
    err = refusal(Refused, 409, acc.withdraw, a, USD, 2500)
    assert err.message == (
        "insufficient funds on account alice: available 10.00 USD, requested 25.00 USD"
    )


def test_withdraw_of_an_asset_never_held_is_insufficient():
    a = funded(USD=1000)
    err = refusal(Refused, 409, acc.withdraw, a, BTC, 1)
    assert "available 0.00000000 BTC, requested 0.00000001 BTC" in err.message


def test_reserved_funds_cannot_be_withdrawn():
    a = held(funded(USD=1000), "h1", USD, 600)
    err = refusal(Refused, 409, acc.withdraw, a, USD, 401)
    assert "available 4.00 USD, requested 4.01 USD" in err.message
    assert minor_of(acc.withdraw(a, USD, 400).account, "USD") == (0, 600)


def test_debit_takes_from_available_against_a_reference():
    a = funded(USD=1000)
    after = applied(acc.debit(a, USD, 300, "t1"), a, Kind.DEBIT, "USD", 300, "t1")
    assert minor_of(after, "USD") == (700, 0)


def test_debit_more_than_available_is_refused():
    a = funded(USD=1000)
    err = refusal(Refused, 409, acc.debit, a, USD, 1001, "t1")
    assert "insufficient funds on account alice" in err.message


def test_credit_adds_against_a_reference():
    a = opened()
    after = applied(acc.credit(a, EUR, 99, "t1"), a, Kind.CREDIT, "EUR", 99, "t1")
    assert minor_of(after, "EUR") == (99, 0)


def test_refund_adds_against_a_reference():
    a = funded(USD=5)
    after = applied(acc.refund(a, USD, 300, "t1"), a, Kind.REFUND, "USD", 300, "t1")
    assert minor_of(after, "USD") == (305, 0)


# --- frozen -------------------------------------------------------------------


def frozen_with_hold() -> Account:
    a = held(funded(USD=1000), "h1", USD, 400)
    return acc.freeze(a).account


@pytest.mark.parametrize(
    "call, args",
    [
        (acc.deposit, (USD, 1)),
        (acc.withdraw, (USD, 1)),
        (acc.debit, (USD, 1, "t1")),
        (acc.credit, (USD, 1, "t1")),
        (acc.reserve, ("h2", USD, 1)),
    ],
    ids=["deposit", "withdraw", "debit", "credit", "reserve"],
)
def test_a_frozen_account_refuses_movements(call, args):
    err = refusal(Refused, 409, call, frozen_with_hold(), *args)
    assert err.message == "account alice is frozen"


def test_a_frozen_account_still_takes_a_refund():
    a = frozen_with_hold()
    after = applied(acc.refund(a, USD, 50, "t1"), a, Kind.REFUND, "USD", 50, "t1")
    assert after.frozen and minor_of(after, "USD") == (650, 400)


def test_a_frozen_account_still_releases_and_captures():
    a = frozen_with_hold()
    released = applied(acc.release(a, "h1", 100), a, Kind.RELEASE, "USD", 100, "h1")
    assert released.frozen and minor_of(released, "USD") == (700, 300)
    captured = applied(acc.capture(released, "h1", 300), released, Kind.CAPTURE, "USD", 300, "h1")
    assert captured.frozen and minor_of(captured, "USD") == (700, 0)
    assert "h1" not in captured.holds


# --- holds --------------------------------------------------------------------


def test_reserve_moves_available_to_reserved_under_a_hold():
    a = funded(USD=1000, BTC=5)
    after = applied(acc.reserve(a, "h1", USD, 250), a, Kind.RESERVE, "USD", 250, "h1")
    assert minor_of(after, "USD") == (750, 250)
    assert minor_of(after, "BTC") == (5, 0)
    assert dict(after.holds) == {"h1": Hold("h1", "USD", 250)}


def test_reserve_refuses_an_existing_hold_id_even_in_another_asset():
    a = held(funded(USD=1000, BTC=5), "h1", USD, 100)
    err = refusal(Refused, 409, acc.reserve, a, "h1", BTC, 1)
    assert "hold h1 already exists" in err.message


def test_reserve_refuses_more_than_available():
    a = held(funded(USD=1000), "h1", USD, 700)
    err = refusal(Refused, 409, acc.reserve, a, "h2", USD, 301)
    assert "available 3.00 USD, requested 3.01 USD" in err.message


def account_with_holds(count: int, spare_minor: int) -> Account:
    # Built from a record: a thousand reserve() calls would test nothing more.
    record = {
        "owner": None,
        "frozen": False,
        "balances": {"USD": [spare_minor, count]},
        "holds": {f"h{i}": ["USD", 1] for i in range(count)},
        "history_count": count + 2,
    }
    return Account.from_record("alice", record)


def test_reserve_refuses_past_the_live_hold_cap():
    full = account_with_holds(MAX_LIVE_HOLDS, spare_minor=10)
    err = refusal(Refused, 409, acc.reserve, full, "one-more", USD, 1)
    assert str(MAX_LIVE_HOLDS) in err.message


def test_reserve_accepts_the_last_hold_under_the_cap():
    almost = account_with_holds(MAX_LIVE_HOLDS - 1, spare_minor=10)
    after = acc.reserve(almost, "last", USD, 1).account
    assert len(after.holds) == MAX_LIVE_HOLDS
    assert minor_of(after, "USD") == (9, MAX_LIVE_HOLDS)


def test_release_of_all_that_is_left_closes_the_hold():
    a = held(funded(USD=1000), "h1", USD, 400)
    after = applied(acc.release(a, "h1"), a, Kind.RELEASE, "USD", 400, "h1")
    assert minor_of(after, "USD") == (1000, 0)
    assert "h1" not in after.holds


def test_partial_release_keeps_the_rest_held():
    a = held(held(funded(USD=1000), "h1", USD, 400), "h2", USD, 100)
    after = applied(acc.release(a, "h1", 150), a, Kind.RELEASE, "USD", 150, "h1")
    assert minor_of(after, "USD") == (650, 350)
    assert after.holds["h1"] == Hold("h1", "USD", 250)
    assert after.holds["h2"] == Hold("h2", "USD", 100)
    # releasing exactly what is left closes it too
    closed = acc.release(after, "h1", 250).account
    assert "h1" not in closed.holds and minor_of(closed, "USD") == (900, 100)


def test_capture_takes_held_funds_out_of_the_account():
    a = held(funded(USD=1000), "h1", USD, 400)
    partial = applied(acc.capture(a, "h1", 100), a, Kind.CAPTURE, "USD", 100, "h1")
    assert minor_of(partial, "USD") == (600, 300)
    assert partial.holds["h1"].amount_minor == 300
    full = applied(acc.capture(partial, "h1", 300), partial, Kind.CAPTURE, "USD", 300, "h1")
    assert minor_of(full, "USD") == (600, 0)
    assert dict(full.holds) == {}


@pytest.mark.parametrize(
    "call, args",
    [(acc.release, ("nope",)), (acc.release, ("nope", 1)), (acc.capture, ("nope", 1))],
    ids=["release-all", "release-part", "capture"],
)
def test_unknown_hold_is_not_found(call, args):
    a = held(funded(USD=1000), "h1", USD, 400)
    err = refusal(NotFound, 404, call, a, *args)
    assert "nope" in err.message


def test_a_closed_hold_is_unknown():
    a = acc.release(held(funded(USD=1000), "h1", USD, 400), "h1").account
    refusal(NotFound, 404, acc.capture, a, "h1", 1)


@pytest.mark.parametrize("call", [acc.release, acc.capture], ids=["release", "capture"])
def test_more_than_the_hold_is_refused(call):
    a = held(funded(USD=1000), "h1", USD, 400)
    err = refusal(Refused, 409, call, a, "h1", 401)
    assert "hold h1 has 4.00 USD left, requested 4.01 USD" == err.message


# --- the ceiling ----------------------------------------------------------------


@pytest.mark.parametrize(
    "call, extra",
    [(acc.deposit, ()), (acc.credit, ("t1",))],
    ids=["deposit", "credit"],
)
def test_no_inflow_may_pass_max_minor(call, extra):
    # reserved counts too: the ceiling is on the total
    a = held(funded(USD=MAX_MINOR), "h1", USD, 10)
    err = refusal(Refused, 409, call, a, USD, 1, *extra)
    assert "largest USD balance" in err.message
    # another asset is unaffected by USD being full
    assert minor_of(call(a, EUR, MAX_MINOR, *extra).account, "EUR") == (MAX_MINOR, 0)


@pytest.mark.parametrize("call", [acc.refund, acc.receive], ids=["refund", "receive"])
def test_what_a_saga_pays_back_or_out_is_never_capped(call):
    # a refused refund would strand a transfer's money; a refused receive
    # would lose a trade leg whose other side already left a hold
    a = funded(USD=MAX_MINOR)
    assert minor_of(call(a, USD, 5, "t1").account, "USD") == (MAX_MINOR + 5, 0)


def test_a_balance_may_reach_max_minor_exactly():
    a = funded(USD=MAX_MINOR - 1)
    assert minor_of(acc.deposit(a, USD, 1).account, "USD") == (MAX_MINOR, 0)


# --- history counting ---------------------------------------------------------


def test_every_change_counts_exactly_one_history_entry():
    steps = [
        lambda a: acc.deposit(a, USD, 1000),
        lambda a: acc.withdraw(a, USD, 100),
        lambda a: acc.debit(a, USD, 100, "t1"),
        lambda a: acc.credit(a, USD, 100, "t2"),
        lambda a: acc.reserve(a, "h1", USD, 300),
        lambda a: acc.release(a, "h1", 100),
        lambda a: acc.capture(a, "h1", 100),
        lambda a: acc.freeze(a),
        lambda a: acc.refund(a, USD, 100, "t1"),
        lambda a: acc.release(a, "h1"),
        lambda a: acc.unfreeze(a),
    ]
    a = opened()
    assert a.history_count == 1
    for n, step in enumerate(steps, start=2):
        a = step(a).account
        assert a.history_count == n
    assert minor_of(a, "USD") == (900, 0)


def test_refusals_and_no_ops_count_no_history():
    a = funded(USD=100)
    count = a.history_count
    assert acc.unfreeze(a) is None
    assert acc.open_account(a, "alice", None) is None
    refusal(Refused, 409, acc.withdraw, a, USD, 101)
    assert a.history_count == count


# --- the stored record --------------------------------------------------------


def rich_account() -> Account:
    a = acc.open_account(None, "alice", "Alice").account
    a = acc.deposit(a, USD, 1000).account
    a = acc.deposit(a, BTC, 5 * 10**8).account
    a = acc.reserve(a, "order:h1", USD, 300).account
    a = acc.reserve(a, "hold:h1", BTC, 10**8).account
    a = acc.withdraw(a, USD, 700).account  # leaves USD available at zero
    return acc.freeze(a).account


def test_record_round_trip_restores_the_same_account():
    a = rich_account()
    assert Account.from_record("alice", a.to_record()) == a


def test_record_survives_json():
    a = rich_account()
    stored = json.loads(json.dumps(a.to_record()))
    assert Account.from_record("alice", stored) == a


def test_record_is_what_the_account_holds():
    rec = rich_account().to_record()
    assert rec == {
        "owner": "Alice",
        "frozen": True,
        "balances": {"USD": [0, 300], "BTC": [4 * 10**8, 10**8]},
        "holds": {"order:h1": ["USD", 300], "hold:h1": ["BTC", 10**8]},
        "history_count": 7,
    }


def good_record() -> dict:
    return {
        "owner": None,
        "frozen": False,
        "balances": {"USD": [100, 50]},
        "holds": {"h1": ["USD", 50]},
        "history_count": 4,
    }


def test_from_record_reads_a_hand_written_record():
    a = Account.from_record("bob", good_record())
    assert a.account_id == "bob"
    assert a.balance("USD") == Balance(100, 50)
    assert dict(a.holds) == {"order:h1": Hold("order:h1", "USD", 50)}
    assert a.history_count == 4


def test_a_record_from_before_hold_kinds_reads_its_holds_as_orders():
    # Before holds had kinds, an order's hold was keyed by the order id alone.
    assert list(Account.from_record("bob", good_record()).holds) == ["order:h1"]
    assert Account.from_record("bob", {**good_record(), "holds": {"hold:h1": ["USD", 50]}}).holds["hold:h1"]


def _corrupt(**changes) -> dict:
    rec = good_record()
    rec.update(changes)
    return rec


@pytest.mark.parametrize(
    "record",
    [
        _corrupt(balances={"USD": [-1, 50]}),
        _corrupt(balances={"USD": [100, 49]}),
        _corrupt(balances={"USD": [100, 51]}),
        _corrupt(balances={"USD": [100, -50]}, holds={}),
        _corrupt(balances={"USD": [100, 0]}),
        _corrupt(holds={"h1": ["USD", 50], "h2": ["USD", 0]}),
        _corrupt(balances={"USD": [100, 0]}, holds={"h1": ["EUR", 50]}),
        _corrupt(balances={"USD": [100, 50], "XYZ": [1, 0]}),
        _corrupt(balances={"USD": [100.0, 50]}),
    ],
    ids=[
        "negative-available",
        "reserved-below-holds",
        "reserved-above-holds",
        "negative-reserved",
        "hold-without-reserved",
        "empty-hold",
        "hold-in-asset-without-balance",
        "unknown-asset",
        "float-amount",
    ],
)
def test_corrupted_record_is_refused(record):
    with pytest.raises(InvariantViolation):
        Account.from_record("alice", record)


def test_an_inconsistent_account_cannot_be_stored():
    broken = Account("alice", balances={"USD": Balance(-1, 0)})
    with pytest.raises(InvariantViolation):
        broken.to_record()
