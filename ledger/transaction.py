"""A balanced multi-leg transaction: its record, its checks and its plan.

Legs debit and credit accounts; per asset, debits equal credits. All legs
post, or none does in the end. The plan, in two phases of one call per
account each:

1. every debited account debits its legs, and every credited account
   accepts its legs (refuses now what it would refuse then: frozen, not
   open, past the cap), all at once, each account all or nothing;
2. if all of phase 1 applied, every credited account is credited (never
   refused: it accepted); if any account refused, the debits that applied
   are refunded and the transaction is REJECTED.

No reader ever sees money created: a credit lands only after every debit
has left. Between the phases the money is in flight (missing, never twice).
An account frozen after it accepted still receives its credit, as a trade's
counterparty does: the transaction was decided when every leg was checked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Mapping

from ledger.errors import InvalidInput, Refused
from ledger.money import ASSETS, format_amount
from ledger.operations import op_id
from ledger.steps import Step
from ledger.tags import frozen_metadata, plain

MIN_LEGS, MAX_LEGS = 2, 64


class Status(str, Enum):
    PENDING = "PENDING"
    POSTED = "POSTED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class Leg:
    account: str
    asset: str
    amount_minor: int
    direction: str  # "DEBIT" or "CREDIT"

    def __post_init__(self) -> None:
        assert self.asset in ASSETS and self.amount_minor > 0 and self.direction in ("DEBIT", "CREDIT"), self

    def to_record(self) -> list:
        return [self.account, self.asset, self.amount_minor, self.direction]


@dataclass(frozen=True)
class Transaction:
    transaction_id: str
    legs: tuple[Leg, ...]
    reference: str | None = None
    metadata: Mapping[str, str] | None = None
    status: Status = Status.PENDING
    reason: str | None = None
    compensation_errors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        assert MIN_LEGS <= len(self.legs) <= MAX_LEGS and not unbalanced(self.legs), self
        assert (self.reason is not None) == (self.status is Status.REJECTED), self

    def same_request(self, other: "Transaction") -> bool:
        return (self.legs, self.reference, plain(self.metadata)) == (other.legs, other.reference, plain(other.metadata))

    def to_record(self) -> dict:
        rec = {f.name: getattr(self, f.name) for f in fields(self)}
        rec.update(status=self.status.value, legs=[leg.to_record() for leg in self.legs],
                   metadata=plain(self.metadata), compensation_errors=list(self.compensation_errors))
        return rec

    @classmethod
    def from_record(cls, rec: dict) -> "Transaction":
        return cls(**{**rec, "status": Status(rec["status"]), "legs": tuple(Leg(*leg) for leg in rec["legs"]),
                      "metadata": frozen_metadata(rec["metadata"]),
                      "compensation_errors": tuple(rec["compensation_errors"])})


def unbalanced(legs: tuple[Leg, ...]) -> str | None:
    """The first asset whose debits and credits differ, said with both sums; None if balanced."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: {"DEBIT": 0, "CREDIT": 0})
    for leg in legs:
        sums[leg.asset][leg.direction] += leg.amount_minor
    for code, by in sums.items():
        if by["DEBIT"] != by["CREDIT"]:
            asset = ASSETS[code]
            return (f"{code} debits {format_amount(by['DEBIT'], asset)} but credits "
                    f"{format_amount(by['CREDIT'], asset)}; each asset's must be equal")
    return None


def new(transaction_id: str, legs: list[Leg], reference: str | None = None,
        metadata: Mapping[str, str] | None = None) -> Transaction:
    if not MIN_LEGS <= len(legs) <= MAX_LEGS:
        raise InvalidInput(f"legs: must be {MIN_LEGS} to {MAX_LEGS}, got {len(legs)}")
    problem = unbalanced(tuple(legs))
    if problem is not None:
        raise InvalidInput(f"legs: {problem}")
    return Transaction(transaction_id, tuple(legs), reference, frozen_metadata(metadata))


def resubmitted(first: Transaction, again: Transaction) -> Transaction:
    if not first.same_request(again):
        raise Refused(f"transaction {first.transaction_id} already exists with other parameters "
                      f"({len(first.legs)} legs)")
    return first


def _step(t: Transaction, i: int, kind: str) -> Step:
    leg = t.legs[i]
    return Step(op_id("transaction", t.transaction_id, f"leg-{i}-{kind}"), kind, leg.amount_minor,
                asset=leg.asset, ref=None if kind == "accept" else t.transaction_id,
                reference=t.reference, metadata=t.metadata)


def _per_account(t: Transaction, kind_of: Mapping[str, str], only: set[str] | None = None) -> dict[str, list[Step]]:
    """Each account's steps, in leg order: `kind_of` maps a direction to the
    step it takes (a direction left out takes none)."""
    plan: dict[str, list[Step]] = defaultdict(list)
    for i, leg in enumerate(t.legs):
        kind = kind_of.get(leg.direction)
        if kind is not None and (only is None or leg.account in only):
            plan[leg.account].append(_step(t, i, kind))
    return dict(plan)


def prepare(t: Transaction) -> dict[str, list[Step]]:
    """Phase 1: debit every debit leg, accept every credit leg."""
    return _per_account(t, {"DEBIT": "debit", "CREDIT": "accept"})


def credits(t: Transaction) -> dict[str, list[Step]]:
    """Phase 2 once every account agreed: credit every credit leg."""
    return _per_account(t, {"CREDIT": "credit"})


def refunds(t: Transaction, debited: set[str]) -> dict[str, list[Step]]:
    """Phase 2 once an account refused: give back the debits of the
    accounts whose phase-1 call applied."""
    return _per_account(t, {"DEBIT": "refund"}, only=debited)


def posted(t: Transaction) -> Transaction:
    assert t.status is Status.PENDING, t
    return replace(t, status=Status.POSTED)


def rejected(t: Transaction, reason: str, compensation_errors: tuple[str, ...] = ()) -> Transaction:
    assert t.status is Status.PENDING, t
    return replace(t, status=Status.REJECTED, reason=reason, compensation_errors=compensation_errors)
