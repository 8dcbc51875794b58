"""A balanced multi-leg transaction: its checks, its record and its plan,
and the docs' examples (a transfer with a fee, an exchange through a house
account, a refused leg) run through the plan step by step."""

import json

import pytest

from ledger import account as acc
from ledger import transaction as tx
from ledger.account import Account
from ledger.errors import InvalidInput, LedgerError, Refused
from ledger.invariants import check_accounts_conserve
from ledger.money import ASSETS
from ledger.steps import apply_step
from ledger.transaction import Leg, Status, Transaction


def debit(account, amount, asset="USD") -> Leg:
    return Leg(account, asset, amount, "DEBIT")


def credit(account, amount, asset="USD") -> Leg:
    return Leg(account, asset, amount, "CREDIT")


PAY_WITH_FEE = [debit("alice", 10_100), credit("bob", 10_000), credit("house", 100)]


# --- new ----------------------------------------------------------------------


def test_new_is_pending_with_its_legs():
    t = tx.new("t1", PAY_WITH_FEE, "inv-1", {"k": "v"})
    assert (t.transaction_id, t.legs, t.reference, dict(t.metadata)) == ("t1", tuple(PAY_WITH_FEE), "inv-1", {"k": "v"})
    assert (t.status, t.reason, t.compensation_errors) == (Status.PENDING, None, ())


@pytest.mark.parametrize("n", [0, 1, 65])
def test_new_refuses_fewer_than_2_or_more_than_64_legs(n):
    legs = [debit("a", 1), credit("b", 1)] * 33
    with pytest.raises(InvalidInput) as caught:
        tx.new("t1", legs[:n])
    assert caught.value.status_code == 400
    assert caught.value.message == f"legs: must be 2 to 64, got {n}"


def test_new_takes_64_legs():
    assert len(tx.new("t1", [debit("a", 1), credit("b", 1)] * 32).legs) == 64


@pytest.mark.parametrize("legs, message", [
    ([debit("a", 1000), credit("b", 999)], "legs: USD debits 10.00 but credits 9.99; each asset's must be equal"),
    ([debit("a", 1, "EUR"), debit("b", 1, "EUR")],
     "legs: EUR debits 0.02 but credits 0.00; each asset's must be equal"),
    ([credit("a", 5, "BTC"), credit("b", 5, "BTC")],
     "legs: BTC debits 0.00000000 but credits 0.00000010; each asset's must be equal"),
    # Balanced in total, not per asset: the first asset that is off is named.
    ([debit("a", 100, "USD"), credit("b", 100, "EUR")],
     "legs: USD debits 1.00 but credits 0.00; each asset's must be equal"),
], ids=["the-issue's", "only-debits", "only-credits", "across-assets"])
def test_new_refuses_unbalanced_legs_naming_the_asset_and_both_sums(legs, message):
    with pytest.raises(InvalidInput) as caught:
        tx.new("t1", legs)
    assert caught.value.message == message


def test_balanced_per_asset_is_all_it_takes():
    legs = [debit("a", 100), credit("a", 100), debit("a", 7, "BTC"), credit("b", 3, "BTC"), credit("c", 4, "BTC")]
    assert tx.unbalanced(tuple(legs)) is None
    assert tx.new("t1", legs).legs == tuple(legs)


def test_a_leg_is_checked_where_it_is_made():
    with pytest.raises(AssertionError):
        Leg("a", "XYZ", 1, "DEBIT")
    with pytest.raises(AssertionError):
        Leg("a", "USD", 0, "CREDIT")
    with pytest.raises(AssertionError):
        Leg("a", "USD", 1, "debit")


# --- resubmitted --------------------------------------------------------------


def test_the_same_request_again_answers_the_first_whatever_its_outcome():
    for first in (tx.new("t1", PAY_WITH_FEE, "inv-1", {"k": "v"}),
                  tx.posted(tx.new("t1", PAY_WITH_FEE, "inv-1", {"k": "v"})),
                  tx.rejected(tx.new("t1", PAY_WITH_FEE, "inv-1", {"k": "v"}), "account bob is frozen")):
        assert tx.resubmitted(first, tx.new("t1", list(PAY_WITH_FEE), "inv-1", {"k": "v"})) is first


def test_no_metadata_and_empty_metadata_are_the_same_request():
    first = tx.new("t1", PAY_WITH_FEE)
    assert tx.resubmitted(first, tx.new("t1", PAY_WITH_FEE, None, {})) is first


@pytest.mark.parametrize("again", [
    tx.new("t1", [debit("alice", 10_101), credit("bob", 10_001), credit("house", 100)], "inv-1", {"k": "v"}),
    tx.new("t1", list(reversed(PAY_WITH_FEE)), "inv-1", {"k": "v"}),
    tx.new("t1", PAY_WITH_FEE, "inv-2", {"k": "v"}),
    tx.new("t1", PAY_WITH_FEE, None, {"k": "v"}),
    tx.new("t1", PAY_WITH_FEE, "inv-1", {"k": "w"}),
    tx.new("t1", PAY_WITH_FEE, "inv-1"),
], ids=["amounts", "leg-order", "reference", "no-reference", "metadata", "no-metadata"])
def test_a_different_request_under_the_same_id_is_refused(again):
    first = tx.posted(tx.new("t1", PAY_WITH_FEE, "inv-1", {"k": "v"}))
    with pytest.raises(Refused) as caught:
        tx.resubmitted(first, again)
    assert caught.value.status_code == 409
    assert caught.value.message == "transaction t1 already exists with other parameters (3 legs)"


# --- outcomes and records ----------------------------------------------------------


def test_posted_and_rejected_are_final():
    t = tx.new("t1", PAY_WITH_FEE)
    assert tx.posted(t).status is Status.POSTED and tx.posted(t).reason is None
    r = tx.rejected(t, "account bob is frozen", ("refund refused: x",))
    assert (r.status, r.reason, r.compensation_errors) == (
        Status.REJECTED, "account bob is frozen", ("refund refused: x",))
    for done in (tx.posted(t), r):
        with pytest.raises(AssertionError):
            tx.posted(done)
        with pytest.raises(AssertionError):
            tx.rejected(done, "again")


def test_the_record_refuses_a_reason_without_a_rejection():
    with pytest.raises(AssertionError):
        Transaction("t1", tuple(PAY_WITH_FEE), status=Status.POSTED, reason="why")
    with pytest.raises(AssertionError):
        Transaction("t1", (debit("a", 1), credit("b", 2)))


@pytest.mark.parametrize("t", [
    tx.new("t1", PAY_WITH_FEE),
    tx.posted(tx.new("t1", PAY_WITH_FEE, "inv-1", {"k": "v", "note": ""})),
    tx.rejected(tx.new("t1", PAY_WITH_FEE, "inv-1"), "account bob is frozen", ("a", "b")),
], ids=["pending", "posted", "rejected"])
def test_a_record_survives_json(t):
    record = json.loads(json.dumps(t.to_record()))
    assert Transaction.from_record(record) == t
    assert record["legs"][0] == ["alice", "USD", 10_100, "DEBIT"]
    assert record["status"] == t.status.value


# --- the plan ----------------------------------------------------------------------


def test_prepare_debits_the_debit_legs_and_accepts_the_credit_legs_per_account_in_leg_order():
    legs = [debit("house", 5, "BTC"), credit("alice", 5, "BTC"), debit("alice", 150_000), credit("house", 150_000)]
    t = tx.new("x1", legs, "fx-9", {"k": "v"})
    plan = tx.prepare(t)
    assert list(plan) == ["house", "alice"]
    assert [(s.op, s.kind, s.amount_minor, s.asset, s.ref) for s in plan["house"]] == [
        ("transaction:x1:leg-0-debit", "debit", 5, "BTC", "x1"),
        ("transaction:x1:leg-3-accept", "accept", 150_000, "USD", None),
    ]
    assert [(s.op, s.kind) for s in plan["alice"]] == [
        ("transaction:x1:leg-1-accept", "accept"), ("transaction:x1:leg-2-debit", "debit")]
    assert all(s.reference == "fx-9" and dict(s.metadata) == {"k": "v"} for s in plan["house"])


def test_credits_and_refunds():
    t = tx.new("t1", PAY_WITH_FEE + [debit("carol", 5), credit("bob", 5)])
    assert {who: [(s.op, s.kind, s.amount_minor, s.ref) for s in steps] for who, steps in tx.credits(t).items()} == {
        "bob": [("transaction:t1:leg-1-credit", "credit", 10_000, "t1"),
                ("transaction:t1:leg-4-credit", "credit", 5, "t1")],
        "house": [("transaction:t1:leg-2-credit", "credit", 100, "t1")],
    }
    refunds = tx.refunds(t, {"carol", "bob"})  # only the debits of accounts whose call applied
    assert {who: [(s.op, s.kind, s.amount_minor) for s in steps] for who, steps in refunds.items()} == {
        "carol": [("transaction:t1:leg-3-refund", "refund", 5)],
    }
    assert tx.refunds(t, set()) == {}


# --- the examples, run through the plan -----------------------------------------------


class Ledger:
    """Accounts and their operation records; each call atomic, as `settle` is."""

    def __init__(self, **funded: dict[str, int]):
        self.accounts: dict[str, Account] = {}
        self.ops: dict = {}
        self.inflow: dict[str, int] = {}
        for who, balances in funded.items():
            account = acc.open_account(None, who, None).account
            for code, minor in balances.items():
                account = acc.deposit(account, ASSETS[code], minor).account
                self.inflow[code] = self.inflow.get(code, 0) + minor
            self.accounts[who] = account

    def call(self, who, steps) -> str | None:
        current, done = self.accounts.get(who), []
        if current is None:
            return f"account {who} is not open"
        try:
            for step in steps:
                made = apply_step(current, step, self.ops.get((who, step.op)))
                if made is not None:
                    current = made[0].account
                    done.append(made[1])
        except LedgerError as err:
            return err.message
        self.accounts[who] = current
        self.ops.update(((who, op.op_id), op) for op in done)
        return None

    def post(self, t: Transaction) -> Transaction:
        """actors/transaction.py's post, pure."""
        plan = tx.prepare(t)
        answers = {who: self.call(who, steps) for who, steps in plan.items()}
        refused = [m for m in answers.values() if m is not None]
        if refused:
            finish, done = tx.refunds(t, {w for w, m in answers.items() if m is None}), tx.rejected(t, refused[0])
        else:
            finish, done = tx.credits(t), tx.posted(t)
        for who, steps in finish.items():
            assert self.call(who, steps) is None
        check_accounts_conserve(self.accounts.values(), self.inflow)
        return done

    def available(self, who, code="USD") -> int:
        return self.accounts[who].balance(code).available_minor


def test_a_transfer_with_a_fee():
    ledger = Ledger(alice={"USD": 20_000}, bob={}, house={})
    done = ledger.post(tx.new("t1", PAY_WITH_FEE, "inv-1"))
    assert done.status is Status.POSTED
    assert [ledger.available(w) for w in ("alice", "bob", "house")] == [9_900, 10_000, 100]
    assert ledger.post(tx.new("t1", PAY_WITH_FEE, "inv-1")).status is Status.POSTED  # replayed: nothing twice
    assert [ledger.available(w) for w in ("alice", "bob", "house")] == [9_900, 10_000, 100]


def test_an_exchange_through_a_house_account():
    # alice sells 0.001 BTC for 60.00 USD; the house takes 0.50 USD.
    legs = [debit("alice", 100_000, "BTC"), credit("house", 100_000, "BTC"),
            debit("house", 5_950), credit("alice", 5_950)]
    ledger = Ledger(alice={"BTC": 100_000}, house={"USD": 1_000_000})
    assert ledger.post(tx.new("x1", legs)).status is Status.POSTED
    assert (ledger.available("alice", "BTC"), ledger.available("alice")) == (0, 5_950)
    assert (ledger.available("house", "BTC"), ledger.available("house")) == (100_000, 994_050)


@pytest.mark.parametrize("setup, reason", [
    (lambda ledger: ledger.accounts.update(bob=acc.freeze(ledger.accounts["bob"]).account), "account bob is frozen"),
    (lambda ledger: ledger.accounts.pop("bob"), "account bob is not open"),
    (lambda ledger: ledger.accounts.update(alice=acc.withdraw(ledger.accounts["alice"], ASSETS["USD"], 10_001).account),
     "insufficient funds on account alice: available 99.99 USD, requested 101.00 USD"),
], ids=["frozen-credit", "unknown-credit", "short-debit"])
def test_a_refused_leg_leaves_every_balance_as_it_was(setup, reason):
    ledger = Ledger(alice={"USD": 20_000}, bob={}, house={})
    setup(ledger)
    ledger.inflow["USD"] = sum(a.balance("USD").total_minor for a in ledger.accounts.values())
    before = {who: a.balances for who, a in ledger.accounts.items()}
    done = ledger.post(tx.new("t1", PAY_WITH_FEE))
    assert (done.status, done.reason) == (Status.REJECTED, reason)
    assert {who: a.balances for who, a in ledger.accounts.items()} == before
