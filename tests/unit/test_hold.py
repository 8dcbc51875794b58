"""A public hold's record: creation, resubmission, its statuses and messages."""

import json

import pytest

from ledger import hold as hl
from ledger.errors import InvalidInput, Refused
from ledger.hold import MAX_EXPIRES_IN_S, Hold, Status
from ledger.money import ASSETS

USD, BTC = ASSETS["USD"], ASSETS["BTC"]
AT_MS = 1_700_000_000_000


def asked(**changes) -> Hold:
    args = {"hold_id": "h1", "source": "alice", "target": "bob", "asset": USD, "amount_minor": 1250}
    args.update(changes)
    return hl.new(**args)


def held(**changes) -> Hold:
    return hl.held(asked(**changes), AT_MS)


def every_status() -> list[Hold]:
    h = held(expires_in_s=60, reference="inv-1", metadata={"k": "v"})
    return [
        asked(),
        h,
        hl.attempted(h),
        hl.captured(hl.attempted(h), 1000),
        hl.voided(h),
        hl.expired(h),
        hl.rejected(asked(), "insufficient funds on account alice"),
    ]


# --- new ----------------------------------------------------------------------


def test_new_is_pending_with_what_was_asked():
    h = asked(expires_in_s=30, reference="inv-1", metadata={"k": "v"})
    assert (h.hold_id, h.source, h.target, h.asset, h.amount_minor, h.expires_in_s) == (
        "h1", "alice", "bob", "USD", 1250, 30)
    assert (h.reference, dict(h.metadata)) == ("inv-1", {"k": "v"})
    assert h.status is Status.PENDING and not h.terminal
    assert (h.captured_minor, h.attempts, h.expires_at_ms, h.reason) == (0, 0, None, None)


def test_a_hold_without_a_target_pays_out_of_the_ledger():
    assert asked(target=None).target is None


def test_new_refuses_a_target_equal_to_the_source():
    with pytest.raises(InvalidInput) as caught:
        asked(target="alice")
    assert caught.value.status_code == 400
    assert caught.value.message == "target: must differ from source (alice)"


@pytest.mark.parametrize("expires_in_s", [0, -1, MAX_EXPIRES_IN_S + 1])
def test_new_refuses_an_expiry_out_of_range(expires_in_s):
    with pytest.raises(InvalidInput) as caught:
        asked(expires_in_s=expires_in_s)
    assert caught.value.message == f"expires_in_s: must be from 1 to 31536000, got {expires_in_s}"


@pytest.mark.parametrize("expires_in_s", [1, MAX_EXPIRES_IN_S])
def test_new_takes_an_expiry_at_either_end_of_its_range(expires_in_s):
    assert asked(expires_in_s=expires_in_s).expires_in_s == expires_in_s


def test_new_refuses_bad_metadata_and_keeps_none_for_empty():
    with pytest.raises(InvalidInput) as caught:
        asked(metadata={"": "v"})
    assert caught.value.message.startswith("metadata: a key must be 1 to 64")
    assert asked(metadata={}).metadata is None


# --- resubmitted --------------------------------------------------------------


@pytest.mark.parametrize("first", every_status()[:2] + every_status()[3:], ids=lambda h: h.status.value)
def test_the_same_request_again_answers_the_first(first):
    again = asked(expires_in_s=first.expires_in_s, reference=first.reference,
                  metadata=None if first.metadata is None else dict(first.metadata))
    assert hl.resubmitted(first, again) is first


@pytest.mark.parametrize("changes", [
    {"source": "carol"}, {"target": "carol"}, {"target": None}, {"asset": BTC}, {"amount_minor": 1251},
    {"expires_in_s": 60}, {"reference": "inv-2"}, {"metadata": {"k": "other"}},
], ids=["source", "target", "no-target", "asset", "amount", "expiry", "reference", "metadata"])
def test_a_different_request_under_the_same_id_is_refused(changes):
    first = hl.captured(hl.attempted(held()), 1250)
    with pytest.raises(Refused) as caught:
        hl.resubmitted(first, asked(**changes))
    assert caught.value.status_code == 409
    assert caught.value.message == "hold h1 already exists with other parameters (alice, 12.50 USD)"


def test_no_metadata_and_empty_metadata_are_the_same_request():
    first = held(metadata=None)
    assert hl.resubmitted(first, asked(metadata={})) is first


# --- held, rejected, captured, voided, expired ------------------------------------


def test_held_sets_the_expiry_from_the_instant():
    assert held().status is Status.HELD and held().expires_at_ms is None
    assert held(expires_in_s=90).expires_at_ms == AT_MS + 90_000


def test_rejected_keeps_the_reason_and_is_final():
    h = hl.rejected(asked(), "account alice is frozen")
    assert (h.status, h.reason, h.terminal) == (Status.REJECTED, "account alice is frozen", True)


def test_captured_records_what_was_taken():
    h = hl.captured(hl.attempted(held()), 400)
    assert (h.status, h.captured_minor, h.amount_minor, h.terminal) == (Status.CAPTURED, 400, 1250, True)


@pytest.mark.parametrize("end, status", [(hl.voided, Status.VOIDED), (hl.expired, Status.EXPIRED)])
def test_void_and_expiry_end_a_held_hold(end, status):
    h = end(held())
    assert (h.status, h.captured_minor, h.terminal) == (status, 0, True)


@pytest.mark.parametrize("transition", [
    lambda h: hl.held(h, AT_MS), lambda h: hl.rejected(h, "x"), lambda h: hl.captured(h, 1),
    hl.voided, hl.expired,
], ids=["held", "rejected", "captured", "voided", "expired"])
def test_a_final_hold_never_moves_again(transition):
    for h in every_status():
        if h.terminal:
            with pytest.raises(AssertionError):
                transition(h)


def test_a_pending_hold_is_only_held_or_rejected():
    for transition in (lambda h: hl.captured(h, 1), hl.voided, hl.expired):
        with pytest.raises(AssertionError):
            transition(asked())


def test_the_record_refuses_what_no_transition_makes():
    with pytest.raises(AssertionError):
        Hold("h1", "alice", "bob", "USD", 100, status=Status.HELD, captured_minor=1)
    with pytest.raises(AssertionError):
        Hold("h1", "alice", "bob", "USD", 100, status=Status.HELD, reason="why")
    with pytest.raises(AssertionError):
        Hold("h1", "alice", "bob", "USD", 100, status=Status.CAPTURED, captured_minor=101)
    with pytest.raises(AssertionError):
        Hold("h1", "alice", "alice", "USD", 100)


# --- require_held, to_capture, attempted ------------------------------------------


@pytest.mark.parametrize("h", [h for h in every_status() if h.status is not Status.HELD],
                         ids=lambda h: h.status.value)
@pytest.mark.parametrize("action", ["captured", "voided"])
def test_only_a_held_hold_can_be_captured_or_voided(h, action):
    with pytest.raises(Refused) as caught:
        hl.require_held(h, action)
    assert caught.value.status_code == 409
    assert caught.value.message == f"hold h1 is {h.status.value}; only a HELD hold can be {action}"


def test_the_messages_of_the_issue():
    captured = hl.captured(hl.attempted(held()), 1250)
    with pytest.raises(Refused, match=r"^hold h1 is CAPTURED; only a HELD hold can be voided$"):
        hl.require_held(captured, "voided")
    with pytest.raises(Refused, match=r"^hold h1 is VOIDED; only a HELD hold can be captured$"):
        hl.to_capture(hl.voided(held()), None)


def test_to_capture_takes_all_by_default_or_the_amount_asked():
    assert hl.to_capture(held(), None) == 1250
    assert hl.to_capture(held(), 1250) == 1250
    assert hl.to_capture(held(), 1) == 1


def test_to_capture_refuses_more_than_is_held_naming_both():
    with pytest.raises(Refused) as caught:
        hl.to_capture(held(), 1251)
    assert caught.value.message == "hold h1 holds 12.50 USD; it cannot capture 12.51 USD"


def test_to_capture_of_a_final_hold_names_its_status():
    with pytest.raises(Refused) as caught:
        hl.to_capture(hl.expired(held()), 1)
    assert caught.value.message == "hold h1 is EXPIRED; only a HELD hold can be captured"


def test_each_capture_tried_counts_and_the_hold_stays_held():
    h = hl.attempted(hl.attempted(held()))
    assert (h.status, h.attempts) == (Status.HELD, 2)
    with pytest.raises(Refused):
        hl.attempted(hl.voided(held()))


# --- records ------------------------------------------------------------------


@pytest.mark.parametrize("h", every_status(), ids=lambda h: f"{h.status.value}-{h.attempts}")
def test_a_record_survives_json(h):
    record = json.loads(json.dumps(h.to_record()))
    assert Hold.from_record(record) == h
    assert record["status"] == h.status.value


def test_the_record_is_plain_json():
    record = held(expires_in_s=60, reference="inv-1", metadata={"k": "v"}).to_record()
    assert record == {
        "hold_id": "h1", "source": "alice", "target": "bob", "asset": "USD", "amount_minor": 1250,
        "expires_in_s": 60, "reference": "inv-1", "metadata": {"k": "v"}, "status": "HELD",
        "captured_minor": 0, "expires_at_ms": AT_MS + 60_000, "reason": None, "attempts": 0,
    }
    assert type(record["metadata"]) is dict


def test_a_record_read_back_keeps_its_metadata_read_only():
    h = Hold.from_record(json.loads(json.dumps(held(metadata={"k": "v"}).to_record())))
    with pytest.raises(TypeError):
        h.metadata["k"] = "x"  # type: ignore[index]
