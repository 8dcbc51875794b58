"""Idempotency of the internal, saga-called operations.

Every debit, credit, refund, reserve, release or capture a saga asks of an
account carries an operation id made of the saga id and the step name. The
account keeps a small record per applied id, so a replayed or retried call
answers as before instead of moving money again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ledger.errors import Refused


@dataclass(frozen=True)
class Operation:
    op_id: str
    kind: str
    asset: str | None
    amount_minor: int | None
    ref: str | None = None

    def to_record(self) -> dict:
        # Spelled out: dataclasses.asdict deep-copies, a cost every step pays.
        return {"op_id": self.op_id, "kind": self.kind, "asset": self.asset, "amount_minor": self.amount_minor,
                "ref": self.ref}

    @classmethod
    def from_record(cls, record: dict) -> "Operation":
        return cls(**record)


def op_id(kind: str, saga_id: str, step: str) -> str:
    """Unique per saga kind (transfer, order, trade), id and step."""
    return f"{kind}:{saga_id}:{step}"


def already_applied(recorded: Operation | None, requested: Operation) -> bool:
    """True when `requested` was applied before and must not apply again.

    The same id with other parameters is a caller's bug, refused loudly
    rather than silently answered with the first operation's outcome."""
    if recorded is None:
        return False
    if recorded != requested:
        raise Refused(
            f"operation {requested.op_id} was already applied as {recorded.kind} "
            f"{recorded.amount_minor} {recorded.asset}; it cannot be reused for "
            f"{requested.kind} {requested.amount_minor} {requested.asset}"
        )
    return True


# --- a call recorded as one ------------------------------------------------------
#
# A batch's call on an account carries hundreds of steps. Recording each
# step's operation on its own costs a journal entry to read and one to
# write per step, which is most of what a batched transfer costs the
# engine (docs/benchmarks.md). Such a call carries an id of its own instead
# (its saga's id, phase and part, ledger/batch.py) and the account keeps
# one record of it: a replay of the call finds it and applies nothing. Its
# steps are idempotent through it, exactly: the saga sends each step in
# one call only, always the same.


@dataclass(frozen=True)
class CallRecord:
    """What one recorded call did: a digest of its steps (a reused call id
    with other steps is refused), how many applied, and the refusals."""

    digest: str
    applied: int
    refused: dict[str, str]

    def __post_init__(self) -> None:
        assert len(self.digest) == 64 and self.applied >= 0, self

    def to_record(self) -> dict:
        return {"digest": self.digest, "applied": self.applied, "refused": self.refused}

    @classmethod
    def from_record(cls, record: dict) -> "CallRecord":
        return cls(record["digest"], record["applied"], dict(record["refused"]))


def digest(value) -> str:
    """A request in a few bytes (a batch's items, a call's steps): the same
    value built the same way, the same digest. Records keep it rather than
    the request, and compare it when an id is asked again."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def call_replayed(call_id: str, recorded: CallRecord | None, digest: str) -> bool:
    """True when the call was recorded before (it must apply nothing again);
    the same call id with other steps is a caller's bug, refused loudly."""
    if recorded is None:
        return False
    if recorded.digest != digest:
        raise Refused(f"call {call_id} was already applied with other steps")
    return True
