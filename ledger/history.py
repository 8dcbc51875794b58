"""An account's history: records numbered 1..history_count, read newest
first in pages.

A record is kept in an entry of its own, `h:{seq}`, or, when one call
writes many (a batch's call on an account), with the others that call
wrote in groups of at most GROUP_MAX consecutive records, each group under
the key of its newest record: `h:{last}` holds `{"records": [...]}`, oldest
first. Either way appending costs the same whatever came before, and every
entry is bounded (docs/design.md, rule 6). A page asks for the keys of its
record numbers; a record it finds no key for lies in a group keyed at or
above it, less than GROUP_MAX above (`keys_above`).
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


# A group holds at most a full page, so a page meets at most one group it
# did not ask the key of: the one holding its newest record.
GROUP_MAX = 100


def grouped(records: list[dict]) -> list[tuple[str, dict]]:
    """One call's records, consecutive, oldest first: the entries that keep
    them, each group keyed by its newest record."""
    assert all(b["seq"] == a["seq"] + 1 for a, b in zip(records, records[1:])), "records must be consecutive"
    return [(state_key(part[-1]["seq"]), {"records": part})
            for part in (records[i:i + GROUP_MAX] for i in range(0, len(records), GROUP_MAX))]


def _records_of(seq: int, entry: dict) -> list[dict]:
    """The records an entry found under `h:{seq}` keeps, oldest first."""
    records = entry["records"] if "records" in entry else [entry]
    assert 1 <= len(records) <= GROUP_MAX and records[-1]["seq"] == seq, (seq, len(records))
    return records


def keys_above(seqs: list[int], found: list[dict | None], history_count: int) -> list[int]:
    """The keys to read when the page's newest record has no key of its own:
    it lies in a group keyed above it, less than GROUP_MAX above."""
    if not seqs or found[0] is not None:
        return []
    return list(range(seqs[0] + 1, min(seqs[0] + GROUP_MAX - 1, history_count) + 1))


def page_records(seqs: list[int], found: list[dict | None], above: list[int],
                 found_above: list[dict | None]) -> list[dict]:
    """The records of `seqs`, newest first, from the entries read at their
    keys (`found`) and at `keys_above`. Every one must be there."""
    assert len(seqs) == len(found) and len(above) == len(found_above)
    # The lowest key found above is the group holding the page's newest
    # record: every record between them is in that group, under its key.
    lowest_above = next(((seq, e) for seq, e in zip(above, found_above) if e is not None), None)
    by_seq: dict[int, dict] = {}
    for seq, entry in ([lowest_above] if lowest_above else []) + list(zip(seqs, found)):
        if entry is not None:
            by_seq.update((r["seq"], r) for r in _records_of(seq, entry))
    missing = [seq for seq in seqs if seq not in by_seq]
    assert not missing, f"history records {missing[:5]} found in no entry"
    return [by_seq[seq] for seq in seqs]


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
