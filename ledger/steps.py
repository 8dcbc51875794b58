"""The steps a saga asks of one account in one call, decided in one place.

Every multi-account movement (a trade's settlement, a hold's capture, a
transaction's legs, a batch's items) groups what it asks of each account
into steps and sends them in one call per account per phase: the call costs
one invocation however many steps it carries. Each step is idempotent by its
own operation id: a step applied before answers as applied, the same id
with other parameters is refused (ledger/operations.py).

The kinds, and which may be refused:
- `debit` takes available funds (refused: frozen, insufficient);
- `accept` refuses now what a credit would be refused for, changing nothing;
- `credit` pays in what an earlier `accept` agreed to: never refused;
- `refund` gives back a debit that applied: never refused;
- `reserve` moves available into a hold (refused: frozen, insufficient, cap);
- `restore` puts back under a hold what a capture took: never refused;
- `capture` and `release` take from a hold or give it back;
- `receive` pays in a trade's proceeds: never refused.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ledger import account as acct
from ledger.account import Account, Change
from ledger.errors import LedgerError
from ledger.money import asset as asset_of
from ledger.operations import CallRecord, Operation, already_applied, call_replayed, digest

# What each kind needs besides its op and amount: a hold, an asset, a ref
# (what the history entry names: the transfer, trade or transaction).
NEEDS: Mapping[str, frozenset[str]] = MappingProxyType({
    "debit": frozenset({"asset", "ref"}),
    "accept": frozenset({"asset"}),
    "credit": frozenset({"asset", "ref"}),
    "refund": frozenset({"asset", "ref"}),
    "receive": frozenset({"asset", "ref"}),
    "reserve": frozenset({"hold", "asset"}),
    "restore": frozenset({"hold", "asset"}),
    "capture": frozenset({"hold"}),
    "release": frozenset({"hold"}),
})
KINDS = tuple(NEEDS)
# The kinds that write nothing: they only check.
CHECKS = frozenset({"accept"})


@dataclass(frozen=True)
class Step:
    op: str
    kind: str
    amount_minor: int
    hold: str | None = None
    asset: str | None = None
    ref: str | None = None
    # The caller's, carried to the history entry the step writes.
    reference: str | None = None
    metadata: Mapping[str, str] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        assert self.kind in NEEDS and self.amount_minor > 0, self
        for name in ("hold", "asset", "ref"):
            assert (getattr(self, name) is not None) == (name in NEEDS[self.kind]), (name, self)

    def to_record(self) -> dict:
        return {k: (dict(v) if k == "metadata" else v) for k, v in self.__dict__.items() if v is not None}


def problem(kind: str, present: set[str]) -> str | None:
    """What is wrong with a step of `kind` carrying the fields `present` of
    hold, asset and ref; None if nothing is (for the request's model)."""
    for name in ("hold", "asset", "ref"):
        if (name in present) != (name in NEEDS[kind]):
            article = "an" if kind[0] in "aeiou" else "a"
            return f"{article} {kind} step {'needs' if name in NEEDS[kind] else 'takes no'} {name}"
    return None


def apply_step(account: Account, step: Step, recorded: Operation | None) -> tuple[Change, Operation] | None:
    """The change a step makes and its operation record; None if it makes
    none (applied before, or a check). Raises the account's refusal."""
    if step.kind in CHECKS:
        acct.accept(account, asset_of(step.asset), step.amount_minor)
        return None
    if step.hold is not None and step.asset is None:
        # A hold's last capture or release removes it: the record says its asset.
        if recorded is not None and already_applied(
                recorded, Operation(step.op, step.kind, recorded.asset, step.amount_minor, step.hold)):
            return None
        change = (acct.capture if step.kind == "capture" else acct.release)(account, step.hold, step.amount_minor)
        op = Operation(step.op, step.kind, change.entry.asset, step.amount_minor, step.hold)
    else:
        asset = asset_of(step.asset)
        op = Operation(step.op, step.kind, asset.code, step.amount_minor, step.hold or step.ref)
        if already_applied(recorded, op):
            return None
        change = _transition(account, step, asset)
    return acct.tagged(change, step.reference, step.metadata), op


@dataclass(frozen=True)
class Applied:
    """What one call's steps did: the account after them, each change made
    with its operation, and (not atomic) the refused steps' reasons."""

    account: Account
    done: list[tuple[Change, Operation]]
    refused: dict[str, str]


def apply_steps(account: Account, steps: list[Step], recorded: list[Operation | None], atomic: bool) -> Applied:
    """A call's steps in order, each against what the ones before it left.
    Atomic: the first refusal raises (the caller writes nothing). Not
    atomic: a refused step is kept with its reason and the others apply.
    The acceptances of one call add up per asset: two credits accepted
    together must fit under the largest balance together."""
    assert len(steps) == len(recorded)
    accepted: dict[str, int] = defaultdict(int)
    current, done, refused = account, [], {}
    for step, record in zip(steps, recorded):
        try:
            if step.kind in CHECKS:
                acct.accept(current, asset_of(step.asset), accepted[step.asset] + step.amount_minor)
                accepted[step.asset] += step.amount_minor
                continue
            made = apply_step(current, step, record)
        except LedgerError as err:
            if atomic:
                raise
            refused[step.op] = err.message
            continue
        if made is not None:
            done.append(made)
            current = made[0].account
    return Applied(current, done, refused)


def apply_call(account: Account, call_id: str, steps: list[Step], recorded: CallRecord | None,
               atomic: bool) -> tuple[Applied, CallRecord]:
    """A call recorded as one (ledger/operations.py): its steps as
    `apply_steps` applies them, and the call's record to keep. Replayed, it
    applies nothing and answers the first call's refusals."""
    asked = digest([s.to_record() for s in steps])
    if call_replayed(call_id, recorded, asked):
        return Applied(account, [], dict(recorded.refused)), recorded
    applied = apply_steps(account, steps, [None] * len(steps), atomic)
    return applied, CallRecord(asked, len(applied.done), applied.refused)


def _transition(account: Account, step: Step, asset) -> Change:
    amount = step.amount_minor
    if step.kind == "debit":
        return acct.debit(account, asset, amount, step.ref)
    if step.kind == "credit":
        return acct.credit(account, asset, amount, step.ref, accepted=True)
    if step.kind == "refund":
        return acct.refund(account, asset, amount, step.ref)
    if step.kind == "receive":
        return acct.receive(account, asset, amount, step.ref)
    if step.kind == "reserve":
        return acct.reserve(account, step.hold, asset, amount)
    assert step.kind == "restore", step
    return acct.restore(account, step.hold, asset, amount)


def in_calls(steps: list[Step], per_call: int) -> list[list[Step]]:
    """One account's steps split into calls of at most `per_call`, in order."""
    assert per_call >= 1
    return [steps[i:i + per_call] for i in range(0, len(steps), per_call)]
