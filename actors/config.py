"""The endpoint's settings, read once from its environment at start.

LEDGER_MAKER_FEE_BPS / LEDGER_TAKER_FEE_BPS: trading fees in basis points
(default 0), kept from what each party receives and paid to the account
LEDGER_FEE_ACCOUNT (default "fees", opened on the first fee).
"""

import os

from ledger.book import Fees
from ledger.keys import check_key
from ledger.symbols import BPS


def _bps(name: str) -> int:
    raw = os.environ.get(name, "0")
    if not raw.isdigit() or int(raw) > BPS:
        raise SystemExit(f"{name}={raw!r}: fees are whole basis points from 0 to {BPS}")
    return int(raw)


FEES = Fees(maker_bps=_bps("LEDGER_MAKER_FEE_BPS"), taker_bps=_bps("LEDGER_TAKER_FEE_BPS"))
FEE_ACCOUNT = check_key(os.environ.get("LEDGER_FEE_ACCOUNT", "fees"), "LEDGER_FEE_ACCOUNT")
