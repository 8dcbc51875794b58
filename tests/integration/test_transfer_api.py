"""The transfer saga over HTTP: completed, refused, compensated, and once only."""

import concurrent.futures

import pytest

from tests.integration.helpers import refused

pytestmark = pytest.mark.live


def usd(client, account: str) -> str:
    return client.balance(account).balances.get("USD").available


@pytest.fixture
def pair(client, funded, new_id):
    target = new_id("target")
    client.open(target)
    return funded, target


def test_completed_transfer_moves_the_money(client, pair, new_id):
    source, target = pair
    tid = new_id("t")
    done = client.transfer(tid, source, target, "USD", "25.50")
    assert (done.status, done.amount, done.reason) == ("COMPLETED", "25.50", None)
    assert (usd(client, source), usd(client, target)) == ("74.50", "25.50")
    assert client.transfer_status(tid) == done
    kinds = [(e.kind, e.ref) for e in client.history(source, limit=1).entries]
    assert kinds == [("debit", tid)]


def test_insufficient_funds_fails_and_moves_nothing(client, pair, new_id):
    source, target = pair
    tid = new_id("t")
    message = refused(409, client.transfer, tid, source, target, "USD", "100.01")
    assert message.startswith(f"transfer {tid} FAILED: insufficient funds")
    status = client.transfer_status(tid)
    assert status.status == "FAILED" and "insufficient funds" in status.reason
    assert (usd(client, source), client.balance(target).balances) == ("100.00", {})


@pytest.mark.parametrize("why", ["frozen", "not open"])
def test_refused_credit_is_compensated(client, funded, new_id, why):
    target = new_id("target")
    if why == "frozen":
        client.open(target)
        client.freeze(target)
    tid = new_id("t")
    message = refused(409, client.transfer, tid, funded, target, "USD", "30")
    assert f"COMPENSATED: account {target} is {why}" in message
    status = client.transfer_status(tid)
    assert status.status == "COMPENSATED" and why in status.reason
    assert usd(client, funded) == "100.00"
    assert [(e.kind, e.amount, e.ref) for e in client.history(funded, limit=2).entries] == [
        ("refund", "30.00", tid), ("debit", "30.00", tid)]


def test_frozen_source_fails(client, pair, new_id):
    source, target = pair
    client.freeze(source)
    tid = new_id("t")
    assert "FAILED: account" in refused(409, client.transfer, tid, source, target, "USD", "1")
    assert client.transfer_status(tid).status == "FAILED"


def test_same_transfer_id_moves_money_once_and_answers_the_first_outcome(client, pair, new_id):
    source, target = pair
    tid = new_id("t")
    first = client.transfer(tid, source, target, "USD", "10")
    assert client.transfer(tid, source, target, "USD", "10") == first
    assert (usd(client, source), usd(client, target)) == ("90.00", "10.00")
    # A failed one answers its failure again, even once funds would suffice.
    failed = new_id("t")
    refused(409, client.transfer, failed, source, target, "USD", "95")
    client.deposit(source, "USD", "100")
    assert "FAILED" in refused(409, client.transfer, failed, source, target, "USD", "95")
    assert usd(client, source) == "190.00"


def test_same_transfer_id_sent_concurrently_applies_once(stack, pair, new_id):
    from api.client import LedgerClient

    source, target = pair
    tid = new_id("t")

    def send():
        with LedgerClient(stack.ingress_url) as c:
            return c.transfer(tid, source, target, "USD", "7")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: send(), range(8)))
    assert {a.status for a in answers} == {"COMPLETED"}
    with LedgerClient(stack.ingress_url) as c:
        assert (usd(c, source), usd(c, target)) == ("93.00", "7.00")


def test_same_id_with_other_parameters_is_refused(client, pair, new_id):
    source, target = pair
    tid = new_id("t")
    client.transfer(tid, source, target, "USD", "1")
    assert "other parameters" in refused(409, client.transfer, tid, source, target, "USD", "2")
    assert "other parameters" in refused(409, client.transfer, tid, target, source, "USD", "1")
    assert (usd(client, source), usd(client, target)) == ("99.00", "1.00")


def test_transfer_to_itself_is_400(client, funded, new_id):
    tid = new_id("t")
    assert "target" in refused(400, client.transfer, tid, funded, funded, "USD", "1")
    assert "not found" in refused(404, client.transfer_status, tid)


def test_unknown_transfer_status_is_404(client, new_id):
    assert "not found" in refused(404, client.transfer_status, new_id("never"))
