"""A batch, run the way actors/batch.py runs it, against a sequential model.

The run: ledger.batch checks the items and plans phase 1 (each source's
debits and each target's acceptances, one call per account); each call
applies its steps one by one, not atomically, recorded as one call, as
the Account's `settle` does with a batch's call id and atomic=False (a refused step is answered with its reason, the
others apply; an account that is not open refuses every step); decide()
turns the refusals into results and phase 2 (credits and refunds, never
refused), applied in calls of any size.

The model is ledger/batch.py's documented semantics, written here with
plain ints and none of the code it judges: for each item in order, FAILED
if its source is not open, frozen, or short of the amount against its
balance less the debits of the batch's earlier items (credits of the batch
never count); else COMPENSATED if its target is not open or frozen (the
debit is refunded); else COMPLETED (the target is credited).

The results (status and reason) and every final balance must equal the
model's; money is conserved, nothing is negative, and running both phases
again (a retry) changes nothing.
"""

from collections import defaultdict

from hypothesis import event, given, settings
from hypothesis import strategies as st

from ledger import account as acc
from ledger import batch as bt
from ledger.account import Account
from ledger.errors import LedgerError
from ledger.invariants import check_account, check_accounts_conserve
from ledger.money import ASSETS
from ledger.operations import CallRecord
from ledger.steps import Step, apply_call, in_calls

ACCOUNT_IDS = ["b0", "b1", "b2", "b3", "b4", "b5"]
ASSET_CODES = ["USD", "EUR"]  # both with two decimals, which the model's messages assume
BATCH_ID = "pay-1"


@st.composite
def scenarios(draw):
    """Accounts (open, frozen or never opened) with small balances, and up to
    50 items between them with small amounts, so that some fail."""
    states = {a: draw(st.sampled_from(["open", "open", "open", "frozen", "missing"])) for a in ACCOUNT_IDS}
    balances = {(a, c): draw(st.integers(0, 300)) if states[a] != "missing" else 0
                for a in ACCOUNT_IDS for c in ASSET_CODES}
    n = draw(st.integers(1, 50))
    ids = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n, unique=True))
    items = []
    for k in ids:
        source, target = draw(st.permutations(ACCOUNT_IDS))[:2]
        items.append(bt.Item(f"item-{k}", source, target, draw(st.sampled_from(ASSET_CODES)),
                             draw(st.integers(1, 150)), draw(st.none() | st.just(f"ref-{k}")),
                             draw(st.none() | st.just({"k": str(k)}))))
    return states, balances, items


# --- the model --------------------------------------------------------------


def shown(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def refusal(state: str, account_id: str) -> str | None:
    return {"missing": f"account {account_id} is not open",
            "frozen": f"account {account_id} is frozen"}.get(state)


def model(states, balances, items):
    """(results as (id, status, reason), final available per (account, asset),
    history entries each account gains), item by item."""
    running = dict(balances)  # less the debits so far; the batch's credits never count
    final_in = defaultdict(int)
    entries = defaultdict(int)
    results = []
    for item in items:
        s, t, code, amount = item.source, item.target, item.asset, item.amount_minor
        reason = refusal(states[s], s)
        if reason is None and running[s, code] < amount:
            reason = (f"insufficient funds on account {s}: available {shown(running[s, code])} {code}, "
                      f"requested {shown(amount)} {code}")
        if reason is not None:
            results.append((item.item_id, "FAILED", reason))
            continue
        running[s, code] -= amount
        entries[s] += 1
        reason = refusal(states[t], t)
        if reason is not None:
            results.append((item.item_id, "COMPENSATED", reason))
            final_in[s, code] += amount
            entries[s] += 1
        else:
            results.append((item.item_id, "COMPLETED", None))
            final_in[t, code] += amount
            entries[t] += 1
    final = {key: running[key] + final_in[key] for key in running}
    return results, final, entries


# --- the run, as the shell does it ------------------------------------------------


class Ledger:
    def __init__(self, states, balances):
        self.accounts: dict[str, Account] = {}
        self.calls: dict[tuple[str, str], CallRecord] = {}
        self.applied: list[tuple[str, str]] = []  # (account, operation id) of every step that moved money
        for a, state in states.items():
            if state == "missing":
                continue
            account = acc.open_account(None, a, None).account
            for code in ASSET_CODES:
                if balances[a, code]:
                    account = acc.deposit(account, ASSETS[code], balances[a, code]).account
            if state == "frozen":
                account = acc.freeze(account).account
            self.accounts[a] = account

    def settle(self, who: str, call_id: str, steps: list[Step], atomic: bool) -> dict[str, str]:
        """One call's refusals (operation id -> reason), as Account.settle
        decides a batch's call: recorded as one (apply_call); atomic: none or all."""
        current = self.accounts.get(who)
        if current is None:
            assert not atomic, (who, steps)  # phase 2 never meets an account that is not open
            return {s.op: f"account {who} is not open" for s in steps}
        try:
            applied, call = apply_call(current, call_id, steps, self.calls.get((who, call_id)), atomic)
        except LedgerError as err:  # only an atomic call raises
            raise AssertionError(f"phase 2 is never refused: {who} {err.message}") from err
        self.accounts[who] = applied.account
        self.calls[who, call_id] = call
        self.applied += [(who, op.op_id) for _, op in applied.done]
        return applied.refused

    def phase(self, calls: list[tuple[str, str, list[Step]]], atomic: bool) -> dict[str, str]:
        """Every call of a phase (they run at once: in any order), then the
        same calls asked again after they answered, as a retry would: the
        retry must apply nothing and answer the same refusals. Answers the
        refusals of the first round."""
        refused: dict[str, str] = {}
        for who, call_id, steps in calls:
            refused.update(self.settle(who, call_id, steps, atomic))
        accounts, recorded, applied = dict(self.accounts), dict(self.calls), list(self.applied)
        again: dict[str, str] = {}
        for who, call_id, steps in calls:
            again.update(self.settle(who, call_id, steps, atomic))
        assert again == refused and (self.accounts, self.calls, self.applied) == (accounts, recorded, applied)
        return refused

    def run(self, items, order: list[str], per_call: int) -> list[bt.Result]:
        """Phase 1 in one call per account, then phase 2 in calls of `per_call` steps."""
        plan = bt.prepare(BATCH_ID, items)
        assert set(plan) == {i.source for i in items} | {i.target for i in items}
        refused = self.phase([(who, bt.call_id(BATCH_ID, 1), plan[who]) for who in sorted(plan, key=order.index)],
                             atomic=False)
        results, finish = bt.decide(BATCH_ID, items, refused)
        self.phase([(who, bt.call_id(BATCH_ID, 2, i), part) for who in sorted(finish, key=order.index)
                    for i, part in enumerate(in_calls(finish[who], per_call))], atomic=True)
        return results


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios(), order=st.permutations(ACCOUNT_IDS), per_call=st.integers(1, 8))
def test_a_batch_does_what_the_sequential_model_says(scenario, order, per_call):
    states, balances, items = scenario
    bt.check(items)
    expected, final, entries = model(states, balances, items)
    ledger = Ledger(states, balances)
    before = {a: account.history_count for a, account in ledger.accounts.items()}

    results = ledger.run(items, order, per_call)

    assert [(r.item_id, r.status.value, r.reason) for r in results] == expected
    for status in ("COMPLETED", "FAILED", "COMPENSATED"):
        if any(r[1] == status for r in expected):
            event(status)
    assert set(ledger.accounts) == {a for a, s in states.items() if s != "missing"}
    for a, account in ledger.accounts.items():
        check_account(account)
        assert account.frozen == (states[a] == "frozen") and not account.holds
        assert account.history_count == before[a] + entries[a], a
        for code in ASSET_CODES:
            b = account.balance(code)
            assert (b.available_minor, b.reserved_minor) == (final[a, code], 0), (a, code)
            assert b.available_minor >= 0
    inflow = defaultdict(int)
    for (a, code), minor in balances.items():
        inflow[code] += minor
    check_accounts_conserve(ledger.accounts.values(), inflow)
    # Every operation applied once: each item's debit, and its credit or refund.
    assert len(ledger.applied) == len(set(ledger.applied)) == sum(entries.values())
