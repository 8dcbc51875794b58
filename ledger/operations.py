"""Idempotency of the internal, saga-called operations.

Every debit, credit, refund, reserve, release or capture a saga asks of an
account carries an operation id made of the saga id and the step name. The
account keeps a small record per applied id, so a replayed or retried call
answers as before instead of moving money again.
"""

from __future__ import annotations

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
