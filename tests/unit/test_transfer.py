"""The transfer saga's record: creation, resubmission, finishing, views."""

import json

import pytest

from ledger import transfer as tr
from ledger.errors import InvalidInput, Refused
from ledger.money import ASSETS
from ledger.transfer import Status, Transfer

USD, BTC = ASSETS["USD"], ASSETS["BTC"]


def pending(**changes) -> Transfer:
    args = {
        "transfer_id": "t1", "source": "alice", "target": "bob", "asset": USD, "amount_minor": 1250,
    }
    args.update(changes)
    return tr.new(**args)


def all_finished() -> list[Transfer]:
    return [
        tr.finish(pending(), Status.COMPLETED),
        tr.finish(pending(), Status.FAILED, "insufficient funds on account alice"),
        tr.finish(pending(), Status.COMPENSATED, "account bob is frozen"),
        tr.finish(pending(), Status.COMPENSATED, "account bob is frozen", ("refund refused: x",)),
    ]


# --- new ----------------------------------------------------------------------


def test_new_is_pending_with_what_was_asked():
    t = pending()
    assert (t.transfer_id, t.source, t.target, t.asset, t.amount_minor) == (
        "t1", "alice", "bob", "USD", 1250,
    )
    assert t.status is Status.PENDING and t.reason is None and not t.terminal
    assert t.compensation_errors == ()


def test_new_refuses_source_equal_to_target():
    with pytest.raises(InvalidInput) as caught:
        pending(target="alice")
    assert caught.value.status_code == 400
    assert caught.value.message.startswith("target: ")
    assert "alice" in caught.value.message


# --- resubmitted --------------------------------------------------------------


@pytest.mark.parametrize("first", [pending(), *all_finished()], ids=lambda t: t.status.value)
def test_the_same_request_again_answers_the_first(first):
    again = pending(transfer_id="t1")
    assert tr.resubmitted(first, again) is first


@pytest.mark.parametrize(
    "changes",
    [
        {"source": "carol"},
        {"target": "carol"},
        {"asset": BTC},
        {"amount_minor": 1251},
        {"source": "bob", "target": "alice"},
    ],
    ids=["source", "target", "asset", "amount", "swapped"],
)
def test_a_different_request_under_the_same_id_is_refused(changes):
    first = tr.finish(pending(), Status.COMPLETED)
    with pytest.raises(Refused) as caught:
        tr.resubmitted(first, pending(**changes))
    assert caught.value.status_code == 409
    assert caught.value.message == (
        "transfer t1 already exists with other parameters (alice -> bob, 12.50 USD)"
    )
    assert first.status is Status.COMPLETED


# --- finish -------------------------------------------------------------------


def test_finish_completed_without_reason():
    done = tr.finish(pending(), Status.COMPLETED)
    assert done.status is Status.COMPLETED and done.terminal and done.reason is None
    assert (done.source, done.target, done.amount_minor) == ("alice", "bob", 1250)


@pytest.mark.parametrize("status", [Status.FAILED, Status.COMPENSATED])
def test_finish_refused_outcomes_carry_a_reason(status):
    done = tr.finish(pending(), status, "why", ("refund of t1 refused",))
    assert done.status is status and done.terminal
    assert done.reason == "why"
    assert done.compensation_errors == ("refund of t1 refused",)


@pytest.mark.parametrize("done", all_finished(), ids=lambda t: t.status.value)
@pytest.mark.parametrize("status", [Status.COMPLETED, Status.FAILED, Status.COMPENSATED])
def test_finish_only_from_pending(done, status):
    reason = None if status is Status.COMPLETED else "again"
    with pytest.raises(AssertionError):
        tr.finish(done, status, reason)


def test_finish_to_pending_is_not_a_transition():
    with pytest.raises(AssertionError):
        tr.finish(pending(), Status.PENDING)


def test_a_reason_goes_with_refusals_only():
    with pytest.raises(AssertionError):
        tr.finish(pending(), Status.COMPLETED, "a reason")
    with pytest.raises(AssertionError):
        tr.finish(pending(), Status.FAILED)


# --- record -------------------------------------------------------------------


@pytest.mark.parametrize("t", [pending(), *all_finished()], ids=lambda t: t.status.value)
def test_record_round_trip_through_json(t):
    stored = json.loads(json.dumps(t.to_record()))
    back = Transfer.from_record(stored)
    assert back == t
    assert type(back.status) is Status
    assert type(back.compensation_errors) is tuple


def test_record_is_plain_json_values():
    rec = tr.finish(pending(), Status.COMPENSATED, "why", ("e1",)).to_record()
    assert rec == {
        "transfer_id": "t1", "source": "alice", "target": "bob", "asset": "USD",
        "amount_minor": 1250, "status": "COMPENSATED", "reason": "why",
        "compensation_errors": ["e1"],
    }
    # Status is a str enum, so == above cannot tell it from its value
    assert type(rec["status"]) is str


def test_a_tagged_record_keeps_its_reference_and_metadata():
    t = tr.new("t1", "alice", "bob", USD, 1250, "inv-1", {"desk": "emea"})
    rec = t.to_record()
    assert rec["reference"] == "inv-1" and rec["metadata"] == {"desk": "emea"}
    again = Transfer.from_record(json.loads(json.dumps(rec)))
    assert again == t and dict(again.metadata) == {"desk": "emea"}
    # other tags are other parameters: the same id refuses them
    with pytest.raises(Refused):
        tr.resubmitted(t, tr.new("t1", "alice", "bob", USD, 1250, "inv-2", {"desk": "emea"}))
    with pytest.raises(Refused):
        tr.resubmitted(t, tr.new("t1", "alice", "bob", USD, 1250, "inv-1", {"desk": "apac"}))
