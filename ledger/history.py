"""An account's history: one state entry per record, newest first in pages.

Records are numbered 1..history_count. Keeping each in its own entry means
appending one costs the same whatever came before (docs/design.md, rule 6).
"""

from __future__ import annotations

from ledger.account import Change
from ledger.errors import InvalidInput

DEFAULT_PAGE = 20
MAX_PAGE = 100
# A cursor is a record number; past a signed 64-bit integer it is no record
# any client could have been given, only a number that overflows elsewhere.
MAX_CURSOR = 2**63 - 1


def state_key(seq: int) -> str:
    return f"h:{seq}"


def record(seq: int, change: Change, at_ms: int) -> dict:
    """The stored record of the change's entry. A movement carries the
    asset's balance after it, so a statement reads its opening and closing
    balances off the entries themselves, with no replay."""
    entry = change.entry
    assert seq >= 1 and at_ms >= 0 and seq == change.account.history_count, (seq, at_ms)
    rec: dict = {"seq": seq, "kind": entry.kind.value, "at_ms": at_ms}
    if entry.asset is not None:
        after = change.account.balance(entry.asset)
        rec["asset"] = entry.asset
        rec["amount_minor"] = entry.amount_minor
        rec["balance_after"] = [after.available_minor, after.reserved_minor]
    if entry.ref is not None:
        rec["ref"] = entry.ref
    if entry.reference is not None:
        rec["reference"] = entry.reference
    if entry.metadata:
        rec["metadata"] = dict(entry.metadata)
    return rec


def check_page_request(limit: int | None, before: int | None) -> int:
    """The page size asked for (the default if none); refuses a bad one or a bad cursor."""
    limit = DEFAULT_PAGE if limit is None else limit
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit: must be from 1 to {MAX_PAGE}, got {limit}")
    if before is not None and not 1 <= before <= MAX_CURSOR:
        raise InvalidInput(f"before: must be from 1 to {MAX_CURSOR}")
    return limit


def page(history_count: int, limit: int | None, before: int | None) -> tuple[list[int], int | None]:
    """The record numbers of one page, newest first, and the cursor of the next.

    `before` is the cursor a previous page answered: records older than it."""
    limit = check_page_request(limit, before)
    newest = history_count if before is None else min(before - 1, history_count)
    seqs = list(range(newest, max(newest - limit, 0), -1))
    next_cursor = seqs[-1] if seqs and seqs[-1] > 1 else None
    return seqs, next_cursor
