"""Identifiers a client chooses: account, order and transfer ids."""

import re

from ledger.errors import InvalidInput

KEY_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
KEY_RULE = "1 to 64 of A-Z a-z 0-9 . _ -"


def check_key(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: must be a string ({KEY_RULE})")
    if KEY_PATTERN.fullmatch(value) is None:
        shown = value if len(value) <= 70 else value[:70] + "..."
        raise InvalidInput(f"{field}: {shown!r} is not a valid id ({KEY_RULE})")
    return value
