"""What a caller attaches to a money operation to reconcile it: a
`reference` (its own id for it: an invoice, a payment order) and
`metadata` (a few string pairs). Both are kept in the operation's record
and in every history entry it writes; the ledger never reads them."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Mapping

from ledger.errors import InvalidInput

MAX_REFERENCE_CHARS = 128
MAX_METADATA_KEYS = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 256
# The whole of it as compact JSON: 16 full pairs would be about 5 KiB, and
# every history entry the operation writes carries a copy.
MAX_METADATA_BYTES = 2048


def reference_problem(value: str) -> str | None:
    """What is wrong with a reference; None if nothing is."""
    if not 1 <= len(value) <= MAX_REFERENCE_CHARS:
        return f"must be 1 to {MAX_REFERENCE_CHARS} characters, got {len(value)}"
    if not value.isprintable():
        return "must be printable characters only"
    return None


def metadata_problem(value: Mapping[str, object]) -> str | None:
    """What is wrong with a metadata object; None if nothing is."""
    if len(value) > MAX_METADATA_KEYS:
        return f"at most {MAX_METADATA_KEYS} keys, got {len(value)}"
    for key, text in value.items():
        if not 1 <= len(key) <= MAX_METADATA_KEY_CHARS or not key.isprintable():
            return f"a key must be 1 to {MAX_METADATA_KEY_CHARS} printable characters, got {key[:40]!r}"
        if not isinstance(text, str):
            return f"the value of {key[:40]!r} must be a string"
        if len(text) > MAX_METADATA_VALUE_CHARS or not text.isprintable():
            return f"the value of {key[:40]!r} must be at most {MAX_METADATA_VALUE_CHARS} printable characters"
    size = len(json.dumps(dict(value), separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_METADATA_BYTES:
        return f"{size} bytes as JSON, at most {MAX_METADATA_BYTES}"
    return None


def frozen_metadata(value: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """Checked metadata, read-only; None for none or an empty object."""
    if not value:
        return None
    problem = metadata_problem(value)
    if problem is not None:
        raise InvalidInput(f"metadata: {problem}")
    return MappingProxyType(dict(value))


def plain(metadata: Mapping[str, str] | None) -> dict | None:
    """Metadata as a plain dict, to store or compare."""
    return None if metadata is None else dict(metadata)
