"""The HTTP contract's answers as pydantic models (what the client returns).

Amounts stay decimal strings here, as on the wire; `minor()` turns one into
exact minor units for arithmetic."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ledger.money import ASSETS, parse_amount


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class AssetBalance(_View):
    available: str
    reserved: str
    total: str


class BalanceView(_View):
    account: str
    balances: dict[str, AssetBalance]

    def minor(self, asset: str, part: str = "available") -> int:
        """One balance in minor units (0 when the account never held the asset)."""
        held = self.balances.get(asset)
        if held is None:
            return 0
        text = getattr(held, part)
        return 0 if set(text) <= {"0", "."} else parse_amount(text, ASSETS[asset], part)


class AccountView(BalanceView):
    owner: str | None
    status: str


class HistoryEntry(_View):
    seq: int
    kind: str
    at_ms: int
    asset: str | None = None
    amount: str | None = None
    ref: str | None = None


class HistoryPage(_View):
    account: str
    entries: list[HistoryEntry]
    next: int | None


class TransferView(_View):
    transfer: str
    status: str
    source: str
    target: str
    asset: str
    amount: str
    reason: str | None = None
    compensation_errors: list[str] | None = None


class OrderFillView(_View):
    trade: str
    price: str
    quantity: str
    role: str


class OrderView(_View):
    order: str
    account: str
    symbol: str
    side: str
    quantity: str
    price: str
    time_in_force: str
    filled: str
    status: str
    fills: list[OrderFillView]
    expires_at_ms: int | None = None
    reason: str | None = None


class BookLevel(_View):
    price: str
    quantity: str


class BookView(_View):
    symbol: str
    bids: list[BookLevel]
    asks: list[BookLevel]


class TradeView(_View):
    seq: int
    trade: str
    price: str
    quantity: str
    taker_side: str


class TradesPage(_View):
    symbol: str
    trades: list[TradeView]
    next: int | None
