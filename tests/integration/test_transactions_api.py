"""Balanced multi-leg transactions over HTTP: all legs post or none does.
The expected balances are written here, not computed by the ledger."""

from tests.integration.helpers import refused


def leg(account: str, asset: str, amount: str, direction: str) -> dict:
    return {"account": account, "asset": asset, "amount": amount, "direction": direction}


def available(client, account: str, asset: str) -> str:
    b = client.balance(account).balances.get(asset)
    return None if b is None else b.available


def opened(client, new_id, *prefixes):
    ids = [new_id(p) for p in prefixes]
    for account in ids:
        client.open(account)
    return ids


def test_a_transfer_with_a_fee(client, funded, new_id):
    merchant, fees, tx = *opened(client, new_id, "merchant", "fees"), new_id("tx")
    posted = client.post_transaction(tx, [
        leg(funded, "USD", "50.00", "DEBIT"),
        leg(merchant, "USD", "49.50", "CREDIT"),
        leg(fees, "USD", "0.50", "CREDIT"),
    ], reference="order-77", metadata={"channel": "web"})
    assert posted.status == "POSTED" and posted.reference == "order-77"
    assert [(lg.account, lg.amount, lg.direction) for lg in posted.legs] == [
        (funded, "50.00", "DEBIT"), (merchant, "49.50", "CREDIT"), (fees, "0.50", "CREDIT")]
    assert (available(client, funded, "USD"), available(client, merchant, "USD"),
            available(client, fees, "USD")) == ("50.00", "49.50", "0.50")
    entry = client.history(merchant, limit=1).entries[0]
    assert (entry.kind, entry.ref, entry.reference, entry.metadata) == ("credit", tx, "order-77", {"channel": "web"})
    assert client.transaction_status(tx).status == "POSTED"
    assert client.post_transaction(tx, [leg(funded, "USD", "50.00", "DEBIT"), leg(merchant, "USD", "49.50", "CREDIT"),
                                        leg(fees, "USD", "0.50", "CREDIT")],
                                   reference="order-77", metadata={"channel": "web"}) == posted  # once


def test_a_currency_exchange_through_a_house_account(client, funded, new_id):
    """carol sells 1 BTC to the house for 60,000.00 USD."""
    house, carol, tx = *opened(client, new_id, "house", "carol"), new_id("fx")
    client.deposit(house, "USD", "100000.00")
    client.deposit(carol, "BTC", "1")
    client.post_transaction(tx, [
        leg(carol, "BTC", "1", "DEBIT"), leg(house, "BTC", "1", "CREDIT"),
        leg(house, "USD", "60000.00", "DEBIT"), leg(carol, "USD", "60000.00", "CREDIT"),
    ])
    assert available(client, carol, "BTC") == "0.00000000"
    assert available(client, carol, "USD") == "60000.00"
    assert (available(client, house, "BTC"), available(client, house, "USD")) == ("1.00000000", "40000.00")


def test_a_refused_debit_rejects_it_and_undoes_the_others(client, new_id):
    rich, poor, dest, tx = *opened(client, new_id, "rich", "poor", "dest"), new_id("tx")
    client.deposit(rich, "USD", "100.00")
    client.deposit(poor, "USD", "1.00")
    legs = [leg(rich, "USD", "10.00", "DEBIT"), leg(poor, "USD", "5.00", "DEBIT"), leg(dest, "USD", "15.00", "CREDIT")]
    message = refused(409, client.post_transaction, tx, legs)
    assert message.startswith(f"transaction {tx} REJECTED: insufficient funds on account {poor}")
    assert (available(client, rich, "USD"), available(client, poor, "USD")) == ("100.00", "1.00")
    assert available(client, dest, "USD") is None
    assert client.transaction_status(tx).status == "REJECTED"
    assert refused(409, client.post_transaction, tx, legs) == message  # the first outcome, again


def test_a_refused_credit_rejects_it_and_refunds_the_debits(client, funded, new_id):
    dest, tx = *opened(client, new_id, "dest"), new_id("tx")
    client.freeze(dest)
    message = refused(409, client.post_transaction, tx, [leg(funded, "USD", "10.00", "DEBIT"),
                                                         leg(dest, "USD", "10.00", "CREDIT")])
    assert "REJECTED" in message and "frozen" in message
    assert available(client, funded, "USD") == "100.00"
    kinds = [e.kind for e in client.history(funded, limit=2).entries]
    assert kinds == ["refund", "debit"]


def test_an_unknown_account_rejects_it(client, funded, new_id):
    tx, nobody = new_id("tx"), new_id("nobody")
    message = refused(409, client.post_transaction, tx, [leg(funded, "USD", "1.00", "DEBIT"),
                                                         leg(nobody, "USD", "1.00", "CREDIT")])
    assert f"account {nobody} is not open" in message
    assert available(client, funded, "USD") == "100.00"


def test_unbalanced_or_malformed_legs_are_400_and_move_nothing(client, funded, new_id):
    other = new_id("o")
    tx = new_id("tx")
    message = refused(400, client.post_transaction, tx, [leg(funded, "USD", "10.00", "DEBIT"),
                                                         leg(other, "USD", "9.99", "CREDIT")])
    assert message == "legs: USD debits 10.00 but credits 9.99; each asset's must be equal"
    assert refused(400, client.post_transaction, tx, [leg(funded, "USD", "1.00", "DEBIT")]) == \
        "legs: must be 2 to 64, got 1"
    assert refused(400, client.post_transaction, tx, [
        leg(funded, "USD", "1.00", "DEBIT"), leg(other, "XYZ", "1.00", "CREDIT")]).startswith("legs.1.asset: unknown")
    assert refused(400, client.post_transaction, tx, [
        leg(funded, "USD", "1.001", "DEBIT"), leg(other, "USD", "1.001", "CREDIT")]).startswith("legs.0.amount:")
    assert refused(404, client.transaction_status, tx) == f"transaction {tx} not found"
