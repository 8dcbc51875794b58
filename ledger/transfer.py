"""The transfer saga's record: what was asked, where it stands, why.

A transfer id is used once for ever: its record outlives any retention, and
the same id asked again answers the first outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Mapping

from ledger.errors import InvalidInput, Refused
from ledger.money import ASSETS, Asset, format_amount
from ledger.tags import frozen_metadata, plain


class Status(str, Enum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"  # refused before money moved
    COMPENSATED = "COMPENSATED"  # source debited, credit refused, source refunded


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.COMPENSATED})
_NEXT = {Status.PENDING: TERMINAL}


@dataclass(frozen=True)
class Transfer:
    transfer_id: str
    source: str
    target: str
    asset: str
    amount_minor: int
    status: Status = Status.PENDING
    reason: str | None = None
    # Compensations that were refused; kept so an operator can act on them.
    compensation_errors: tuple[str, ...] = ()
    reference: str | None = None
    metadata: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        assert self.amount_minor > 0 and self.asset in ASSETS, self
        assert (self.reason is None) == (self.status in (Status.PENDING, Status.COMPLETED)), self

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def same_request(self, other: "Transfer") -> bool:
        return (self.source, self.target, self.asset, self.amount_minor, self.reference, plain(self.metadata)) == (
            other.source, other.target, other.asset, other.amount_minor, other.reference, plain(other.metadata),
        )

    def to_record(self) -> dict:
        rec = {f.name: getattr(self, f.name) for f in fields(self)}
        rec["status"] = self.status.value
        rec["compensation_errors"] = list(self.compensation_errors)
        rec["metadata"] = plain(self.metadata)
        # The caller's tags only when given: most transfers carry none.
        return {k: v for k, v in rec.items() if v is not None or k not in ("reference", "metadata")}

    @classmethod
    def from_record(cls, rec: dict) -> "Transfer":
        return cls(
            **{**rec, "status": Status(rec["status"]),
               "compensation_errors": tuple(rec["compensation_errors"]),
               "metadata": frozen_metadata(rec.get("metadata"))}
        )


def new(transfer_id: str, source: str, target: str, asset: Asset, amount_minor: int,
        reference: str | None = None, metadata: Mapping[str, str] | None = None) -> Transfer:
    if source == target:
        raise InvalidInput(f"target: must differ from source ({source})")
    return Transfer(transfer_id, source, target, asset.code, amount_minor, reference=reference,
                    metadata=frozen_metadata(metadata))


def resubmitted(first: Transfer, again: Transfer) -> Transfer:
    """The answer to a transfer id asked again: the first transfer, unless
    the request differs, which is refused and changes nothing."""
    if not first.same_request(again):
        raise Refused(
            f"transfer {first.transfer_id} already exists with other parameters "
            f"({first.source} -> {first.target}, "
            f"{format_amount(first.amount_minor, ASSETS[first.asset])} {first.asset})"
        )
    return first


def finish(t: Transfer, status: Status, reason: str | None = None,
           compensation_errors: tuple[str, ...] = ()) -> Transfer:
    assert status in _NEXT.get(t.status, ()), f"{t.transfer_id}: {t.status} -> {status}"
    return replace(t, status=status, reason=reason, compensation_errors=compensation_errors)
