"""The HTTP contract's request bodies as pydantic models, and their parsing.

Every body is parsed here, strictly: a JSON number where an amount string is
due, an unknown field or a wrong type is refused with a 400 naming the field.
Models stop at the JSON shape; amounts and assets are checked against the
asset registry by `ledger.money` with the same field names.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from ledger.account import MAX_OWNER_CHARS
from ledger.errors import InvalidInput
from ledger.keys import KEY_PATTERN
from ledger.money import MAX_AMOUNT_CHARS

# A body larger than this is refused before it is parsed: no handler needs more.
MAX_BODY_BYTES = 16 * 1024
MAX_BOOK_DEPTH = 100

Key = Annotated[str, StringConstraints(strict=True, pattern=f"^{KEY_PATTERN.pattern}$")]
AmountText = Annotated[str, StringConstraints(strict=True, max_length=MAX_AMOUNT_CHARS)]
AssetCode = Annotated[str, StringConstraints(strict=True, max_length=16)]
OpId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200)]
MinorUnits = Annotated[int, Field(strict=True, gt=0)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- public -------------------------------------------------------------------


class OpenBody(_Body):
    owner: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_OWNER_CHARS)] | None = None


class AmountBody(_Body):
    asset: AssetCode
    amount: AmountText


class HistoryBody(_Body):
    limit: Annotated[int, Field(strict=True)] | None = None
    before: Annotated[int, Field(strict=True)] | None = None


class EmptyBody(_Body):
    pass


class PlaceBody(_Body):
    account: Key
    symbol: Annotated[str, StringConstraints(strict=True, max_length=32)]
    side: Literal["BUY", "SELL"]
    quantity: AmountText
    price: AmountText
    time_in_force: Literal["GTC", "IOC", "GTD"] = "GTC"
    expires_at_ms: Annotated[int, Field(strict=True, gt=0)] | None = None


class BookBody(_Body):
    depth: Annotated[int, Field(strict=True, ge=1, le=MAX_BOOK_DEPTH)] | None = None


class TransferBody(_Body):
    source: Key
    target: Key
    asset: AssetCode
    amount: AmountText


class SubmitBody(_Body):
    """An order handed to a venue."""

    order: Key
    account: Key
    side: Literal["BUY", "SELL"]
    quantity_minor: MinorUnits
    price_minor: MinorUnits
    may_rest: bool


class VenueCancelBody(_Body):
    order: Key
    side: Literal["BUY", "SELL"]
    price_minor: MinorUnits


class MakerFillBody(_Body):
    trade: OpId
    price_minor: MinorUnits
    quantity_minor: MinorUnits


# --- internal: called by sagas only, with amounts already in minor units -----

# The instant the calling saga read once (ctx.time()), stamped on the step's
# history record: a step then costs no journaled clock read of its own, one
# round trip to restate-server less per account operation.
AtMs = Annotated[int, Field(strict=True, ge=0)]


class MoveBody(_Body):
    """debit / credit"""

    op: OpId
    asset: AssetCode
    amount_minor: MinorUnits
    ref: OpId
    at_ms: AtMs


class RefundBody(_Body):
    op: OpId
    compensates: OpId  # the debit it gives back; its record says how much
    at_ms: AtMs


class ReserveBody(_Body):
    op: OpId
    hold: OpId
    asset: AssetCode
    amount_minor: MinorUnits
    at_ms: AtMs


class ReleaseBody(_Body):
    op: OpId
    hold: OpId
    amount_minor: MinorUnits | None = None  # absent: all that is left
    at_ms: AtMs
    # As a saga's compensation: do nothing if this operation never applied.
    compensates: OpId | None = None


class SettleStep(_Body):
    """One step of a settlement on one account: take `amount_minor` out of
    hold `hold` (capture), give it back (release), or pay it in (receive
    `asset`, recorded against the trade `ref`)."""

    op: OpId
    kind: Literal["capture", "release", "receive"]
    amount_minor: MinorUnits
    hold: OpId | None = None
    asset: AssetCode | None = None
    ref: OpId | None = None

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> "SettleStep":
        wanted = ("asset", "ref") if self.kind == "receive" else ("hold",)
        for name in ("hold", "asset", "ref"):
            if (getattr(self, name) is None) == (name in wanted):
                raise ValueError(f"a {self.kind} step {'needs' if name in wanted else 'takes no'} {name}")
        return self


# Steps per settlement call: a sweep's steps on one account are split into
# calls of this many, which the account takes in order.
MAX_SETTLE_STEPS = 128


class SettleStepsBody(_Body):
    steps: Annotated[list[SettleStep], Field(min_length=1, max_length=MAX_SETTLE_STEPS)]
    at_ms: AtMs
    # Set for the fee account only: open it with this owner if it is not open.
    open_owner: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_OWNER_CHARS)] | None = None

    @field_validator("steps")
    @classmethod
    def _ops_unique(cls, steps: list[SettleStep]) -> list[SettleStep]:
        if len({s.op for s in steps}) != len(steps):
            raise ValueError("an operation id appears twice")
        return steps


# Internal bodies carrying lists (a sweep's settlement steps) may be larger
# than a client's; the callers are our own sagas.
MAX_INTERNAL_BODY_BYTES = 1024 * 1024

M = TypeVar("M", bound=_Body)


def parse_body(model: type[M], body: bytes, max_bytes: int = MAX_BODY_BYTES) -> M:
    """Parse a request body; an empty body counts as `{}`."""
    if len(body) > max_bytes:
        raise InvalidInput(f"body: {len(body)} bytes, at most {max_bytes}")
    if not body.strip():
        body = b"{}"
    try:
        return model.model_validate_json(body)
    except ValidationError as err:
        raise InvalidInput(_describe(err)) from None


def _describe(err: ValidationError) -> str:
    problems = []
    for e in err.errors(include_url=False, include_input=False)[:3]:
        where = ".".join(str(p) for p in e["loc"]) or "body"
        if len(where) > 40:  # a client-chosen field name is echoed back: keep it short
            where = where[:40] + "..."
        kind = e["type"]
        if kind == "json_invalid":
            problems.append(f"body: not valid JSON ({e['msg'].removeprefix('Invalid JSON: ')})")
        elif kind == "model_type" or kind == "model_attributes_type":
            problems.append("body: must be a JSON object")
        elif kind == "extra_forbidden":
            problems.append(f"{where}: unknown field")
        elif kind == "missing":
            problems.append(f"{where}: required")
        elif kind == "string_type" and where == "amount":
            problems.append('amount: must be a JSON string of a decimal, such as "12.50"')
        elif kind in ("string_type", "int_type"):
            wanted = "a string" if kind == "string_type" else "an integer"
            problems.append(f"{where}: must be {wanted}")
        elif kind == "literal_error":
            problems.append(f"{where}: {e['msg'].replace('Input should be', 'must be')}")
        elif kind == "value_error":
            problems.append(f"{where}: {e['msg'].removeprefix('Value error, ')}")
        elif kind == "string_pattern_mismatch":
            problems.append(f"{where}: not a valid id (1 to 64 of A-Z a-z 0-9 . _ -)")
        else:
            problems.append(f"{where}: {e['msg'].replace('Input should be', 'must be')}")
    return "; ".join(problems)
