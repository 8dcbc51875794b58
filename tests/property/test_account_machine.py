"""A stateful machine over the pure account model.

Random sequences of opens, deposits, withdrawals, freezes, transfers (composed
from debit / credit / refund as the saga composes them) and holds run against
`ledger.account`, while a shadow model of plain ints predicts every outcome
on its own. After each step the ledger's invariants must hold and the real
accounts must equal the shadow.

Captured funds leave the system (paid to an outside counterparty), so net
inflow per asset is deposits - withdrawals - captures.
"""

from collections import defaultdict

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ledger import account as acc
from ledger import transfer as tr
from ledger.account import Account, Balance
from ledger.errors import LedgerError, NotFound, Refused
from ledger.invariants import (
    InvariantViolation,
    check_account,
    check_accounts_conserve,
    check_conservation,
    totals_by_asset,
)
from ledger.money import ASSETS, MAX_MINOR
from ledger.transfer import Status

ACCOUNT_IDS = ["a0", "a1", "a2", "a3", "a4"]
ASSET_CODES = ["USD", "BTC", "ETH"]
# Few, so "hold already exists" comes up; an order's and a hold's with the
# same id, so their keys are seen to keep them apart.
HOLD_IDS = ["order:h0", "hold:h0", "order:h1", "hold:h2"]

account_ids = st.sampled_from(ACCOUNT_IDS)
assets = st.sampled_from(ASSET_CODES)
hold_ids = st.sampled_from(HOLD_IDS)
# Mostly small, so balances run out now and then; sometimes huge, so the
# MAX_MINOR ceiling is reached too.
amounts = st.one_of(
    st.integers(1, 2_000),
    st.integers(1, 2_000),
    st.integers(1, 2_000),
    st.sampled_from([MAX_MINOR, MAX_MINOR // 2, MAX_MINOR - 1]),
)
# How much of a hold to release or capture: named portions relative to what
# is left, so its edges (all of it, one more than it) come up as often as
# arbitrary amounts do.
portions = st.sampled_from(["rest", "all", "half", "one_more"]) | amounts
pairs = st.permutations(ACCOUNT_IDS).map(lambda p: (p[0], p[1]))


class AccountMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.accounts: dict[str, Account] = {}
        # the shadow: plain ints and sets, updated from predictions only
        self.is_open: set[str] = set()
        self.is_frozen: set[str] = set()
        self.available: dict[tuple[str, str], int] = defaultdict(int)
        self.holds: dict[str, dict[str, tuple[str, int]]] = defaultdict(dict)
        self.count: dict[str, int] = defaultdict(int)
        self.net_inflow: dict[str, int] = defaultdict(int)
        # (transfer, source/target available before, and after)
        self.transfers: list[tuple[tr.Transfer, tuple[int, int], tuple[int, int]]] = []

    # --- shadow predictions ------------------------------------------------

    def reserved(self, account_id: str, code: str) -> int:
        return sum(m for c, m in self.holds[account_id].values() if c == code)

    def total(self, account_id: str, code: str) -> int:
        return self.available[account_id, code] + self.reserved(account_id, code)

    def refusal_to_add(self, account_id, code, amount):
        if account_id not in self.is_open:
            return NotFound
        if account_id in self.is_frozen:
            return Refused
        if self.total(account_id, code) + amount > MAX_MINOR:
            return Refused
        return None

    def refusal_to_take(self, account_id, code, amount):
        if account_id not in self.is_open:
            return NotFound
        if account_id in self.is_frozen or self.available[account_id, code] < amount:
            return Refused
        return None

    # --- applying a transition to the real accounts --------------------------

    def attempt(self, account_id: str, expected_error, transition):
        """Run one transition on the real account; check that it refused
        exactly when the shadow said so, and that a refusal changed nothing."""
        existing = self.accounts.get(account_id)
        before = None if existing is None else existing.to_record()
        try:
            change = transition(acc.require_open(existing, account_id))
        except LedgerError as err:
            assert expected_error is not None, f"unexpected refusal: {err.message}"
            assert type(err) is expected_error, (type(err), expected_error, err.message)
            event(f"refused: {type(err).__name__}")
            assert self.accounts.get(account_id) is existing
            assert (None if existing is None else existing.to_record()) == before
            return None
        assert expected_error is None, f"expected {expected_error.__name__}, it succeeded"
        assert change.account.history_count == existing.history_count + 1
        self.accounts[account_id] = change.account
        self.count[account_id] += 1
        return change

    # --- rules ---------------------------------------------------------------

    # Three funded accounts from the start, so transfers and holds mostly meet
    # money; a3 and a4 start unopened, so "not open" keeps coming up.
    @initialize()
    def open_and_fund_three(self):
        for account_id in ACCOUNT_IDS[:3]:
            self.open(account_id)
            for code in ASSET_CODES:
                self.deposit(account_id, code, 5_000)

    @rule(account_id=account_ids)
    def open(self, account_id):
        change = acc.open_account(self.accounts.get(account_id), account_id, None)
        if account_id in self.is_open:
            assert change is None
            return
        assert change is not None
        self.accounts[account_id] = change.account
        self.is_open.add(account_id)
        self.count[account_id] = 1

    @rule(account_id=account_ids, code=assets, amount=amounts)
    def deposit(self, account_id, code, amount):
        expected = self.refusal_to_add(account_id, code, amount)
        if self.attempt(account_id, expected, lambda a: acc.deposit(a, ASSETS[code], amount)):
            self.available[account_id, code] += amount
            self.net_inflow[code] += amount

    # Brings a balance to just under, or exactly at, the ceiling, so that the
    # next credit or deposit meets MAX_MINOR with reserved funds counted in.
    @rule(account_id=account_ids, code=assets, gap=st.integers(0, 3))
    def deposit_to_the_ceiling(self, account_id, code, gap):
        amount = MAX_MINOR - gap - self.total(account_id, code)
        if amount > 0:
            self.deposit(account_id, code, amount)

    @rule(account_id=account_ids, code=assets, amount=amounts)
    def withdraw(self, account_id, code, amount):
        expected = self.refusal_to_take(account_id, code, amount)
        if self.attempt(account_id, expected, lambda a: acc.withdraw(a, ASSETS[code], amount)):
            self.available[account_id, code] -= amount
            self.net_inflow[code] -= amount

    @rule(account_id=account_ids)
    def freeze(self, account_id):
        self._toggle(account_id, acc.freeze, frozen=True)

    @rule(account_id=account_ids)
    def unfreeze(self, account_id):
        self._toggle(account_id, acc.unfreeze, frozen=False)

    def _toggle(self, account_id, transition, frozen: bool):
        if account_id not in self.is_open:
            self.attempt(account_id, NotFound, transition)
            return
        change = transition(self.accounts[account_id])
        if (account_id in self.is_frozen) == frozen:
            assert change is None  # already so: idempotent, no history
            return
        assert change is not None and change.account.frozen is frozen
        self.accounts[account_id] = change.account
        self.count[account_id] += 1
        (self.is_frozen.add if frozen else self.is_frozen.discard)(account_id)

    @rule(pair=pairs, code=assets, amount=amounts)
    def transfer(self, pair, code, amount):
        source, target = pair
        asset = ASSETS[code]
        t = tr.new(f"t{len(self.transfers)}", source, target, asset, amount)
        before = (self.available[source, code], self.available[target, code])

        # The shadow's prediction, from plain ints.
        if self.refusal_to_take(source, code, amount):
            predicted = Status.FAILED
        elif self.refusal_to_add(target, code, amount):
            predicted = Status.COMPENSATED
        else:
            predicted = Status.COMPLETED

        # The saga: debit, then credit, refunding the debit if the credit is refused.
        ref = t.transfer_id
        try:
            debited = acc.debit(self.require_open(source), asset, amount, ref)
        except LedgerError as err:
            t = tr.finish(t, Status.FAILED, err.message)
        else:
            self.accounts[source] = debited.account
            try:
                credited = acc.credit(self.require_open(target), asset, amount, ref)
            except LedgerError as err:
                # Must never be refused: it gives back what was just taken.
                refunded = acc.refund(self.accounts[source], asset, amount, ref)
                self.accounts[source] = refunded.account
                t = tr.finish(t, Status.COMPENSATED, err.message)
            else:
                self.accounts[target] = credited.account
                t = tr.finish(t, Status.COMPLETED)

        assert t.status is predicted, (t, predicted)
        event(f"transfer {t.status.value}")
        if predicted is Status.COMPLETED:
            self.available[source, code] -= amount
            self.available[target, code] += amount
            self.count[source] += 1
            self.count[target] += 1
        elif predicted is Status.COMPENSATED:
            self.count[source] += 2  # the debit and its refund
        after = (self.real_available(source, code), self.real_available(target, code))
        self.transfers.append((t, before, after))

    @rule(data=st.data())
    def resubmit_transfer(self, data):
        if not self.transfers:
            return
        first, _, _ = data.draw(st.sampled_from(self.transfers))
        asked = (first.transfer_id, first.source, first.target, ASSETS[first.asset])
        assert tr.resubmitted(first, tr.new(*asked, first.amount_minor)) is first
        other = tr.new(*asked, first.amount_minor + 1)
        try:
            tr.resubmitted(first, other)
        except Refused:
            pass
        else:
            raise AssertionError("a different request under a used id was accepted")

    @rule(account_id=account_ids, hold_id=hold_ids, code=assets, amount=amounts)
    def reserve(self, account_id, hold_id, code, amount):
        expected = self.refusal_to_take(account_id, code, amount)
        if expected is None and hold_id in self.holds[account_id]:
            expected = Refused
        if self.attempt(
            account_id, expected, lambda a: acc.reserve(a, hold_id, ASSETS[code], amount)
        ):
            self.available[account_id, code] -= amount
            self.holds[account_id][hold_id] = (code, amount)

    @rule(account_id=account_ids, hold_id=hold_ids, portion=portions)
    def release(self, account_id, hold_id, portion):
        code, left = self.holds[account_id].get(hold_id, (None, 0))
        amount = self._resolve(portion, left)  # None: release's own "all that is left"
        expected = self._refusal_within_hold(account_id, hold_id, amount)
        if self.attempt(account_id, expected, lambda a: acc.release(a, hold_id, amount)):
            taken = left if amount is None else amount
            self.available[account_id, code] += taken
            self._shrink(account_id, hold_id, taken)

    @rule(account_id=account_ids, hold_id=hold_ids, portion=portions)
    def capture(self, account_id, hold_id, portion):
        code, left = self.holds[account_id].get(hold_id, (None, 0))
        # capture always takes an amount: "rest" means all of it here
        amount = self._resolve("all" if portion == "rest" else portion, left)
        expected = self._refusal_within_hold(account_id, hold_id, amount)
        if self.attempt(account_id, expected, lambda a: acc.capture(a, hold_id, amount)):
            self._shrink(account_id, hold_id, amount)
            self.net_inflow[code] -= amount

    @staticmethod
    def _resolve(portion, left: int) -> int | None:
        if isinstance(portion, int):
            return portion
        left = max(left, 1)  # an unknown hold still gets a valid amount
        return {"rest": None, "all": left, "half": max(left // 2, 1), "one_more": left + 1}[portion]

    def _refusal_within_hold(self, account_id, hold_id, amount):
        if account_id not in self.is_open or hold_id not in self.holds[account_id]:
            return NotFound
        _, left = self.holds[account_id][hold_id]
        return Refused if amount is not None and amount > left else None

    def _shrink(self, account_id, hold_id, amount):
        code, left = self.holds[account_id][hold_id]
        if left == amount:
            del self.holds[account_id][hold_id]
        else:
            self.holds[account_id][hold_id] = (code, left - amount)

    # --- reading the real accounts -------------------------------------------

    def require_open(self, account_id):
        return acc.require_open(self.accounts.get(account_id), account_id)

    def real_available(self, account_id, code):
        account = self.accounts.get(account_id)
        return 0 if account is None else account.balance(code).available_minor

    # --- invariants ----------------------------------------------------------

    @invariant()
    def every_account_is_consistent(self):
        for account in self.accounts.values():
            check_account(account)
            assert Account.from_record(account.account_id, account.to_record()) == account

    @invariant()
    def money_is_conserved(self):
        check_accounts_conserve(self.accounts.values(), self.net_inflow)

    @invariant()
    def accounts_match_the_shadow(self):
        assert set(self.accounts) == self.is_open
        for account_id, account in self.accounts.items():
            assert account.frozen == (account_id in self.is_frozen)
            assert account.history_count == self.count[account_id]
            real_holds = {h.hold_id: (h.asset, h.amount_minor) for h in account.holds.values()}
            assert real_holds == self.holds[account_id]
            for code in ASSET_CODES:
                b = account.balance(code)
                assert b.available_minor == self.available[account_id, code], (account_id, code)
                assert b.reserved_minor == self.reserved(account_id, code), (account_id, code)

    @invariant()
    def transfers_are_terminal_and_moved_money_only_when_completed(self):
        for t, (source_before, target_before), after in self.transfers:
            assert t.terminal, t
            if t.status is Status.COMPLETED:
                assert after == (source_before - t.amount_minor, target_before + t.amount_minor), t
                assert t.reason is None
            else:
                assert after == (source_before, target_before), t
                assert t.reason


AccountMachine.TestCase.settings = settings(
    max_examples=400, stateful_step_count=50, deadline=None
)
TestAccountMachine = AccountMachine.TestCase


def test_the_checks_the_machine_relies_on_do_reject_violations():
    # Without this, a check that always passes would make the machine vacuous.
    with pytest.raises(InvariantViolation):
        check_conservation({"USD": 100, "BTC": 5}, {"USD": 100, "BTC": 4})
    with pytest.raises(InvariantViolation):
        check_conservation({"USD": 100}, {"USD": 100, "ETH": 1})
    with pytest.raises(InvariantViolation):
        check_conservation({"USD": 100, "EUR": 1}, {"USD": 100})
    check_conservation({"USD": 100, "BTC": 0}, {"USD": 100})
    totals = totals_by_asset([{"USD": (70, 10)}, {"USD": (5, 0), "BTC": (1, 2)}])
    assert totals == {"USD": 85, "BTC": 3}
    with pytest.raises(InvariantViolation):
        check_account(Account("a0", balances={"USD": Balance(0, 1)}))
