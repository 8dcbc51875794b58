"""Retries with one idempotency-key apply once and answer the first response."""

import concurrent.futures

import pytest

from api.client import LedgerClient

pytestmark = pytest.mark.live


def test_same_deposit_three_times_with_one_key_applies_once(client, new_id):
    account = new_id()
    client.open(account)
    key = new_id("idem")
    answers = [client.deposit(account, "USD", "10", idempotency_key=key) for _ in range(3)]
    assert [a.balances["USD"].available for a in answers] == ["10.00"] * 3
    assert client.balance(account).balances["USD"].available == "10.00"
    assert [e.kind for e in client.history(account).entries] == ["deposit", "open"]


def test_concurrent_retries_with_one_key_apply_once(stack, client, new_id):
    account = new_id()
    client.open(account)
    key = new_id("idem")

    def send(_):
        with LedgerClient(stack.ingress_url) as c:
            return c.deposit(account, "BTC", "0.00000001", idempotency_key=key)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(6)))
    assert {a.balances["BTC"].available for a in answers} == {"0.00000001"}
    assert client.balance(account).balances["BTC"].available == "0.00000001"


def test_different_keys_apply_each_time(client, new_id):
    account = new_id()
    client.open(account)
    for _ in range(3):
        client.deposit(account, "USD", "1", idempotency_key=new_id("idem"))
    assert client.balance(account).balances["USD"].available == "3.00"
