"""An account's statement for one asset over a time window, read off its
history pages: every movement's entry carries the asset's balance after
it, so the opening and closing balances need no replay.

- entries: the asset's entries whose `at_ms` is within [since, until], oldest first;
- closing: the balance after the newest of them, or, with none, the opening;
- opening: the balance after the newest entry of the asset before the
  window (before `since`); zero if there is none.
"""

from __future__ import annotations

from pydantic import Field

from api.responses import BalanceAfter, HistoryEntry, _View
from ledger.history import MAX_PAGE
from ledger.money import ASSETS, format_amount

# A statement pages history newest first; past this many pages (a million
# entries) it stops and says so rather than walk for ever.
MAX_STATEMENT_PAGES = 10_000


class Statement(_View):
    account: str
    asset: str
    since_ms: int | None
    until_ms: int | None
    opening: BalanceAfter = Field(description="The balance before the window's first entry.")
    entries: list[HistoryEntry] = Field(description="The asset's entries in the window, oldest first.")
    closing: BalanceAfter = Field(description="The balance after the window's last entry.")


def statement(client, account: str, asset: str, since_ms: int | None = None,
              until_ms: int | None = None) -> Statement:
    """Page `client.history` (a sync LedgerClient) back to the window's start."""
    code = ASSETS[asset]
    zero = BalanceAfter(available=format_amount(0, code), reserved=format_amount(0, code))
    inside: list[HistoryEntry] = []
    opening, before = None, None
    for _ in range(MAX_STATEMENT_PAGES):
        page = client.history(account, limit=MAX_PAGE, before=before)
        for entry in page.entries:
            if entry.asset != asset or (until_ms is not None and entry.at_ms > until_ms):
                continue
            if since_ms is not None and entry.at_ms < since_ms:
                opening = entry.balance_after or zero
                break
            inside.append(entry)
        if opening is not None or page.next is None:
            break
        before = page.next
    else:
        raise RuntimeError(f"account {account}: more than {MAX_STATEMENT_PAGES} pages of history; "
                           "narrow the window with since and until")
    opening = opening or zero
    inside.reverse()
    closing = inside[-1].balance_after if inside and inside[-1].balance_after else opening
    return Statement(account=account, asset=asset, since_ms=since_ms, until_ms=until_ms, opening=opening,
                     entries=inside, closing=closing)
