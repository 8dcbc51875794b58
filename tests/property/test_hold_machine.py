"""A stateful machine over the pure model of public holds and transactions.

Holds (place, capture all or part, to a target or out of the ledger, a
capture refused by a frozen or unopened target and tried again, void,
expiry), an order's holds in the same accounts, and balanced multi-leg
transactions (some refused) run interleaved with opens, deposits,
withdrawals, freezes and unfreezes. Each operation is driven the way
actors/hold.py and actors/transaction.py drive it: its steps, built per
account, go through ledger.steps.apply_step one call at a time, each call
atomic (a call with a refused step applies none of its steps, as the
Account's `settle` does), phase by phase:

place:     reserve on the source (refused: REJECTED, nothing held);
capture:   no target: capture + release of the rest, one call on the source;
           a target: capture on the source and accept on the target; if the
           target refused, restore on the source (the hold stays HELD), else
           credit on the target and release of the rest on the source;
void:      release of all (expiry: the same, if the hold is still HELD);
post:      debits and accepts, one call per account; then credits, or the
           refunds of the accounts whose call applied.

A shadow of plain ints and strings, updated only from its own predictions,
says what each operation must do; after every rule the real accounts,
hold records and transaction records must equal it, money must be
conserved against the shadow's net inflow, and every step applied so far
replays as a no-op. Between the calls of one operation, no money may have
been created.
"""

import json
from collections import defaultdict

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ledger import account as acc
from ledger import hold as hl
from ledger import transaction as tx
from ledger.account import Account, hold_key
from ledger.errors import InvalidInput, LedgerError, Refused
from ledger.hold import Hold
from ledger.invariants import check_account, check_accounts_conserve
from ledger.money import ASSETS
from ledger.operations import Operation, op_id
from ledger.steps import Step, apply_step
from ledger.transaction import Leg, Transaction

ACCOUNT_IDS = ["a0", "a1", "a2", "a3", "a4"]
ASSET_CODES = ["USD", "EUR", "BTC"]
NOW_MS = 1_700_000_000_000

account_ids = st.sampled_from(ACCOUNT_IDS)
# Mostly the three opened at the start, so most operations meet money.
busy_ids = st.sampled_from([*ACCOUNT_IDS[:3] * 3, *ACCOUNT_IDS[3:]])
leg_ids = st.sampled_from([*ACCOUNT_IDS[:3] * 6, *ACCOUNT_IDS[3:]])
assets = st.sampled_from(ASSET_CODES)
# Small against the initial 5,000 of each asset, so refusals for funds come up.
amounts = st.integers(1, 3_000)
targets = st.sampled_from([None, None, *ACCOUNT_IDS[:3] * 2, *ACCOUNT_IDS[3:]])
expiries = st.none() | st.integers(1, hl.MAX_EXPIRES_IN_S)
references = st.none() | st.sampled_from(["inv-1", "payout 7", "Zürich/42"])
metadatas = st.none() | st.sampled_from([{}, {"k": "v"}, {"invoice": "A-1", "note": ""}])
# How much of a hold a capture asks for: all (no amount), named edges, or any.
portions = st.sampled_from(["all", "exact", "half", "one", "more"]) | amounts


class HoldMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # --- the real state, as the objects would store it ---
        self.accounts: dict[str, Account] = {}
        self.ops: dict[tuple[str, str], Operation] = {}  # (account, op id) -> its record
        self.hold_records: dict[str, str] = {}  # hold id -> its record as JSON
        self.tx_records: dict[str, str] = {}  # transaction id -> its record as JSON
        self.applied: list[tuple[str, Step]] = []  # every step that wrote, in order
        # --- the shadow: plain ints and strings, updated from predictions only ---
        self.is_open: set[str] = set()
        self.is_frozen: set[str] = set()
        self.available: dict[tuple[str, str], int] = defaultdict(int)
        self.live: dict[str, dict[str, tuple[str, int]]] = defaultdict(dict)  # account -> "kind:id" -> (asset, amount)
        self.count: dict[str, int] = defaultdict(int)  # history entries per account
        self.net_inflow: dict[str, int] = defaultdict(int)
        self.holds: dict[str, dict] = {}  # hold id -> what the shadow says of it
        self.orders: list[tuple[str, str]] = []  # (account, order id) of live order holds
        self.txs: dict[str, str] = {}  # transaction id -> status
        self.next_id = 0
        self.next_order = 0

    def new_id(self, prefix: str) -> str:
        self.next_id += 1
        return f"{prefix}{self.next_id}"

    # --- the shell's calls, pure ------------------------------------------------

    def call(self, account_id: str, steps: list[Step]) -> str | None:
        """One atomic `settle` call: the refusal's message, or None once
        every step applied (or was found applied before)."""
        existing = self.accounts.get(account_id)
        if existing is None:
            return f"account {account_id} is not open"
        current, done = existing, []
        try:
            for step in steps:
                made = apply_step(current, step, self.ops.get((account_id, step.op)))
                if made is not None:
                    change, op = made
                    assert change.entry.reference == step.reference, (change.entry, step)
                    done.append((step, op))
                    current = change.account
        except LedgerError as err:  # the call is refused whole: none of its steps is kept
            return err.message
        self.accounts[account_id] = current
        for step, op in done:
            assert (account_id, op.op_id) not in self.ops, op
            self.ops[account_id, op.op_id] = op
            self.applied.append((account_id, step))
        self.no_money_created()
        return None

    def must_apply(self, account_id: str, steps: list[Step]) -> None:
        """A call the shell expects never to be refused."""
        refused = self.call(account_id, steps)
        assert refused is None, (account_id, steps, refused)

    def replay(self, since: int) -> None:
        """Every step applied since `since`, asked again with its recorded
        operation: a retry or a replay. None applies twice."""
        for account_id, step in self.applied[since:]:
            assert apply_step(self.accounts[account_id], step, self.ops[account_id, step.op]) is None, step

    def no_money_created(self) -> None:
        """Mid-operation, money may be in flight (gone from one account, not
        yet in another), never in two places."""
        totals: dict[str, int] = defaultdict(int)
        for account in self.accounts.values():
            for code, b in account.balances.items():
                totals[code] += b.available_minor + b.reserved_minor
        for code, total in totals.items():
            assert total <= self.net_inflow[code], (code, total, self.net_inflow[code])

    def load_hold(self, hold_id: str) -> Hold:
        return Hold.from_record(json.loads(self.hold_records[hold_id]))

    def store_hold(self, h: Hold) -> None:
        self.hold_records[h.hold_id] = json.dumps(h.to_record())

    # --- shadow predictions -----------------------------------------------------

    def reserved(self, account_id: str, code: str) -> int:
        return sum(m for c, m in self.live[account_id].values() if c == code)

    def refusal_to_take(self, account_id: str, code: str, amount: int) -> str | None:
        """The start of the message a debit or reserve must be refused with."""
        if account_id not in self.is_open:
            return f"account {account_id} is not open"
        if account_id in self.is_frozen:
            return f"account {account_id} is frozen"
        if self.available[account_id, code] < amount:
            return f"insufficient funds on account {account_id}: "
        return None

    def refusal_to_accept(self, account_id: str | None) -> str | None:
        # Amounts stay far below the ceiling: only not open and frozen refuse.
        if account_id not in self.is_open:
            return f"account {account_id} is not open"
        if account_id in self.is_frozen:
            return f"account {account_id} is frozen"
        return None

    @staticmethod
    def matches(message: str | None, expected: str | None) -> bool:
        if expected is None or message is None:
            return message is expected
        return message.startswith(expected)

    # --- accounts -----------------------------------------------------------------

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
        self.accounts[account_id] = change.account
        self.is_open.add(account_id)
        self.count[account_id] += 1

    @rule(account_id=account_ids, code=assets, amount=amounts)
    def deposit(self, account_id, code, amount):
        expected = self.refusal_to_accept(account_id)
        try:
            change = acc.deposit(acc.require_open(self.accounts.get(account_id), account_id), ASSETS[code], amount)
        except LedgerError as err:
            assert self.matches(err.message, expected), (err.message, expected)
            return
        assert expected is None
        self.accounts[account_id] = change.account
        self.available[account_id, code] += amount
        self.net_inflow[code] += amount
        self.count[account_id] += 1

    @rule(account_id=account_ids, code=assets, amount=amounts)
    def withdraw(self, account_id, code, amount):
        expected = self.refusal_to_take(account_id, code, amount)
        try:
            change = acc.withdraw(acc.require_open(self.accounts.get(account_id), account_id), ASSETS[code], amount)
        except LedgerError as err:
            assert self.matches(err.message, expected), (err.message, expected)
            return
        assert expected is None
        self.accounts[account_id] = change.account
        self.available[account_id, code] -= amount
        self.net_inflow[code] -= amount
        self.count[account_id] += 1

    @rule(account_id=account_ids, frozen=st.sampled_from([True, False, False]))
    def freeze_or_unfreeze(self, account_id, frozen):
        self.set_frozen(account_id, frozen)

    def set_frozen(self, account_id: str, frozen: bool) -> None:
        if account_id not in self.is_open:
            return
        change = (acc.freeze if frozen else acc.unfreeze)(self.accounts[account_id])
        if (account_id in self.is_frozen) == frozen:
            assert change is None
            return
        self.accounts[account_id] = change.account
        (self.is_frozen.add if frozen else self.is_frozen.discard)(account_id)
        self.count[account_id] += 1

    # --- an order's holds, in the same accounts --------------------------------------

    @rule(account_id=account_ids, code=assets, amount=amounts)
    def order_reserves(self, account_id, code, amount):
        # Ids from the holds' own counter's range, so 'order:hN' and 'hold:hN'
        # meet in one account: their kinds keep them apart.
        self.next_order += 1
        order_id = f"h{self.next_order}"
        step = Step(op_id("order", order_id, "reserve"), "reserve", amount,
                    hold=hold_key("order", order_id), asset=code)
        expected = self.refusal_to_take(account_id, code, amount)
        since = len(self.applied)
        refused = self.call(account_id, [step])
        assert self.matches(refused, expected), (refused, expected)
        if refused is None:
            self.available[account_id, code] -= amount
            self.live[account_id][f"order:{order_id}"] = (code, amount)
            self.count[account_id] += 1
            self.orders.append((account_id, order_id))
        self.replay(since)

    @rule(data=st.data())
    def order_releases(self, data):
        if not self.orders:
            return
        account_id, order_id = data.draw(st.sampled_from(self.orders))
        code, amount = self.live[account_id][f"order:{order_id}"]
        step = Step(op_id("order", order_id, "release"), "release", amount, hold=hold_key("order", order_id))
        since = len(self.applied)
        self.must_apply(account_id, [step])  # allowed on a frozen account: the owner's own funds
        self.orders.remove((account_id, order_id))
        del self.live[account_id][f"order:{order_id}"]
        self.available[account_id, code] += amount
        self.count[account_id] += 1
        self.replay(since)

    # --- holds ------------------------------------------------------------------

    # (`target` names rule()'s own argument, so the hold's is `to`.)
    @rule(source=busy_ids, to=targets, code=assets, amount=amounts, expires_in_s=expiries,
          reference=references, metadata=metadatas)
    def place(self, source, to, code, amount, expires_in_s, reference, metadata):
        target = to
        hold_id = self.new_id("h")
        if target == source:
            try:
                hl.new(hold_id, source, target, ASSETS[code], amount, expires_in_s, reference, metadata)
            except InvalidInput as err:
                assert err.message == f"target: must differ from source ({source})"
                return
            raise AssertionError("a hold to its own source was accepted")
        asked = hl.new(hold_id, source, target, ASSETS[code], amount, expires_in_s, reference, metadata)
        self.store_hold(asked)
        expected = self.refusal_to_take(source, code, amount)
        since = len(self.applied)
        refused = self.call(source, [hl.reserve_step(asked)])
        assert self.matches(refused, expected), (refused, expected)
        if refused is None:
            done = hl.held(asked, NOW_MS)
            self.available[source, code] -= amount
            self.live[source][f"hold:{hold_id}"] = (code, amount)
            self.count[source] += 1
            status = "HELD"
        else:
            done = hl.rejected(asked, refused)
            status = "REJECTED"
            event(f"place refused: {why(refused)}")
        self.store_hold(done)
        self.holds[hold_id] = {
            "source": source, "target": target, "asset": code, "amount": amount, "status": status,
            "captured": 0, "attempts": 0, "expires": expires_in_s, "reason": refused,
        }
        self.replay(since)

    # The same again between funded accounts, so that most holds are HELD
    # and a run sees many captures, voids and expiries.
    @rule(pair=st.permutations(ACCOUNT_IDS[:3]), payout=st.booleans(), code=assets, amount=amounts,
          expires_in_s=expiries)
    def place_between_funded_accounts(self, pair, payout, code, amount, expires_in_s):
        self.place(pair[0], None if payout else pair[1], code, amount, expires_in_s, None, None)

    @rule(data=st.data())
    def resubmit_a_hold(self, data):
        hold_id = self.pick_hold(data, lambda s: True)
        if hold_id is None:
            return
        first = self.load_hold(hold_id)
        s = self.holds[hold_id]
        again = hl.new(hold_id, s["source"], s["target"], ASSETS[s["asset"]], s["amount"], s["expires"],
                       first.reference, first.metadata and dict(first.metadata))
        assert hl.resubmitted(first, again) is first
        other = hl.new(hold_id, s["source"], s["target"], ASSETS[s["asset"]], s["amount"] + 1, s["expires"],
                       first.reference, first.metadata)
        try:
            hl.resubmitted(first, other)
        except Refused as err:
            assert err.message.startswith(f"hold {hold_id} already exists with other parameters")
        else:
            raise AssertionError("another request under a used hold id was accepted")

    def pick_hold(self, data, which) -> str | None:
        """A hold the shadow says `which` of; None if there is none."""
        ids = sorted(k for k, s in self.holds.items() if which(s))
        return data.draw(st.sampled_from(ids)) if ids else None

    # Mostly a HELD hold, sometimes any (which must be refused unless HELD).
    @rule(data=st.data(), portion=portions, freeze_between=st.booleans(), any_hold=st.booleans())
    def capture(self, data, portion, freeze_between, any_hold):
        hold_id = self.pick_hold(data, lambda s: any_hold or s["status"] == "HELD")
        if hold_id is not None:
            self.try_capture(hold_id, portion, freeze_between)

    @rule(data=st.data(), portion=portions)
    def capture_refused_by_the_target_then_retried(self, data, portion):
        hold_id = self.pick_hold(data, lambda s: s["status"] == "HELD" and s["target"])
        if hold_id is None:
            return
        target = self.holds[hold_id]["target"]
        if target in self.is_open:
            self.set_frozen(target, True)
        self.try_capture(hold_id, portion, freeze_between=False)
        assert self.holds[hold_id]["status"] == "HELD"
        if target in self.is_open:
            self.set_frozen(target, False)
        else:
            self.open(target)
        self.try_capture(hold_id, portion, freeze_between=False)

    def try_capture(self, hold_id: str, portion, freeze_between: bool) -> None:
        s = self.holds[hold_id]
        amount = {"all": None, "exact": s["amount"], "half": max(s["amount"] // 2, 1), "one": 1,
                  "more": s["amount"] + 1}.get(portion, portion)
        h = self.load_hold(hold_id)
        # The shadow's prediction, before the hold is asked anything.
        if s["status"] != "HELD":
            expected = f"hold {hold_id} is {s['status']}; only a HELD hold can be captured"
        elif amount is not None and amount > s["amount"]:
            expected = f"hold {hold_id} holds "
        else:
            expected = None
        try:
            take_minor = hl.to_capture(h, amount)
            h = hl.attempted(h)
        except Refused as err:
            assert self.matches(err.message, expected), (err.message, expected)
            event("capture refused by the hold")
            return
        assert expected is None, expected
        take_minor_shadow = s["amount"] if amount is None else amount
        assert take_minor == take_minor_shadow
        self.store_hold(h)
        s["attempts"] += 1
        since = len(self.applied)
        source, target, code = s["source"], s["target"], s["asset"]
        rest = s["amount"] - take_minor_shadow
        plan = hl.capture_plan(h, take_minor)
        take, release = plan.take, [plan.rest] if plan.rest else []
        assert [step.amount_minor for step in release] == ([rest] if rest else [])
        if target is None:
            self.must_apply(source, [take, *release])
            self.net_inflow[code] -= take_minor_shadow  # paid out of the ledger
            event("captured out of the ledger")
        else:
            expected = self.refusal_to_accept(target)
            self.must_apply(source, [take])  # a HELD hold's own capture is never refused
            refused = self.call(target, [plan.accept])
            assert self.matches(refused, expected), (refused, expected)
            if refused is not None:
                self.must_apply(source, [plan.restore])
                self.count[source] += 2  # the capture and its restore
                real = self.accounts[source].holds[hold_key("hold", hold_id)]
                assert (real.asset, real.amount_minor) == (code, s["amount"])
                event("capture refused by the target: restored")
                self.replay(since)
                return
            if freeze_between:  # a freeze landing after the accept: the credit still lands
                self.set_frozen(target, True)
            self.must_apply(target, [plan.credit])
            if release:
                self.must_apply(source, release)
            self.available[target, code] += take_minor_shadow
            self.count[target] += 1
            event("captured to a target")
        self.store_hold(hl.captured(h, take_minor))
        del self.live[source][f"hold:{hold_id}"]
        self.available[source, code] += rest
        self.count[source] += 1 + bool(rest)
        s.update(status="CAPTURED", captured=take_minor_shadow)
        self.replay(since)

    @rule(data=st.data(), any_hold=st.booleans())
    def void(self, data, any_hold):
        hold_id = self.pick_hold(data, lambda s: any_hold or s["status"] == "HELD")
        if hold_id is None:
            return
        h = self.load_hold(hold_id)
        s = self.holds[hold_id]
        try:
            hl.require_held(h, "voided")
        except Refused as err:
            assert s["status"] != "HELD"
            assert err.message == f"hold {hold_id} is {s['status']}; only a HELD hold can be voided"
            return
        assert s["status"] == "HELD"
        self.end(h, hl.voided(h), "void", "VOIDED")
        event("voided")

    @rule(data=st.data())
    def expire(self, data):
        hold_id = self.pick_hold(data, lambda s: s["expires"] is not None)
        if hold_id is None:
            return
        h = self.load_hold(hold_id)
        s = self.holds[hold_id]
        assert h.expires_at_ms == (None if s["status"] == "REJECTED" else NOW_MS + s["expires"] * 1000)
        if h.status is not hl.Status.HELD:  # the timer finds it final: nothing changes
            assert s["status"] != "HELD"
            return
        assert s["status"] == "HELD"
        self.end(h, hl.expired(h), "expire", "EXPIRED")
        event("expired")

    def end(self, h: Hold, done: Hold, name: str, status: str) -> None:
        s = self.holds[h.hold_id]
        since = len(self.applied)
        self.must_apply(s["source"], [hl.end_step(h, name)])
        self.store_hold(done)
        del self.live[s["source"]][f"hold:{h.hold_id}"]
        self.available[s["source"], s["asset"]] += s["amount"]
        self.count[s["source"]] += 1
        s["status"] = status
        self.replay(since)

    # --- transactions -------------------------------------------------------------

    @rule(data=st.data(), freeze_between=st.booleans())
    def post_transaction(self, data, freeze_between):
        legs = data.draw(st.permutations(self.draw_balanced_legs(data)))
        t = tx.new(self.new_id("t"), legs, data.draw(references), data.draw(metadatas))
        self.tx_records[t.transaction_id] = json.dumps(t.to_record())
        expected = self.predict_refusals(legs)
        since = len(self.applied)
        plan = tx.prepare(t)
        answers = {who: self.call(who, steps) for who, steps in plan.items()}
        for who, refused in answers.items():
            assert self.matches(refused, expected.get(who)), (who, refused, expected.get(who))
        refused = [m for m in answers.values() if m is not None]
        if refused:
            first = next(who for who in plan if who in expected)  # the plan's order: the legs'
            assert refused[0].startswith(expected[first]), (refused[0], expected[first])
            debited = {who for who, m in answers.items() if m is None}
            for who, steps in tx.refunds(t, debited).items():
                self.must_apply(who, steps)
            done = tx.rejected(t, refused[0])
            for leg in legs:  # a debit and its refund on each account whose call applied
                self.count[leg.account] += 2 * (leg.direction == "DEBIT" and leg.account in debited)
            event(f"transaction rejected: {why(refused[0])}")
        else:
            if freeze_between:  # every account accepted; a freeze now does not stop a credit
                self.set_frozen(next(leg.account for leg in legs if leg.direction == "CREDIT"), True)
            for who, steps in tx.credits(t).items():
                self.must_apply(who, steps)
            done = tx.posted(t)
            for leg in legs:
                sign = -1 if leg.direction == "DEBIT" else 1
                self.available[leg.account, leg.asset] += sign * leg.amount_minor
                self.count[leg.account] += 1
            event("transaction posted")
        self.tx_records[t.transaction_id] = json.dumps(done.to_record())
        self.txs[t.transaction_id] = "REJECTED" if expected else "POSTED"
        self.replay(since)

    @staticmethod
    def draw_balanced_legs(data) -> list[Leg]:
        """One or two assets, each split into 1 to 3 debits and 1 to 3 credits
        of the same sum, between any accounts (opened or not)."""
        legs = []
        for code in data.draw(st.lists(assets, min_size=1, max_size=2, unique=True)):
            debits = data.draw(st.lists(st.integers(1, 4_000), min_size=1, max_size=3))
            total = sum(debits)
            cuts = sorted(data.draw(st.sets(st.integers(1, total - 1), max_size=min(2, total - 1)))
                          if total > 1 else [])
            credits = [b - a for a, b in zip([0, *cuts], [*cuts, total])]
            legs += [Leg(data.draw(leg_ids), code, m, "DEBIT") for m in debits]
            legs += [Leg(data.draw(leg_ids), code, m, "CREDIT") for m in credits]
        assert sum(m.amount_minor for m in legs if m.direction == "DEBIT") == sum(
            m.amount_minor for m in legs if m.direction == "CREDIT")
        return legs

    def predict_refusals(self, legs: list[Leg]) -> dict[str, str]:
        """Each account that must refuse its call, and the start of its
        message: not open, frozen, or short in an asset of the sum of its debits."""
        out: dict[str, str] = {}
        debits: dict[tuple[str, str], int] = defaultdict(int)
        for leg in legs:
            if leg.direction == "DEBIT":
                debits[leg.account, leg.asset] += leg.amount_minor
        for leg in legs:
            who = leg.account
            expected = self.refusal_to_accept(who)
            if expected is None and any(self.available[a, c] < m for (a, c), m in debits.items() if a == who):
                expected = f"insufficient funds on account {who}: "
            if expected is not None:
                out[who] = expected
        return out

    # --- replays --------------------------------------------------------------------

    @rule(data=st.data())
    def replay_an_old_step(self, data):
        if not self.applied:
            return
        i = data.draw(st.integers(0, len(self.applied) - 1))
        self.replay(i)

    # --- invariants -----------------------------------------------------------------

    @invariant()
    def accounts_match_the_shadow(self):
        assert set(self.accounts) == self.is_open
        for account_id, account in self.accounts.items():
            check_account(account)
            assert Account.from_record(account_id, json.loads(json.dumps(account.to_record()))) == account
            assert account.frozen == (account_id in self.is_frozen)
            assert account.history_count == self.count[account_id], account_id
            real_holds = {k: (h.asset, h.amount_minor) for k, h in account.holds.items()}
            assert real_holds == self.live[account_id], account_id
            for code in ASSET_CODES:
                b = account.balance(code)
                assert b.available_minor == self.available[account_id, code] >= 0, (account_id, code)
                assert b.reserved_minor == self.reserved(account_id, code) >= 0, (account_id, code)

    @invariant()
    def money_is_conserved(self):
        check_accounts_conserve(self.accounts.values(), self.net_inflow)

    @invariant()
    def holds_agree_with_the_shadow(self):
        for hold_id, s in self.holds.items():
            h = self.load_hold(hold_id)
            assert (h.source, h.target, h.asset, h.amount_minor) == (s["source"], s["target"], s["asset"], s["amount"])
            assert h.status.value == s["status"], (h, s)
            assert (h.captured_minor, h.attempts, h.reason) == (s["captured"], s["attempts"], s["reason"]), (h, s)
            live = f"hold:{hold_id}" in self.live[s["source"]]
            assert live == (s["status"] == "HELD"), (h, s)

    @invariant()
    def transactions_agree_with_the_shadow(self):
        for tid, status in self.txs.items():
            t = Transaction.from_record(json.loads(self.tx_records[tid]))
            assert t.status.value == status and (t.reason is None) == (status == "POSTED"), t


def why(message: str) -> str:
    """A refusal's cause, for hypothesis's statistics."""
    return next(w for w in ("not open", "frozen", "insufficient") if w in message)


HoldMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=50, deadline=None)
TestHoldMachine = HoldMachine.TestCase
