"""Every Account handler over HTTP, through the real ingress."""

import time

import pytest

from tests.integration.helpers import refused

pytestmark = pytest.mark.live


def test_open_then_open_again_changes_nothing(client, new_id):
    account = new_id()
    first = client.open(account, owner="Alice")
    assert (first.account, first.owner, first.status, first.balances) == (account, "Alice", "OPEN", {})
    client.deposit(account, "USD", "5")
    again = client.open(account)
    assert again.owner == "Alice"
    assert again.balances["USD"].available == "5.00"
    assert client.open(account, owner="Alice") == again
    message = refused(409, client.open, account, owner="Mallory")
    assert message == f"account {account} is already open with owner 'Alice', not 'Mallory'"
    assert client.open(account).owner == "Alice"


def test_deposit_and_withdraw_are_exact(client, new_id):
    account = new_id()
    client.open(account)
    client.deposit(account, "USD", "0.10")
    client.deposit(account, "USD", "0.20")
    client.deposit(account, "ETH", "0.000000000000000001")
    view = client.withdraw(account, "USD", "0.30")
    assert view.balances["USD"].model_dump() == {"available": "0.00", "reserved": "0.00", "total": "0.00"}
    assert view.balances["ETH"].available == "0.000000000000000001"


def test_balance_view_matches_the_contract(stack, client, funded):
    import httpx

    raw = httpx.post(f"{stack.ingress_url}/Account/{funded}/balance").json()
    assert raw == {
        "account": funded,
        "balances": {
            "BTC": {"available": "1.50000000", "reserved": "0.00000000", "total": "1.50000000"},
            "USD": {"available": "100.00", "reserved": "0.00", "total": "100.00"},
        },
    }


def test_withdraw_more_than_available_is_refused_and_changes_nothing(client, funded):
    message = refused(409, client.withdraw, funded, "USD", "100.01")
    assert message == f"insufficient funds on account {funded}: available 100.00 USD, requested 100.01 USD"
    assert client.balance(funded).balances["USD"].available == "100.00"


@pytest.mark.parametrize("call", ["deposit", "withdraw", "balance", "history", "freeze", "unfreeze"])
def test_unknown_account_is_404(client, new_id, call):
    account = new_id("ghost")
    args = (account, "USD", "1") if call in ("deposit", "withdraw") else (account,)
    assert "not open" in refused(404, getattr(client, call), *args)


def test_frozen_account_refuses_debits_and_credits_but_answers_queries(client, funded):
    frozen = client.freeze(funded)
    assert frozen.status == "FROZEN"
    assert client.freeze(funded).status == "FROZEN"  # freezing twice changes nothing
    assert "frozen" in refused(409, client.deposit, funded, "USD", "1")
    assert "frozen" in refused(409, client.withdraw, funded, "USD", "1")
    assert client.balance(funded).balances["USD"].available == "100.00"
    assert client.history(funded).entries[0].kind == "freeze"
    assert client.unfreeze(funded).status == "OPEN"
    assert client.withdraw(funded, "USD", "1").balances["USD"].available == "99.00"


def test_history_is_newest_first_and_pages_with_a_cursor(client, new_id):
    account = new_id()
    client.open(account)
    for cents in range(1, 8):
        client.deposit(account, "EUR", f"0.0{cents}")
    first = client.history(account, limit=3)
    assert [e.amount for e in first.entries] == ["0.07", "0.06", "0.05"]
    assert [e.seq for e in first.entries] == [8, 7, 6]
    second = client.history(account, limit=3, before=first.next)
    third = client.history(account, limit=3, before=second.next)
    assert [e.seq for e in second.entries] == [5, 4, 3]
    assert [e.seq for e in third.entries] == [2, 1]
    assert third.entries[-1].kind == "open" and third.next is None
    assert all(e.at_ms > 0 for e in first.entries + second.entries + third.entries)


def test_history_records_the_instant_of_the_call_in_ms(client, new_id):
    account = new_id()
    client.open(account)
    before_ms = time.time_ns() // 1_000_000
    client.deposit(account, "USD", "1")
    after_ms = time.time_ns() // 1_000_000
    newest = client.history(account, limit=1).entries[0]
    assert newest.kind == "deposit"
    # The server and this test share one clock (loopback); ms, not seconds.
    assert before_ms <= newest.at_ms <= after_ms


def test_history_refuses_bad_paging(client, funded):
    assert "limit" in refused(400, client.history, funded, limit=0)
    assert "limit" in refused(400, client.history, funded, limit=101)
    assert "before" in refused(400, client.history, funded, before=0)
