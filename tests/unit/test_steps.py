"""The steps a saga asks of an account (ledger/steps.py) and the account
transitions only they use: accept, restore, an accepted credit, hold keys."""

import json

import pytest

from ledger import account as acc
from ledger.account import Account, Kind, hold_key, hold_ref
from ledger.errors import NotFound, Refused
from ledger.money import ASSETS, MAX_MINOR
from ledger.operations import CallRecord, Operation
from ledger.steps import CHECKS, KINDS, NEEDS, Step, apply_call, apply_step, apply_steps, in_calls, problem

USD = ASSETS["USD"]
HOLD = hold_key("hold", "h1")


def account(available=1_000, held=0, frozen=False) -> Account:
    a = acc.deposit(acc.open_account(None, "alice", None).account, USD, available + held).account
    if held:
        a = acc.reserve(a, HOLD, USD, held).account
    return acc.freeze(a).account if frozen else a


def step(kind, amount=100, op=None, **fields) -> Step:
    needs = NEEDS[kind]
    defaults = {"hold": HOLD, "asset": "USD", "ref": "t1"}
    fields = {**{k: v for k, v in defaults.items() if k in needs}, **fields}
    return Step(op or f"x:1:{kind}", kind, amount, **fields)


# --- Step and its record -------------------------------------------------------


def test_every_kind_names_what_it_needs():
    assert set(KINDS) == {"debit", "accept", "credit", "refund", "receive", "reserve", "restore", "capture",
                          "release"}
    assert CHECKS == {"accept"}


@pytest.mark.parametrize("kind", KINDS)
def test_a_step_carries_exactly_what_its_kind_needs(kind):
    step(kind)
    for name in ("hold", "asset", "ref"):
        with pytest.raises(AssertionError):
            Step("x", kind, 1, **{**{n: "v" for n in NEEDS[kind]}, name: None if name in NEEDS[kind] else "v"})


def test_a_step_moves_a_positive_amount():
    with pytest.raises(AssertionError):
        Step("x", "debit", 0, asset="USD", ref="t1")
    with pytest.raises(AssertionError):
        Step("x", "steal", 1)


@pytest.mark.parametrize("kind, present, message", [
    ("debit", {"asset", "ref"}, None),
    ("debit", {"asset"}, "a debit step needs ref"),
    ("capture", {"hold", "asset"}, "a capture step takes no asset"),
    ("reserve", {"asset"}, "a reserve step needs hold"),
    ("accept", {"asset", "ref"}, "an accept step takes no ref"),
])
def test_problem_names_the_field_for_the_request_model(kind, present, message):
    assert problem(kind, present) == message


def test_a_record_leaves_out_what_is_not_set_and_survives_json():
    s = step("credit", reference="inv-1", metadata={"k": "v"})
    record = json.loads(json.dumps(s.to_record()))
    assert record == {"op": "x:1:credit", "kind": "credit", "amount_minor": 100, "asset": "USD", "ref": "t1",
                      "reference": "inv-1", "metadata": {"k": "v"}}
    assert Step(**record) == s
    assert step("release").to_record() == {"op": "x:1:release", "kind": "release", "amount_minor": 100,
                                           "hold": HOLD}


def test_in_calls_splits_in_order():
    steps = [step("debit", op=f"x:{i}") for i in range(5)]
    assert in_calls(steps, 2) == [steps[0:2], steps[2:4], steps[4:5]]
    assert in_calls(steps, 5) == [steps]
    assert in_calls(steps, 1000) == [steps]
    assert in_calls([], 3) == []
    with pytest.raises(AssertionError):
        in_calls(steps, 0)


# --- apply_step ----------------------------------------------------------------


@pytest.mark.parametrize("kind, start, after, entry", [
    ("debit", {}, (900, 0), (Kind.DEBIT, "t1")),
    ("credit", {}, (1_100, 0), (Kind.CREDIT, "t1")),
    ("refund", {}, (1_100, 0), (Kind.REFUND, "t1")),
    ("receive", {}, (1_100, 0), (Kind.RECEIVE, "t1")),
    ("reserve", {}, (900, 100), (Kind.RESERVE, "h1")),
    ("capture", {"held": 300}, (1_000, 200), (Kind.CAPTURE, "h1")),
    ("release", {"held": 300}, (1_100, 200), (Kind.RELEASE, "h1")),
    ("restore", {"held": 300}, (1_000, 400), (Kind.RESTORE, "h1")),
])
def test_each_kind_makes_its_change_and_its_operation(kind, start, after, entry):
    change, op = apply_step(account(**start), step(kind), None)
    b = change.account.balance("USD")
    assert (b.available_minor, b.reserved_minor) == after
    assert (change.entry.kind, change.entry.ref, change.entry.asset, change.entry.amount_minor) == (
        *entry, "USD", 100)
    ref = HOLD if NEEDS[kind] >= {"hold"} else "t1"
    assert op == Operation(f"x:1:{kind}", kind, "USD", 100, ref)


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in CHECKS])
def test_a_step_applied_before_applies_nothing(kind):
    start = account() if kind == "reserve" else account(held=300)
    _, op = apply_step(start, step(kind), None)
    assert apply_step(start, step(kind), op) is None


@pytest.mark.parametrize("kind", ["capture", "release"])
def test_a_replayed_capture_or_release_applies_nothing_once_the_hold_is_gone(kind):
    change, op = apply_step(account(held=100), step(kind), None)
    assert HOLD not in change.account.holds
    assert apply_step(change.account, step(kind), op) is None


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in CHECKS])
def test_an_operation_id_reused_with_other_parameters_is_refused(kind):
    start = account() if kind == "reserve" else account(held=300)
    _, op = apply_step(start, step(kind), None)
    with pytest.raises(Refused) as caught:
        apply_step(start, step(kind, amount=101), op)
    assert caught.value.message == (
        f"operation x:1:{kind} was already applied as {kind} 100 USD; it cannot be reused for {kind} 101 USD")


def test_the_callers_reference_and_metadata_reach_the_entry():
    change, _ = apply_step(account(), step("debit", reference="inv-1", metadata={"k": "v"}), None)
    assert (change.entry.reference, dict(change.entry.metadata)) == ("inv-1", {"k": "v"})
    change, _ = apply_step(account(), step("debit"), None)
    assert (change.entry.reference, change.entry.metadata) == (None, None)


def test_accept_checks_and_changes_nothing():
    assert apply_step(account(), step("accept"), None) is None
    with pytest.raises(Refused, match="^account alice is frozen$"):
        apply_step(account(frozen=True), step("accept"), None)
    with pytest.raises(Refused, match="^credit would take account alice past the largest USD balance"):
        apply_step(account(available=MAX_MINOR - 99), step("accept"), None)
    assert apply_step(account(available=MAX_MINOR - 100), step("accept"), None) is None


def test_the_acceptances_of_one_call_add_up():
    """Two credits accepted in one call must fit under the largest balance
    together, since the credits that follow are never refused."""
    near = account(available=MAX_MINOR - 150)
    two = [step("accept", 100, op="x:1:accept"), step("accept", 100, op="x:2:accept")]
    with pytest.raises(Refused, match="past the largest USD balance"):
        apply_steps(near, two, [None, None], atomic=True)
    each = apply_steps(near, two, [None, None], atomic=False)
    assert each.refused == {"x:2:accept": "credit would take account alice past the largest USD balance the "
                                          "ledger holds"}
    assert each.account == near and each.done == []
    assert apply_steps(account(available=MAX_MINOR - 200), two, [None, None], atomic=True).refused == {}


def test_steps_of_a_call_apply_in_order_each_on_what_the_last_left():
    a = account(available=100)
    calls = [step("debit", 60, op="x:1:debit"), step("debit", 60, op="x:2:debit"), step("debit", 40, op="x:3:debit")]
    applied = apply_steps(a, calls, [None] * 3, atomic=False)
    assert list(applied.refused) == ["x:2:debit"] and [op.op_id for _, op in applied.done] == ["x:1:debit", "x:3:debit"]
    assert applied.account.balance("USD").available_minor == 0
    with pytest.raises(Refused, match="insufficient funds"):
        apply_steps(a, calls, [None] * 3, atomic=True)


@pytest.mark.parametrize("kind, message", [
    ("debit", "account alice is frozen"),
    ("reserve", "account alice is frozen"),
])
def test_what_a_frozen_account_refuses(kind, message):
    with pytest.raises(Refused) as caught:
        apply_step(account(frozen=True, held=300), step(kind), None)
    assert caught.value.message == message


@pytest.mark.parametrize("kind", ["credit", "refund", "receive", "restore", "capture", "release"])
def test_what_a_frozen_account_still_takes(kind):
    # credit: it was accepted before; the rest give back or settle what was committed.
    change, _ = apply_step(account(frozen=True, held=300), step(kind), None)
    assert change.account.frozen


def test_a_debit_or_reserve_short_of_funds_names_both_amounts():
    for kind in ("debit", "reserve"):
        with pytest.raises(Refused) as caught:
            apply_step(account(available=99), step(kind), None)
        assert caught.value.message == "insufficient funds on account alice: available 0.99 USD, requested 1.00 USD"


def test_a_capture_or_release_of_an_unknown_hold_is_not_found():
    for kind in ("capture", "release"):
        with pytest.raises(NotFound, match="^account alice has no live hold hold:h1$"):
            apply_step(account(), step(kind), None)


# --- the account transitions behind them ---------------------------------------------


def test_hold_keys_keep_an_orders_and_a_holds_apart():
    assert (hold_key("order", "x"), hold_key("hold", "x")) == ("order:x", "hold:x")
    assert hold_ref("hold:x") == "x" and hold_ref("legacy") == "legacy"
    a = acc.reserve(account(), hold_key("order", "x"), USD, 100).account
    a = acc.reserve(a, hold_key("hold", "x"), USD, 200).account
    assert {k: h.amount_minor for k, h in a.holds.items()} == {"order:x": 100, "hold:x": 200}
    with pytest.raises(AssertionError):
        hold_key("transfer", "x")
    with pytest.raises(AssertionError):
        hold_key("hold", "a:b")


def test_an_accepted_credit_is_neither_refused_when_frozen_nor_capped():
    frozen = account(frozen=True)
    with pytest.raises(Refused):
        acc.credit(frozen, USD, 1, "t1")
    assert acc.credit(frozen, USD, 1, "t1", accepted=True).account.balance("USD").available_minor == 1_001
    full = account(available=MAX_MINOR)
    with pytest.raises(Refused):
        acc.credit(full, USD, 1, "t1")
    assert acc.credit(full, USD, 1, "t1", accepted=True).account.balance("USD").available_minor == MAX_MINOR + 1


def test_restore_puts_back_what_a_capture_took():
    start = account(held=300)
    for taken in (100, 300):  # part of the hold, or all of it (which removed the hold)
        captured = acc.capture(start, HOLD, taken).account
        restored = acc.restore(captured, HOLD, USD, taken)
        assert restored.account.holds == start.holds and restored.account.balances == start.balances
        assert (restored.entry.kind, restored.entry.ref, restored.entry.amount_minor) == (Kind.RESTORE, "h1", taken)


def test_restore_is_never_refused_even_frozen():
    captured = acc.capture(account(held=300), HOLD, 300).account
    frozen = acc.freeze(captured).account
    assert acc.restore(frozen, HOLD, USD, 300).account.holds[HOLD].amount_minor == 300


# --- a call recorded as one (a batch's) ----------------------------------------


def test_a_recorded_call_applies_its_steps_and_keeps_what_it_did():
    asked = [step("debit", 300, op="b:1:debit"), step("debit", 900, op="b:2:debit"), step("accept", 50, op="b:3:a")]
    applied, call = apply_call(account(1_000), "batch:b:phase1:0", asked, None, atomic=False)
    assert applied.account.balance("USD").available_minor == 700
    assert [op.op_id for _, op in applied.done] == ["b:1:debit"]
    assert applied.refused == {"b:2:debit": "insufficient funds on account alice: available 7.00 USD, requested 9.00 USD"}
    assert (call.applied, call.refused) == (1, applied.refused)
    assert CallRecord.from_record(json.loads(json.dumps(call.to_record()))) == call


def test_a_recorded_call_replayed_applies_nothing_and_answers_the_first_refusals():
    asked = [step("debit", 300, op="b:1:debit"), step("debit", 900, op="b:2:debit")]
    first, call = apply_call(account(1_000), "c", asked, None, atomic=False)
    # Even where a step would now apply, the replay is the first call's answer.
    again, same = apply_call(account(5_000), "c", asked, call, atomic=False)
    assert (again.done, again.refused, same) == ([], first.refused, call)
    assert again.account == account(5_000)


def test_a_call_id_reused_with_other_steps_is_refused():
    _, call = apply_call(account(), "c", [step("debit", 300)], None, atomic=True)
    with pytest.raises(Refused, match="call c was already applied with other steps"):
        apply_call(account(), "c", [step("debit", 301)], call, atomic=True)


def test_an_atomic_recorded_call_refused_raises_and_records_nothing():
    with pytest.raises(Refused):
        apply_call(account(100), "c", [step("credit", 5), step("debit", 200)], None, atomic=True)
