"""Assets and exact amounts.

Inside, an amount is an int of minor units; at the edge it is a decimal
string. Parsing works on the characters themselves, never through float or
Decimal contexts, so no rounding can ever happen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

from ledger.errors import InvalidInput


@dataclass(frozen=True)
class Asset:
    code: str
    scale: int  # number of fraction digits of one minor unit

    @property
    def one_minor(self) -> str:
        return format_amount(1, self)


ASSETS: MappingProxyType[str, Asset] = MappingProxyType(
    {
        "USD": Asset("USD", 2),
        "EUR": Asset("EUR", 2),
        "BTC": Asset("BTC", 8),
        "ETH": Asset("ETH", 18),
    }
)

# No balance or amount may reach 10**38 minor units: large enough for any
# real holding (10**20 ETH), small enough to fit a NUMERIC(38) column of
# any system we export to.
MAX_MINOR = 10**38 - 1
# Longer strings are refused before any digit is looked at.
MAX_AMOUNT_CHARS = 60

_DECIMAL = re.compile(r"(?P<whole>0|[1-9][0-9]*)(?:\.(?P<frac>[0-9]+))?")


def asset(code: object, field: str = "asset") -> Asset:
    if not isinstance(code, str):
        raise InvalidInput(f"{field}: must be a string naming an asset, got {_json_type(code)}")
    found = ASSETS.get(code)
    if found is None:
        known = ", ".join(ASSETS)
        raise InvalidInput(f"{field}: unknown asset {_clip(code)!r} (known: {known})")
    return found


def parse_amount(text: object, of: Asset, field: str = "amount") -> int:
    """Parse a positive decimal string into minor units of `of`."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise InvalidInput(
            f"{field}: must be a decimal string such as \"12.50\", got {_json_type(text)}"
        )
    if len(text) > MAX_AMOUNT_CHARS:
        raise InvalidInput(f"{field}: too long ({len(text)} characters, at most {MAX_AMOUNT_CHARS})")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise InvalidInput(
            f"{field}: {_clip(text)!r} is not a plain decimal "
            "(digits, at most one '.', no sign, exponent or separators)"
        )
    frac = match.group("frac") or ""
    if len(frac) > of.scale:
        raise InvalidInput(
            f"{field}: {text} has {len(frac)} fraction digits, {of.code} allows at most {of.scale}"
        )
    minor = int(match.group("whole")) * 10**of.scale + int(frac.ljust(of.scale, "0") or "0")
    if minor <= 0:
        raise InvalidInput(f"{field}: must be greater than zero, got {text}")
    if minor > MAX_MINOR:
        raise InvalidInput(f"{field}: {text} {of.code} exceeds the largest amount the ledger holds")
    return minor


def format_amount(minor: int, of: Asset) -> str:
    """Minor units to the contract's decimal string, with all of the asset's digits."""
    assert isinstance(minor, int) and not isinstance(minor, bool), minor
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor))
    if of.scale == 0:
        return sign + digits
    digits = digits.rjust(of.scale + 1, "0")
    return f"{sign}{digits[:-of.scale]}.{digits[-of.scale:]}"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a JSON number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
