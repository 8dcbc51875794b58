"""Batches over HTTP: each item COMPLETED, FAILED or COMPENSATED, debits
before credits, the batch id used once for ever."""

from tests.integration.helpers import refused


def item(item_id: str, source: str, target: str, amount: str, asset: str = "USD", **tags) -> dict:
    return {"id": item_id, "source": source, "target": target, "asset": asset, "amount": amount, **tags}


def available(client, account: str, asset: str = "USD") -> str | None:
    b = client.balance(account).balances.get(asset)
    return None if b is None else b.available


def test_a_payroll_with_every_outcome(client, funded, new_id):
    erin, fred, frozen, batch = new_id("erin"), new_id("fred"), new_id("frozen"), new_id("b")
    for account in (erin, fred, frozen):
        client.open(account)
    client.freeze(frozen)
    answer = client.run_batch(batch, [
        item("p1", funded, erin, "30.00", reference="slip-1"),
        item("p2", funded, fred, "50.00"),
        item("p3", funded, erin, "30.00"),   # 20.00 left after p1 and p2: refused
        item("p4", funded, frozen, "10.00"),  # debited, the target refuses: refunded
        item("p5", funded, new_id("nobody"), "1.00"),
    ])
    assert answer.status == "COMPLETED"
    assert [(r.id, r.status) for r in answer.results] == [
        ("p1", "COMPLETED"), ("p2", "COMPLETED"), ("p3", "FAILED"), ("p4", "COMPENSATED"), ("p5", "COMPENSATED")]
    assert answer.results[2].reason.startswith(f"insufficient funds on account {funded}")
    assert "frozen" in answer.results[3].reason
    assert (available(client, funded), available(client, erin), available(client, fred)) == ("20.00", "30.00", "50.00")
    entry = client.history(erin, limit=1).entries[0]
    assert (entry.kind, entry.ref, entry.reference) == ("credit", f"{batch}:p1", "slip-1")
    assert client.batch_status(batch) == answer


def test_debits_come_before_credits(client, new_id):
    """b cannot pass on what a pays it in the same batch."""
    a, b, c, batch = new_id("a"), new_id("b"), new_id("c"), new_id("b")
    for account in (a, b, c):
        client.open(account)
    client.deposit(a, "USD", "10.00")
    answer = client.run_batch(batch, [item("1", a, b, "10.00"), item("2", b, c, "10.00")])
    assert [r.status for r in answer.results] == ["COMPLETED", "FAILED"]
    assert (available(client, a), available(client, b), available(client, c)) == ("0.00", "10.00", None)


def test_the_same_id_answers_the_first_run_and_other_items_409(client, funded, new_id):
    other, batch = new_id("o"), new_id("b")
    client.open(other)
    items = [item("1", funded, other, "1.00")]
    first = client.run_batch(batch, items)
    assert client.run_batch(batch, items) == first
    assert available(client, funded) == "99.00"  # once
    assert refused(409, client.run_batch, batch, [item("1", funded, other, "2.00")]) == \
        f"batch {batch} already exists with other transfers"


def test_bad_items_are_400_and_move_nothing(client, funded, new_id):
    other, batch = new_id("o"), new_id("b")
    client.open(other)
    assert refused(400, client.run_batch, batch, []) == "transfers: must be 1 to 1000, got 0"
    assert refused(400, client.run_batch, batch, [item("1", funded, other, "1.00"), item("1", funded, other, "1.00")]) \
        == "transfers.1.id: '1' appears twice in the batch"
    assert refused(400, client.run_batch, batch, [item("1", funded, funded, "1.00")]).startswith("transfers.0.target:")
    assert refused(400, client.run_batch, batch, [item("1", funded, other, "1", asset="XYZ")]).startswith(
        "transfers.0.asset: unknown")
    assert refused(404, client.batch_status, batch) == f"batch {batch} not found"
    assert available(client, funded) == "100.00"


def test_a_thousand_items_in_one_request(client, new_id):
    accounts = [new_id("k") for _ in range(10)]
    for account in accounts:
        client.open(account)
        client.deposit(account, "USD", "100.00")
    items = [item(f"i{n}", accounts[n % 10], accounts[(n + 1) % 10], "0.01") for n in range(1000)]
    answer = client.run_batch(new_id("b"), items)
    assert all(r.status == "COMPLETED" for r in answer.results) and len(answer.results) == 1000
    assert [available(client, a) for a in accounts] == ["100.00"] * 10  # each paid as much as it was paid


def test_a_batch_account_history_in_groups_pages_every_record_once(client, new_id):
    """A batch's call keeps its records in groups of up to 100 under one
    key each (ledger/history.py): 250 debits from one source make three.
    Pages of every size, from every cursor, must still give each record
    once, in order, between the deposit before and the withdrawal after."""
    source, targets = new_id("src"), [new_id("t") for _ in range(3)]
    for account in (source, *targets):
        client.open(account)
    client.deposit(source, "USD", "10.00")
    batch = new_id("b")
    items = [item(f"i{n}", source, targets[n % 3], "0.01") for n in range(250)]
    assert {r.status for r in client.run_batch(batch, items).results} == {"COMPLETED"}
    client.withdraw(source, "USD", "1.00")
    # The oracle: what was sent, in order (open, deposit, 250 debits, withdraw), newest first.
    expected = [("withdraw", None)] + [("debit", f"{batch}:i{n}") for n in reversed(range(250))] + \
        [("deposit", None), ("open", None)]
    for limit in (1, 7, 20, 99, 100):
        seen, before = [], None
        for _ in range(len(expected) + 1):  # bounded: a page gives at least one record
            page = client.history(source, limit=limit, before=before)
            seen += [(e.kind, e.ref if e.kind == "debit" else None) for e in page.entries]
            assert [e.seq for e in page.entries] == list(range(len(expected) - len(seen) + len(page.entries),
                                                                len(expected) - len(seen), -1))
            before = page.next
            if before is None:
                break
        assert seen == expected, limit
    # A cursor a client makes up, inside a group, answers the records below it.
    page = client.history(source, limit=3, before=150)
    assert [e.seq for e in page.entries] == [149, 148, 147]
    assert [e.ref for e in page.entries] == [f"{batch}:i{n}" for n in (146, 145, 144)]
    # Every entry, grouped or not, carries the balance after it.
    balances = [e.balance_after.available for e in client.history(source, limit=2).entries]
    assert balances == ["6.50", "7.50"]
