"""Public holds over HTTP: place, capture, void, expire, status, and the id
used once for ever. Balances are checked against amounts written here."""

from api.client import ApiError
from tests.integration.helpers import eventually, refused


def usd(view, account=None, part="available") -> str:
    b = view.balances.get("USD")
    return "0.00" if b is None else getattr(b, part)


def test_place_then_capture_moves_the_held_amount_to_the_target(client, funded, new_id):
    target, hold = new_id("t"), new_id("h")
    client.open(target)
    placed = client.place_hold(hold, funded, "USD", "40.00", target=target, reference="auth-1",
                               metadata={"card": "visa"})
    assert (placed.status, placed.amount, placed.captured, placed.target) == ("HELD", "40.00", "0.00", target)
    assert placed.reference == "auth-1" and placed.metadata == {"card": "visa"}
    b = client.balance(funded).balances["USD"]
    assert (b.available, b.reserved) == ("60.00", "40.00")

    done = client.capture_hold(hold, "30.00")
    assert (done.status, done.captured) == ("CAPTURED", "30.00")
    b = client.balance(funded).balances["USD"]
    assert (b.available, b.reserved) == ("70.00", "0.00")  # the rest released
    assert usd(client.balance(target)) == "30.00"
    # each entry names the hold and carries the caller's reference
    entries = client.history(target, limit=1).entries
    assert (entries[0].kind, entries[0].ref, entries[0].reference) == ("credit", hold, "auth-1")
    assert entries[0].balance_after.available == "30.00"

    # once: a second capture, or a void, is refused naming the status
    assert "CAPTURED" in refused(409, client.capture_hold, hold)
    assert "CAPTURED" in refused(409, client.void_hold, hold)
    assert client.hold_status(hold).status == "CAPTURED"


def test_capture_without_target_takes_the_money_out(client, funded, new_id):
    hold = new_id("h")
    client.place_hold(hold, funded, "USD", "25.00")
    assert client.capture_hold(hold).captured == "25.00"
    b = client.balance(funded).balances["USD"]
    assert (b.available, b.reserved) == ("75.00", "0.00")


def test_void_gives_everything_back(client, funded, new_id):
    hold = new_id("h")
    client.place_hold(hold, funded, "USD", "25.00")
    assert client.void_hold(hold).status == "VOIDED"
    b = client.balance(funded).balances["USD"]
    assert (b.available, b.reserved) == ("100.00", "0.00")
    assert "VOIDED" in refused(409, client.capture_hold, hold)


def test_a_short_source_is_rejected_and_the_refusal_is_kept(client, funded, new_id):
    hold = new_id("h")
    message = refused(409, client.place_hold, hold, funded, "USD", "100.01")
    assert message.startswith(f"hold {hold} REJECTED: insufficient funds")
    assert client.hold_status(hold).status == "REJECTED"
    assert refused(409, client.place_hold, hold, funded, "USD", "100.01") == message  # the first outcome
    assert usd(client.balance(funded), part="reserved") == "0.00"


def test_the_same_id_answers_the_first_hold_and_other_parameters_409(client, funded, new_id):
    hold = new_id("h")
    first = client.place_hold(hold, funded, "USD", "10.00")
    assert client.place_hold(hold, funded, "USD", "10.00") == first
    assert "other parameters" in refused(409, client.place_hold, hold, funded, "USD", "11.00")
    assert usd(client.balance(funded), part="reserved") == "10.00"  # held once


def test_a_frozen_target_refuses_the_capture_and_the_hold_stays_held(client, funded, new_id):
    target, hold = new_id("t"), new_id("h")
    client.open(target)
    client.place_hold(hold, funded, "USD", "40.00", target=target)
    client.freeze(target)
    message = refused(409, client.capture_hold, hold)
    assert "frozen" in message and "still HELD" in message
    assert client.hold_status(hold).status == "HELD"
    b = client.balance(funded).balances["USD"]
    assert (b.available, b.reserved) == ("60.00", "40.00")  # as before the capture
    client.unfreeze(target)
    assert client.capture_hold(hold).status == "CAPTURED"  # a second attempt, its own operations
    assert usd(client.balance(target)) == "40.00"
    assert usd(client.balance(funded), part="reserved") == "0.00"


def test_an_expired_hold_gives_everything_back(client, funded, new_id):
    hold = new_id("h")
    placed = client.place_hold(hold, funded, "USD", "5.00", expires_in_s=1)
    assert placed.expires_at_ms is not None
    eventually(lambda: client.hold_status(hold).status == "EXPIRED", "the hold expires")
    b = client.balance(funded).balances["USD"]
    assert (b.available, b.reserved) == ("100.00", "0.00")
    assert "EXPIRED" in refused(409, client.capture_hold, hold)


def test_a_capture_before_the_expiry_wins_and_the_timer_changes_nothing(client, funded, new_id):
    hold = new_id("h")
    client.place_hold(hold, funded, "USD", "5.00", expires_in_s=1)
    client.capture_hold(hold)
    holder = new_id("h")  # a later hold, expired after the first's timer fired
    client.place_hold(holder, funded, "USD", "1.00", expires_in_s=1)
    eventually(lambda: client.hold_status(holder).status == "EXPIRED", "the later hold expires")
    assert client.hold_status(hold).status == "CAPTURED"
    assert usd(client.balance(funded)) == "95.00"


def test_an_order_and_a_hold_with_the_same_id_are_two_holds(client, funded, new_id):
    same = new_id("x")
    client.place_hold(same, funded, "USD", "10.00")
    order = client.place_order(same, funded, "BTC-USD.FAULTY", "BUY", "0.001", "1000.00")
    assert order.status in ("ACCEPTED", "PARTIALLY_FILLED", "FILLED"), order
    client.void_hold(same)
    assert usd(client.balance(funded), part="reserved") == "1.00"  # the order's hold, untouched
    client.cancel_order(same)
    assert usd(client.balance(funded), part="reserved") == "0.00"


def test_bad_input_is_400_and_unknown_is_404(client, funded, new_id):
    hold = new_id("h")
    assert refused(400, client.place_hold, hold, funded, "USD", "1.00", target=funded).startswith("target:")
    assert refused(400, client.place_hold, hold, funded, "USD", "1.00", expires_in_s=0).startswith("expires_in_s:")
    assert refused(400, client.place_hold, hold, funded, "USD", "1.00", reference="").startswith("reference:")
    assert refused(404, client.hold_status, hold) == f"hold {hold} not found"
    assert refused(404, client.capture_hold, hold) == f"hold {hold} not found"
    client.place_hold(hold, funded, "USD", "1.00")
    assert "cannot capture" in refused(409, client.capture_hold, hold, "1.01")
    assert client.hold_status(hold).status == "HELD"


def test_an_unknown_source_is_rejected(client, new_id):
    hold = new_id("h")
    message = refused(409, client.place_hold, hold, new_id("nobody"), "USD", "1.00")
    assert "REJECTED" in message and "is not open" in message
    try:
        client.hold_status(hold)
    except ApiError as err:  # pragma: no cover - the record must exist
        raise AssertionError(err)


def test_a_capture_sent_again_with_its_idempotency_key_answers_the_first_answer(client, funded, new_id):
    hold = new_id("h")
    client.place_hold(hold, funded, "USD", "10.00")
    first = client.capture_hold(hold, "4.00", idempotency_key=f"{hold}-capture")
    assert client.capture_hold(hold, "4.00", idempotency_key=f"{hold}-capture") == first
    assert "CAPTURED" in refused(409, client.capture_hold, hold, "4.00")  # without it: once, then 409
    assert usd(client.balance(funded)) == "96.00"
