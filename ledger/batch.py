"""A batch of transfers, run as one: its items, its plan, its results.

Semantics (docs/transactions.md says the same for users):
- Every item is checked before anything moves: 1 to 1,000 items, ids
  unique within the batch, each a valid transfer (else 400, nothing moves).
- Items are independent: each one completes or not on its own; one item's
  refusal never undoes another's (TigerBeetle's unlinked events).
- Debits before credits. Each source debits its items in item order, each
  against what the source has before any of the batch's credits land: an
  item cannot spend what an earlier item of the same batch paid in. That
  is where we differ from TigerBeetle, which applies item by item; it is
  what lets a batch make one call per account per phase instead of one
  per item.
- An item whose debit is refused (not open, frozen, short) is FAILED and
  moved nothing. One whose target refuses (not open, frozen) is refunded:
  COMPENSATED. The rest are COMPLETED.

The plan, one call per account per phase:
1. each source debits its items and each target accepts its items, all at
   once, each step applying or refused on its own;
2. each target is credited the items that both debited and were accepted
   (never refused: it accepted), and each source is refunded the items
   whose target refused.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping

from ledger.errors import InvalidInput, Refused
from ledger import operations
from ledger.operations import op_id
from ledger.steps import Step
from ledger.tags import plain

MAX_ITEMS = 1000


class Status(str, Enum):
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"  # refused before money moved
    COMPENSATED = "COMPENSATED"  # debited, then the target refused: refunded


@dataclass(frozen=True)
class Item:
    item_id: str
    source: str
    target: str
    asset: str
    amount_minor: int
    reference: str | None = None
    metadata: Mapping[str, str] | None = field(default=None, compare=False)

    def canonical(self) -> list:
        return [self.item_id, self.source, self.target, self.asset, self.amount_minor, self.reference,
                plain(self.metadata)]


@dataclass(frozen=True)
class Result:
    """An item's outcome, with the caller's tags of the item: the batch's
    record keeps them (bounded by the batch's body), as its history entries do."""

    item_id: str
    status: Status
    reason: str | None = None
    reference: str | None = None
    metadata: Mapping[str, str] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        assert (self.reason is None) == (self.status is Status.COMPLETED), self

    def to_record(self) -> dict:
        rec = {"id": self.item_id, "status": self.status.value, "reason": self.reason,
               "reference": self.reference, "metadata": plain(self.metadata)}
        return {k: v for k, v in rec.items() if v is not None}


def check(items: list[Item]) -> None:
    """Every rule an item can break before anything moves (400)."""
    if not 1 <= len(items) <= MAX_ITEMS:
        raise InvalidInput(f"transfers: must be 1 to {MAX_ITEMS}, got {len(items)}")
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.item_id in seen:
            raise InvalidInput(f"transfers.{i}.id: {item.item_id!r} appears twice in the batch")
        seen.add(item.item_id)
        if item.source == item.target:
            raise InvalidInput(f"transfers.{i}.target: must differ from source ({item.source})")


def digest(items: list[Item]) -> str:
    """What the batch asked, in a few bytes: the record keeps this rather
    than up to a MiB of items, and compares it when the id is asked again."""
    return operations.digest([item.canonical() for item in items])


def resubmitted(batch_id: str, first_digest: str, again: list[Item]) -> None:
    if digest(again) != first_digest:
        raise Refused(f"batch {batch_id} already exists with other transfers")


def _op(batch_id: str, item: Item, kind: str) -> str:
    return op_id("batch", batch_id, f"{item.item_id}:{kind}")


def call_id(batch_id: str, phase: int, part: int = 0) -> str:
    """A batch's call on an account, recorded as one (ledger/operations.py):
    each account gets one call in phase 1 and its parts in phase 2."""
    assert phase in (1, 2) and part >= 0
    return op_id("batch", batch_id, f"phase{phase}:{part}")


def ref(batch_id: str, item: Item) -> str:
    """What the item's history entries name: the batch and the item."""
    return f"{batch_id}:{item.item_id}"


def _step(batch_id: str, item: Item, kind: str) -> Step:
    return Step(_op(batch_id, item, kind), kind, item.amount_minor, asset=item.asset,
                ref=None if kind == "accept" else ref(batch_id, item),
                reference=None if kind == "accept" else item.reference,
                metadata=None if kind == "accept" else item.metadata)


def prepare(batch_id: str, items: list[Item]) -> dict[str, list[Step]]:
    """Phase 1: each source's debits and each target's acceptances, in item order."""
    plan: dict[str, list[Step]] = defaultdict(list)
    for item in items:
        plan[item.source].append(_step(batch_id, item, "debit"))
        plan[item.target].append(_step(batch_id, item, "accept"))
    return dict(plan)


def decide(batch_id: str, items: list[Item], refused: Mapping[str, str]) -> tuple[list[Result], dict[str, list[Step]]]:
    """Each item's result from phase 1's refusals (operation id -> reason),
    and phase 2: the credits of the items that go through and the refunds
    of those whose target refused."""
    results, plan = [], defaultdict(list)
    for item in items:
        debit_refused = refused.get(_op(batch_id, item, "debit"))
        accept_refused = refused.get(_op(batch_id, item, "accept"))
        tags = {"reference": item.reference, "metadata": item.metadata}
        if debit_refused is not None:
            results.append(Result(item.item_id, Status.FAILED, debit_refused, **tags))
        elif accept_refused is not None:
            results.append(Result(item.item_id, Status.COMPENSATED, accept_refused, **tags))
            plan[item.source].append(_step(batch_id, item, "refund"))
        else:
            results.append(Result(item.item_id, Status.COMPLETED, **tags))
            plan[item.target].append(_step(batch_id, item, "credit"))
    return results, dict(plan)
