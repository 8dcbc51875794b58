"""The HTTP contract's request bodies as pydantic models, and their parsing.

Every body is parsed here, strictly: a JSON number where an amount string is
due, an unknown field, a wrong type, a duplicate key or a control character
is refused with a 400 naming the field. Models stop at the JSON shape;
amounts and assets are checked against the asset registry by `ledger.money`
with the same field names. The models' descriptions and examples are what
the deployment manifest publishes (actors/shell.py), so Restate's OpenAPI,
its UI and `restate services describe` show them.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator,
)

from ledger.account import MAX_OWNER_CHARS
from ledger.errors import InvalidInput
from ledger.history import MAX_CURSOR, MAX_PAGE
from ledger.keys import KEY_PATTERN, KEY_RULE
from ledger.money import MAX_AMOUNT_CHARS
from ledger import steps as account_steps
from ledger import tags

# A body larger than this is refused before it is parsed: no handler needs more.
MAX_BODY_BYTES = 16 * 1024
MAX_BOOK_DEPTH = 100

Key = Annotated[str, StringConstraints(strict=True, pattern=f"^{KEY_PATTERN.pattern}$")]
AmountText = Annotated[str, StringConstraints(strict=True, max_length=MAX_AMOUNT_CHARS)]
AssetCode = Annotated[str, StringConstraints(strict=True, max_length=16)]
Owner = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_OWNER_CHARS)]
OpId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200)]
MinorUnits = Annotated[int, Field(strict=True, gt=0)]


def _checked(problem):
    """A validator from a domain rule that answers its problem, or None."""
    def check(value):
        found = problem(value)
        if found is not None:
            raise ValueError(found)
        return value
    return AfterValidator(check)


Reference = Annotated[str, StringConstraints(strict=True), _checked(tags.reference_problem)]
Metadata = Annotated[dict[str, Annotated[str, StringConstraints(strict=True)]], _checked(tags.metadata_problem)]
_REFERENCE = (f"Your own reference for it (an invoice, a payment order): 1 to {tags.MAX_REFERENCE_CHARS} "
              "printable characters, kept in its record and its history entries.")
_METADATA = (f"Your own string pairs: at most {tags.MAX_METADATA_KEYS} keys of 1 to {tags.MAX_METADATA_KEY_CHARS} "
             f"characters, values of at most {tags.MAX_METADATA_VALUE_CHARS}, {tags.MAX_METADATA_BYTES} bytes in all.")




def _reference_field():
    return Field(None, description=_REFERENCE, examples=["invoice-2041"])


def _metadata_field():
    return Field(None, description=_METADATA, examples=[{"desk": "emea"}])


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- public -------------------------------------------------------------------


_ASSET = "An asset code: USD, EUR, BTC or ETH."
_AMOUNT = 'A decimal string greater than zero, with at most the asset\'s decimals (USD 2, EUR 2, BTC 8, ETH 18); never a JSON number.'
_KEY = f"An id of {KEY_RULE}."


class OpenBody(RequestBody):
    """Open an account (changes nothing if it is open with the same owner)."""

    owner: Owner | None = Field(None, description=f"Who holds the account: 1 to {MAX_OWNER_CHARS} characters.",
                                examples=["Carol"])


class AmountBody(RequestBody):
    """An amount of one asset."""

    asset: AssetCode = Field(description=_ASSET, examples=["USD"])
    amount: AmountText = Field(description=_AMOUNT, examples=["100.00"])
    reference: Reference | None = _reference_field()
    metadata: Metadata | None = _metadata_field()


class HistoryBody(RequestBody):
    """A page of records, newest first."""

    limit: int | None = Field(None, description=f"Records per page, 1 to {MAX_PAGE} (default 20).", examples=[20])
    before: int | None = Field(None, description=f"The `next` cursor of the previous page (1 to {MAX_CURSOR}): records older than it.",
                                  examples=[21])


class EmptyBody(RequestBody):
    """No fields: an empty body, or {}."""


class PlaceBody(RequestBody):
    """A limit order."""

    account: Key = Field(description="The account that places the order: " + _KEY, examples=["sara"])
    symbol: Annotated[str, StringConstraints(strict=True, max_length=32)] = Field(
        description="The market, base-quote: BTC-USD, ETH-USD or BTC-EUR.", examples=["BTC-USD"])
    side: Literal["BUY", "SELL"] = Field(description="BUY or SELL the base asset.", examples=["SELL"])
    quantity: AmountText = Field(description="How much of the base asset: " + _AMOUNT, examples=["0.5"])
    price: AmountText = Field(description="The limit, in the quote asset per one whole base unit.", examples=["60000.00"])
    time_in_force: Literal["GTC", "IOC", "GTD"] = Field(
        "GTC", description="GTC good till cancelled (default), IOC immediate or cancel, GTD good till expires_at_ms.")
    expires_at_ms: Annotated[int, Field(strict=True, gt=0)] | None = Field(
        None, description="GTD only, and required for it: epoch milliseconds, in the future, at most a year ahead.",
        examples=[1798761600000])


class BookBody(RequestBody):
    """How deep to show a book."""

    depth: int | None = Field(
        None, description=f"Price levels per side, 1 to {MAX_BOOK_DEPTH} (default 20).", examples=[20])

    @field_validator("depth")
    @classmethod
    def _depth_in_range(cls, depth: int | None) -> int | None:
        # Said as `limit` says it, rather than pydantic's "less than or equal to".
        if depth is not None and not 1 <= depth <= MAX_BOOK_DEPTH:
            raise ValueError(f"must be from 1 to {MAX_BOOK_DEPTH}, got {depth}")
        return depth


class TransferBody(RequestBody):
    """Move an amount from one account to another, once per transfer id."""

    source: Key = Field(description="The account debited: " + _KEY, examples=["carol"])
    target: Key = Field(description="The account credited; not the source.", examples=["dave"])
    asset: AssetCode = Field(description=_ASSET, examples=["USD"])
    amount: AmountText = Field(description=_AMOUNT, examples=["25.00"])
    reference: Reference | None = _reference_field()
    metadata: Metadata | None = _metadata_field()


class HoldBody(RequestBody):
    """Hold an amount of the source's available funds, to capture or void later."""

    source: Key = Field(description="The account whose funds are held: " + _KEY, examples=["carol"])
    target: Key | None = Field(None, description="The account a capture credits; without it, a capture takes "
                                                 "the money out of the ledger (a payout).", examples=["dave"])
    asset: AssetCode = Field(description=_ASSET, examples=["USD"])
    amount: AmountText = Field(description=_AMOUNT, examples=["40.00"])
    expires_in_s: Annotated[int, Field(strict=True)] | None = Field(
        None, description="Void what is still held after this many seconds, 1 to 31536000 (a year).",
        examples=[3600])
    reference: Reference | None = _reference_field()
    metadata: Metadata | None = _metadata_field()


class CaptureBody(RequestBody):
    """Capture all or part of a hold."""

    amount: AmountText | None = Field(None, description="At most what is held (default: all); the rest is released.",
                                      examples=["30.00"])


class LegBody(RequestBody):
    """One leg of a transaction."""

    account: Key = Field(description="The account debited or credited: " + _KEY, examples=["carol"])
    asset: AssetCode = Field(description=_ASSET, examples=["USD"])
    amount: AmountText = Field(description=_AMOUNT, examples=["100.00"])
    direction: Literal["DEBIT", "CREDIT"] = Field(description="DEBIT takes from the account, CREDIT pays into it.",
                                                  examples=["DEBIT"])


class TransactionBody(RequestBody):
    """Legs that all post or none does; per asset, debits equal credits."""

    legs: list[LegBody] = Field(description="2 to 64 legs.", examples=[[
        {"account": "carol", "asset": "USD", "amount": "100.00", "direction": "DEBIT"},
        {"account": "dave", "asset": "USD", "amount": "99.00", "direction": "CREDIT"},
        {"account": "fees", "asset": "USD", "amount": "1.00", "direction": "CREDIT"}]])
    reference: Reference | None = _reference_field()
    metadata: Metadata | None = _metadata_field()


class BatchItemBody(RequestBody):
    """One transfer of a batch."""

    id: Key = Field(description="The item's id, unique within the batch: " + _KEY, examples=["p-1"])
    source: Key = Field(description="The account debited.", examples=["acme"])
    target: Key = Field(description="The account credited; not the source.", examples=["erin"])
    asset: AssetCode = Field(description=_ASSET, examples=["USD"])
    amount: AmountText = Field(description=_AMOUNT, examples=["1200.00"])
    reference: Reference | None = _reference_field()
    metadata: Metadata | None = _metadata_field()


class BatchBody(RequestBody):
    """Up to 1,000 transfers in one request, each completing or not on its own."""

    transfers: list[BatchItemBody] = Field(description="1 to 1,000 transfers, ids unique within the batch.")


# A batch's body may be this large (the rest of the API keeps MAX_BODY_BYTES).
MAX_BATCH_BODY_BYTES = 1024 * 1024


class SubmitBody(RequestBody):
    """An order handed to a venue."""

    order: Key
    account: Key
    side: Literal["BUY", "SELL"]
    quantity_minor: MinorUnits
    price_minor: MinorUnits
    may_rest: bool


class VenueCancelBody(RequestBody):
    order: Key
    side: Literal["BUY", "SELL"]
    price_minor: MinorUnits


class MakerFillBody(RequestBody):
    trade: OpId
    price_minor: MinorUnits
    quantity_minor: MinorUnits


# --- internal: called by sagas only, with amounts already in minor units -----

# The instant the calling saga read once (ctx.time()), stamped on the step's
# history record: a step then costs no journaled clock read of its own, one
# round trip to restate-server less per account operation.
AtMs = Annotated[int, Field(strict=True, ge=0)]


class MoveBody(RequestBody):
    """debit / credit"""

    op: OpId
    asset: AssetCode
    amount_minor: MinorUnits
    ref: OpId
    at_ms: AtMs
    reference: Reference | None = None
    metadata: Metadata | None = None


class RefundBody(RequestBody):
    op: OpId
    compensates: OpId  # the debit it gives back; its record says how much
    at_ms: AtMs
    reference: Reference | None = None
    metadata: Metadata | None = None


class ReserveBody(RequestBody):
    op: OpId
    hold: OpId
    asset: AssetCode
    amount_minor: MinorUnits
    at_ms: AtMs


class ReleaseBody(RequestBody):
    op: OpId
    hold: OpId
    amount_minor: MinorUnits | None = None  # absent: all that is left
    at_ms: AtMs
    # As a saga's compensation: do nothing if this operation never applied.
    compensates: OpId | None = None


class SettleStep(RequestBody):
    """One step on one account (ledger/steps.py): its kind says which of
    `hold`, `asset` and `ref` it carries."""

    op: OpId
    kind: Literal[account_steps.KINDS]  # type: ignore[valid-type]
    amount_minor: MinorUnits
    hold: OpId | None = None
    asset: AssetCode | None = None
    ref: OpId | None = None
    reference: Reference | None = None
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> "SettleStep":
        found = account_steps.problem(self.kind, {n for n in ("hold", "asset", "ref") if getattr(self, n) is not None})
        if found is not None:
            raise ValueError(found)
        return self


# Steps per call on one account: a batch may ask one account for a debit
# and an acceptance per item in one phase (ledger/batch.py, MAX_ITEMS).
MAX_SETTLE_STEPS = 2000


class SettleStepsBody(RequestBody):
    steps: Annotated[list[SettleStep], Field(min_length=1, max_length=MAX_SETTLE_STEPS)]
    at_ms: AtMs
    # Set for the fee account only: open it with this owner if it is not open.
    open_owner: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_OWNER_CHARS)] | None = None
    # True: the steps apply all or none (a refusal refuses the call). False:
    # each applies or is refused on its own (a batch's independent items).
    atomic: bool = True
    # Set for a batch's calls: the call is idempotent by one record of it
    # under this id, not by a record per step (ledger/operations.py).
    call: OpId | None = None

    @field_validator("steps")
    @classmethod
    def _ops_unique(cls, steps: list[SettleStep]) -> list[SettleStep]:
        if len({s.op for s in steps}) != len(steps):
            raise ValueError("an operation id appears twice")
        return steps

    @model_validator(mode="after")
    def _a_recorded_call_opens_nothing(self) -> "SettleStepsBody":
        # A recorded call writes its call's record, not the opening's: the
        # two together would leave an opening no replay could account for.
        if self.call is not None and self.open_owner is not None:
            raise ValueError("a recorded call cannot also open its account (call and open_owner)")
        return self


# Internal bodies carrying lists (a sweep's or a batch's steps on one
# account) may be larger than a client's; the callers are our own sagas. A
# batch's 1 MiB of items, plus each step's own fields, fits.
MAX_INTERNAL_BODY_BYTES = 2 * 1024 * 1024

M = TypeVar("M", bound=RequestBody)


def parse_body(model: type[M], body: bytes, max_bytes: int = MAX_BODY_BYTES, trusted: bool = False) -> M:
    """Parse a request body; an empty body counts as `{}`.

    JSON is read here rather than by pydantic, which lets a duplicate key
    through (the last one wins: `"amount": "1", "amount": "2"` deposited
    2.00); every string, keys included, is then checked for control
    characters, which a terminal or a log would act on. `trusted`: a body
    one of our sagas wrote (an internal handler's, ingress-private), which
    skips those two checks of hostile input but not the model's."""
    if len(body) > max_bytes:
        raise InvalidInput(f"body: {len(body)} bytes, at most {max_bytes}")
    if not body.strip():
        body = b"{}"
    try:
        text = body.decode("utf-8")
        data = json.loads(text, parse_constant=_no_constant) if trusted else json.loads(
            text, object_pairs_hook=_object_without_duplicates, parse_constant=_no_constant)
    except _DuplicateKey as dup:
        raise InvalidInput(f"body: duplicate key {_shown(dup.key)!r}") from None
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidInput(f"body: not valid JSON ({_json_problem(err)})") from None
    if not trusted and _may_hold_control_characters(text):
        _refuse_control_characters(data, len(body))
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InvalidInput(_describe(err)) from None


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return found


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _json_problem(err: Exception) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"{err.msg} at line {err.lineno} column {err.colno}"
    if isinstance(err, RecursionError):
        return "nested too deeply"
    if isinstance(err, UnicodeDecodeError):
        return "not UTF-8"
    return str(err)[:80]


# C0 and C1 control characters, DEL included: refused in every string.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# A JSON text can carry a control character in a string only escaped (a
# backslash: \n, \u0007) or raw as DEL or C1 (a raw C0 inside a string is
# not JSON); without either, no string can hold one and the walk is skipped.
_MAY_CONTROL = re.compile(r"[\\\x7f-\x9f]")


def _may_hold_control_characters(text: str) -> bool:
    return _MAY_CONTROL.search(text) is not None


def _refuse_control_characters(data: Any, max_nodes: int) -> None:
    """Every string in `data`, values and keys, free of control characters;
    the first one found is named with its field's path. A JSON text of n
    bytes holds fewer than n values, so `max_nodes` bounds the walk."""
    pending: list[tuple[str, Any]] = [("body", data)]
    for _ in range(max_nodes + 1):
        if not pending:
            return
        where, value = pending.pop()
        if isinstance(value, str):
            found = _CONTROL.search(value)
            if found:
                raise InvalidInput(f"{where}: control character U+{ord(found.group()):04X} is not allowed")
        elif isinstance(value, dict):
            for key, item in value.items():
                found = _CONTROL.search(key)
                if found:
                    raise InvalidInput(
                        f"body: control character U+{ord(found.group()):04X} is not allowed in a field name")
                pending.append((key if where == "body" else f"{where}.{_shown(key)}", item))
        elif isinstance(value, list):
            pending.extend((f"{where}.{i}", item) for i, item in enumerate(value))
    raise AssertionError(f"a body of {max_nodes} bytes holds more than {max_nodes} values")


def _shown(name: str) -> str:
    """A client-chosen name echoed back: kept short."""
    return name if len(name) <= 40 else name[:40] + "..."


def _describe(err: ValidationError) -> str:
    problems = []
    for e in err.errors(include_url=False, include_input=False)[:3]:
        where = _shown(".".join(str(p) for p in e["loc"]) or "body")
        kind = e["type"]
        if kind == "model_type" or kind == "model_attributes_type":
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
        elif kind == "string_too_short" and e["ctx"]["min_length"] == 1:
            problems.append(f"{where}: must not be empty")
        elif kind == "string_too_long":
            problems.append(f"{where}: too long (at most {e['ctx']['max_length']} characters)")
        elif kind == "string_pattern_mismatch":
            problems.append(f"{where}: not a valid id (1 to 64 of A-Z a-z 0-9 . _ -)")
        else:
            problems.append(f"{where}: {e['msg'].replace('Input should be', 'must be')}")
    return "; ".join(problems)
