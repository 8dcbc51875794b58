"""A batch's checks, digest and plan, and its results from phase 1's refusals."""

import pytest

from ledger import account as acc
from ledger import batch as bt
from ledger.batch import Item, Result, Status
from ledger.errors import InvalidInput, LedgerError, Refused
from ledger.money import ASSETS
from ledger.steps import apply_step


def item(item_id="i1", source="a", target="b", amount=100, **changes) -> Item:
    return Item(item_id, source, target, changes.pop("asset", "USD"), amount, **changes)


# --- check --------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1001])
def test_a_batch_has_1_to_1000_items(n):
    with pytest.raises(InvalidInput) as caught:
        bt.check([item(f"i{k}") for k in range(n)])
    assert caught.value.status_code == 400
    assert caught.value.message == f"transfers: must be 1 to 1000, got {n}"


def test_1_and_1000_items_are_fine():
    bt.check([item()])
    bt.check([item(f"i{k}") for k in range(1000)])


def test_an_item_id_twice_is_refused_naming_where():
    with pytest.raises(InvalidInput) as caught:
        bt.check([item("x"), item("y"), item("x", amount=5)])
    assert caught.value.message == "transfers.2.id: 'x' appears twice in the batch"


def test_an_item_to_its_own_source_is_refused_naming_where():
    with pytest.raises(InvalidInput) as caught:
        bt.check([item("x"), item("y", source="a", target="a")])
    assert caught.value.message == "transfers.1.target: must differ from source (a)"


# --- digest and resubmission -----------------------------------------------------


def test_the_same_items_have_the_same_digest():
    items = [item("x", reference="r", metadata={"k": "v"}), item("y")]
    again = [item("x", reference="r", metadata={"k": "v"}), item("y")]
    assert bt.digest(items) == bt.digest(again)
    assert len(bt.digest(items)) == 64
    bt.resubmitted("b1", bt.digest(items), again)


@pytest.mark.parametrize("other", [
    [item("x2"), item("y")], [item("x", source="c"), item("y")], [item("x", target="c"), item("y")],
    [item("x", asset="EUR"), item("y")], [item("x", amount=101), item("y")],
    [item("x", reference="r"), item("y")], [item("x", metadata={"k": "v"}), item("y")],
    [item("y"), item("x")], [item("x")],
], ids=["id", "source", "target", "asset", "amount", "reference", "metadata", "order", "fewer"])
def test_any_difference_is_another_batch(other):
    first = [item("x"), item("y")]
    assert bt.digest(other) != bt.digest(first)
    with pytest.raises(Refused) as caught:
        bt.resubmitted("b1", bt.digest(first), other)
    assert caught.value.status_code == 409
    assert caught.value.message == "batch b1 already exists with other transfers"


def test_metadata_is_compared_by_the_digest_not_by_the_item():
    # Items compare equal without their metadata; the digest still tells them apart.
    assert item(metadata={"k": "v"}) == item(metadata={"k": "w"})
    assert bt.digest([item(metadata={"k": "v"})]) != bt.digest([item(metadata={"k": "w"})])


# --- the plan ----------------------------------------------------------------------


def test_prepare_gives_each_account_its_steps_in_item_order():
    items = [item("i1", "a", "b", 100, reference="r1", metadata={"k": "1"}), item("i2", "b", "c", 40),
             item("i3", "a", "c", 7)]
    plan = bt.prepare("b1", items)
    steps = {who: [(s.op, s.kind, s.amount_minor, s.asset, s.ref, s.reference) for s in ss]
             for who, ss in plan.items()}
    assert steps == {
        "a": [("batch:b1:i1:debit", "debit", 100, "USD", "b1:i1", "r1"),
              ("batch:b1:i3:debit", "debit", 7, "USD", "b1:i3", None)],
        "b": [("batch:b1:i1:accept", "accept", 100, "USD", None, None),
              ("batch:b1:i2:debit", "debit", 40, "USD", "b1:i2", None)],
        "c": [("batch:b1:i2:accept", "accept", 40, "USD", None, None),
              ("batch:b1:i3:accept", "accept", 7, "USD", None, None)],
    }
    assert dict(plan["a"][0].metadata) == {"k": "1"} and plan["b"][0].metadata is None


def test_the_ref_names_the_batch_and_the_item():
    assert bt.ref("b1", item("i9")) == "b1:i9"


def test_decide_turns_refusals_into_results_and_phase_two():
    items = [item("ok", "a", "b", 10), item("short", "a", "b", 20), item("frozen", "a", "c", 30),
             item("both", "d", "c", 40)]
    refused = {
        "batch:b1:short:debit": "insufficient funds on account a",
        "batch:b1:frozen:accept": "account c is frozen",
        "batch:b1:both:debit": "account d is not open",
        "batch:b1:both:accept": "account c is frozen",
    }
    results, finish = bt.decide("b1", items, refused)
    assert results == [
        Result("ok", Status.COMPLETED),
        Result("short", Status.FAILED, "insufficient funds on account a"),
        Result("frozen", Status.COMPENSATED, "account c is frozen"),
        Result("both", Status.FAILED, "account d is not open"),  # no debit: nothing to give back
    ]
    assert {who: [(s.op, s.kind, s.amount_minor, s.ref) for s in ss] for who, ss in finish.items()} == {
        "b": [("batch:b1:ok:credit", "credit", 10, "b1:ok")],
        "a": [("batch:b1:frozen:refund", "refund", 30, "b1:frozen")],
    }


def test_a_result_has_a_reason_exactly_when_it_did_not_complete():
    assert Result("x", Status.FAILED, "why").to_record() == {"id": "x", "status": "FAILED", "reason": "why"}
    assert Result("x", Status.COMPLETED).to_record() == {"id": "x", "status": "COMPLETED"}
    assert Result("x", Status.COMPLETED, reference="r", metadata={"k": "v"}).to_record() == {
        "id": "x", "status": "COMPLETED", "reference": "r", "metadata": {"k": "v"}}
    with pytest.raises(AssertionError):
        Result("x", Status.COMPLETED, "why")
    with pytest.raises(AssertionError):
        Result("x", Status.COMPENSATED)


# --- the semantics, on accounts -----------------------------------------------------


def run(balances: dict[str, int], items: list[Item], frozen=()) -> tuple[list[Result], dict[str, int]]:
    """Both phases on pure accounts, phase 1 not atomic (as `settle` with atomic=False)."""
    accounts = {}
    for who, minor in balances.items():
        a = acc.open_account(None, who, None).account
        a = acc.deposit(a, ASSETS["USD"], minor).account if minor else a
        accounts[who] = acc.freeze(a).account if who in frozen else a
    refused = {}
    plan = bt.prepare("b1", items)
    for who, steps in plan.items():
        for step in steps:
            if who not in accounts:
                refused[step.op] = f"account {who} is not open"
                continue
            try:
                made = apply_step(accounts[who], step, None)
            except LedgerError as err:
                refused[step.op] = err.message
                continue
            if made is not None:
                accounts[who] = made[0].account
    results, finish = bt.decide("b1", items, refused)
    for who, steps in finish.items():
        for step in steps:
            accounts[who] = apply_step(accounts[who], step, None)[0].account
    return results, {who: a.balance("USD").available_minor for who, a in accounts.items()}


def test_an_item_cannot_spend_what_an_earlier_item_of_the_batch_paid_in():
    # TigerBeetle would complete both; here debits come before every credit.
    results, balances = run({"a": 0, "b": 100}, [item("in", "b", "a", 100), item("out", "a", "b", 60)])
    assert [(r.item_id, r.status) for r in results] == [("in", Status.COMPLETED), ("out", Status.FAILED)]
    assert results[1].reason == "insufficient funds on account a: available 0.00 USD, requested 0.60 USD"
    assert balances == {"a": 100, "b": 0}


def test_each_source_debits_its_items_in_order_and_items_are_independent():
    results, balances = run({"a": 100, "b": 0, "c": 0},
                            [item("1", "a", "b", 70), item("2", "a", "b", 50), item("3", "a", "c", 30)])
    assert [r.status for r in results] == [Status.COMPLETED, Status.FAILED, Status.COMPLETED]
    assert balances == {"a": 0, "b": 70, "c": 30}


def test_a_refused_target_is_refunded_and_an_unknown_source_fails():
    results, balances = run({"a": 100, "b": 0}, [item("1", "a", "b", 70), item("2", "x", "a", 5),
                                                 item("3", "a", "y", 10)], frozen={"b"})
    assert [(r.status, r.reason) for r in results] == [
        (Status.COMPENSATED, "account b is frozen"),
        (Status.FAILED, "account x is not open"),
        (Status.COMPENSATED, "account y is not open"),
    ]
    assert balances == {"a": 100, "b": 0}
