"""A public hold (a two-phase transfer): its record and its transitions.

`place` moves an amount of the source's available into reserved; `capture`
takes all or part of it (to the target, or out of the ledger when there is
none) and gives back the rest; `void` gives it all back; an expiry does what
void does. A hold id is used once for ever: the same id asked again answers
the first outcome, a refusal included, and with other parameters 409.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Mapping

from ledger.account import hold_key
from ledger.errors import InvalidInput, Refused
from ledger.money import ASSETS, Asset, format_amount
from ledger.operations import op_id
from ledger.steps import Step
from ledger.tags import frozen_metadata, plain

MAX_EXPIRES_IN_S = 31_536_000  # a year


class Status(str, Enum):
    PENDING = "PENDING"  # while place runs
    HELD = "HELD"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"  # nothing was held


_NEXT = {
    Status.PENDING: frozenset({Status.HELD, Status.REJECTED}),
    Status.HELD: frozenset({Status.CAPTURED, Status.VOIDED, Status.EXPIRED}),
}


@dataclass(frozen=True)
class Hold:
    hold_id: str
    source: str
    target: str | None
    asset: str
    amount_minor: int  # what was placed
    expires_in_s: int | None = None
    reference: str | None = None
    metadata: Mapping[str, str] | None = None
    status: Status = Status.PENDING
    captured_minor: int = 0
    expires_at_ms: int | None = None
    reason: str | None = None  # why it was rejected
    # Captures tried so far: a capture whose credit was refused is undone
    # and may be tried again, with operation ids of its own.
    attempts: int = 0

    def __post_init__(self) -> None:
        assert self.asset in ASSETS and self.amount_minor > 0 and self.attempts >= 0, self
        assert 0 <= self.captured_minor <= self.amount_minor, self
        assert (self.captured_minor > 0) <= (self.status is Status.CAPTURED), self
        assert (self.reason is not None) == (self.status is Status.REJECTED), self
        assert self.target != self.source, self

    @property
    def terminal(self) -> bool:
        return self.status not in _NEXT

    def same_request(self, other: "Hold") -> bool:
        return _asked(self) == _asked(other)

    def to_record(self) -> dict:
        rec = {f.name: getattr(self, f.name) for f in fields(self)}
        rec["status"] = self.status.value
        rec["metadata"] = plain(self.metadata)
        return rec

    @classmethod
    def from_record(cls, rec: dict) -> "Hold":
        return cls(**{**rec, "status": Status(rec["status"]), "metadata": frozen_metadata(rec["metadata"])})


def _asked(h: Hold) -> tuple:
    return (h.source, h.target, h.asset, h.amount_minor, h.expires_in_s, h.reference, plain(h.metadata))


def new(hold_id: str, source: str, target: str | None, asset: Asset, amount_minor: int,
        expires_in_s: int | None = None, reference: str | None = None,
        metadata: Mapping[str, str] | None = None) -> Hold:
    if target == source:
        raise InvalidInput(f"target: must differ from source ({source})")
    if expires_in_s is not None and not 1 <= expires_in_s <= MAX_EXPIRES_IN_S:
        raise InvalidInput(f"expires_in_s: must be from 1 to {MAX_EXPIRES_IN_S}, got {expires_in_s}")
    return Hold(hold_id, source, target, asset.code, amount_minor, expires_in_s, reference,
                frozen_metadata(metadata))


def resubmitted(first: Hold, again: Hold) -> Hold:
    """The answer to a hold id placed again: the first hold, unless the
    request differs, which is refused and changes nothing."""
    if not first.same_request(again):
        raise Refused(f"hold {first.hold_id} already exists with other parameters "
                      f"({first.source}, {_shown(first, first.amount_minor)})")
    return first


def held(h: Hold, at_ms: int) -> Hold:
    expires_at_ms = None if h.expires_in_s is None else at_ms + h.expires_in_s * 1000
    return _to(h, Status.HELD, expires_at_ms=expires_at_ms)


def rejected(h: Hold, reason: str) -> Hold:
    return _to(h, Status.REJECTED, reason=reason)


def require_held(h: Hold, action: str) -> None:
    """Only a HELD hold can be captured or voided: 409 naming its status."""
    if h.status is not Status.HELD:
        raise Refused(f"hold {h.hold_id} is {h.status.value}; only a HELD hold can be {action}")


def to_capture(h: Hold, amount_minor: int | None) -> int:
    """What a capture takes: `amount_minor`, or all that is held."""
    require_held(h, "captured")
    if amount_minor is None:
        return h.amount_minor
    if amount_minor > h.amount_minor:
        raise Refused(f"hold {h.hold_id} holds {_shown(h, h.amount_minor)}; "
                      f"it cannot capture {_shown(h, amount_minor)}")
    return amount_minor


def attempted(h: Hold) -> Hold:
    """The hold with one more capture tried (recorded before it runs)."""
    require_held(h, "captured")
    return replace(h, attempts=h.attempts + 1)


def captured(h: Hold, amount_minor: int) -> Hold:
    return _to(h, Status.CAPTURED, captured_minor=amount_minor)


def voided(h: Hold) -> Hold:
    return _to(h, Status.VOIDED)


def expired(h: Hold) -> Hold:
    return _to(h, Status.EXPIRED)


# --- what each handler asks of the accounts (ledger/steps.py) ---------------


def _step(h: Hold, name: str, kind: str, amount_minor: int) -> Step:
    """A step on the source's hold (reserve, capture, release, restore) or
    on the target (accept, credit), named for its operation id."""
    on_target = kind in ("accept", "credit")
    return Step(op_id("hold", h.hold_id, name), kind, amount_minor,
                hold=None if on_target else hold_key("hold", h.hold_id),
                asset=h.asset if kind in ("reserve", "restore", "accept", "credit") else None,
                ref=h.hold_id if kind == "credit" else None, reference=h.reference, metadata=h.metadata)


def reserve_step(h: Hold) -> Step:
    """place: the source's available into the hold."""
    return _step(h, "reserve", "reserve", h.amount_minor)


def end_step(h: Hold, how: str) -> Step:
    """void or expire: everything held back to the source."""
    assert how in ("void", "expire"), how
    return _step(h, how, "release", h.amount_minor)


@dataclass(frozen=True)
class CapturePlan:
    """A capture of `amount_minor`, attempt `h.attempts`: `take` on the
    source with `accept` on the target (if any), both at once; then `credit`
    on the target with `rest` on the source; or, if the target refused,
    `restore` on the source. With no target, `take` and `rest` in one call."""

    take: Step
    rest: Step | None
    accept: Step | None
    credit: Step | None
    restore: Step | None


def capture_plan(h: Hold, amount_minor: int) -> CapturePlan:
    assert h.status is Status.HELD and h.attempts >= 1 and 0 < amount_minor <= h.amount_minor, (h, amount_minor)
    n, rest_minor = h.attempts, h.amount_minor - amount_minor
    to_target = h.target is not None
    return CapturePlan(
        take=_step(h, f"capture-{n}", "capture", amount_minor),
        rest=_step(h, "release", "release", rest_minor) if rest_minor else None,
        accept=_step(h, f"accept-{n}", "accept", amount_minor) if to_target else None,
        credit=_step(h, f"credit-{n}", "credit", amount_minor) if to_target else None,
        restore=_step(h, f"restore-{n}", "restore", amount_minor) if to_target else None,
    )


def _to(h: Hold, status: Status, **changes) -> Hold:
    assert status in _NEXT.get(h.status, ()), f"hold {h.hold_id}: {h.status} -> {status}"
    return replace(h, status=status, **changes)


def _shown(h: Hold, amount_minor: int) -> str:
    return f"{format_amount(amount_minor, ASSETS[h.asset])} {h.asset}"
