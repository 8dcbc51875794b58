"""Expectations of trading, computed independently of the ledger's code
(shared with the fault campaign's audit)."""

from campaign.expect import (  # noqa: F401
    LIVE, MAKER_BPS, SCALES, SYMBOL_ASSETS, TAKER_BPS, minor, remaining_hold, status_agrees_with_fills,
    value_minor,
)
