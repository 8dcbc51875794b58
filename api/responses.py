"""The HTTP contract's answers as pydantic models: what the handlers answer,
what the manifest publishes as each handler's output schema, and what the
typed client parses. One definition of each answer.

Amounts stay decimal strings here, as on the wire; `minor()` turns one into
exact minor units for arithmetic. An optional field the handler did not set
stays off the wire (the handlers' output serde leaves out what is unset), so
an answer reads as documented: `reason` only when there is one; `next: null`
when the handler says so.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger.money import ASSETS, parse_amount


class _View(BaseModel):
    # extra="allow": a client built against this contract keeps working
    # when a newer ledger adds a field.
    model_config = ConfigDict(frozen=True, extra="allow")


class AssetBalance(_View):
    available: str = Field(description="What may be withdrawn, moved or held now.", examples=["70.00"])
    reserved: str = Field(description="What live holds (open orders) keep aside.", examples=["10.00"])
    total: str = Field(description="available + reserved.", examples=["80.00"])


class _ReadsBalances:
    """For the answers that carry `balances` (a plain mixin, not a model, so
    each answer lists its fields in its own, documented order). The class
    using it declares `balances`; an annotation here would make it the
    first field of every answer."""

    def minor(self, asset: str, part: str = "available") -> int:
        """One balance in minor units (0 when the account never held the asset)."""
        held = self.balances.get(asset)  # type: ignore[attr-defined]
        if held is None:
            return 0
        text = getattr(held, part)
        return 0 if set(text) <= {"0", "."} else parse_amount(text, ASSETS[asset], part)


_BALANCES = "Per asset held, as decimal strings with the asset's decimals."


class BalanceView(_View, _ReadsBalances):
    account: str = Field(description="The account id.", examples=["carol"])
    balances: dict[str, AssetBalance] = Field(description=_BALANCES)


class AccountView(_View, _ReadsBalances):
    account: str = Field(description="The account id.", examples=["carol"])
    owner: str | None = Field(description="Who holds the account, or null if none was named.", examples=["Carol"])
    status: Literal["OPEN", "FROZEN"] = Field(description="A FROZEN account refuses deposits, withdrawals and transfers.")
    balances: dict[str, AssetBalance] = Field(description=_BALANCES)


class BalanceAfter(_View):
    available: str = Field(examples=["75.00"])
    reserved: str = Field(examples=["0.00"])


class HistoryEntry(_View):
    seq: int = Field(description="The record's number, 1 for the account's opening.", examples=[3])
    kind: str = Field(description="open, deposit, withdraw, debit, credit, refund, freeze, unfreeze, reserve, "
                                  "release, capture, restore or receive.", examples=["deposit"])
    at_ms: int = Field(description="When it was recorded, epoch milliseconds.", examples=[1795355368094])
    asset: str | None = Field(None, description="The asset moved, for a movement.", examples=["USD"])
    amount: str | None = Field(None, description="The amount moved, for a movement.", examples=["25.00"])
    balance_after: BalanceAfter | None = Field(
        None, description="The asset's balance right after this entry, for a movement.")
    ref: str | None = Field(None, description="The transfer, order, trade, hold, transaction or batch it belongs to.",
                            examples=["tx-1"])
    reference: str | None = Field(None, description="The caller's reference given with the operation.",
                                  examples=["invoice-2041"])
    metadata: dict[str, str] | None = Field(None, description="The caller's metadata given with the operation.",
                                            examples=[{"desk": "emea"}])


class HistoryPage(_View):
    account: str = Field(description="The account id.", examples=["carol"])
    entries: list[HistoryEntry] = Field(description="Newest first.")
    next: int | None = Field(description="Pass as `before` for the older page; null on the last page.",
                             examples=[3])


class TransferView(_View):
    transfer: str = Field(description="The transfer id.", examples=["tx-1"])
    status: Literal["PENDING", "COMPLETED", "FAILED", "COMPENSATED"] = Field(
        description="FAILED: refused before money moved; COMPENSATED: the credit was refused and the source refunded.")
    source: str = Field(examples=["carol"])
    target: str = Field(examples=["dave"])
    asset: str = Field(examples=["USD"])
    amount: str = Field(examples=["25.00"])
    reason: str | None = Field(None, description="Why it was refused, when it was.")
    compensation_errors: list[str] | None = Field(
        None, description="Compensations that were themselves refused (none expected).")
    reference: str | None = Field(None, description="The caller's reference, when given.", examples=["invoice-2041"])
    metadata: dict[str, str] | None = Field(None, description="The caller's metadata, when given.")


class HoldView(_View):
    hold: str = Field(description="The hold id.", examples=["auth-1"])
    source: str = Field(examples=["carol"])
    target: str | None = Field(None, description="The account a capture credits; absent: a capture pays out.",
                               examples=["dave"])
    asset: str = Field(examples=["USD"])
    amount: str = Field(description="What was held.", examples=["40.00"])
    captured: str = Field(description="What the capture took (0 until captured).", examples=["0.00"])
    status: Literal["PENDING", "HELD", "CAPTURED", "VOIDED", "EXPIRED", "REJECTED"] = Field(
        description="HELD is live; CAPTURED, VOIDED, EXPIRED and REJECTED are final; PENDING while place runs.")
    expires_at_ms: int | None = Field(None, description="When what is still held is voided, epoch milliseconds.")
    reference: str | None = Field(None, description="The caller's reference, when given.", examples=["auth-7731"])
    metadata: dict[str, str] | None = Field(None, description="The caller's metadata, when given.")
    reason: str | None = Field(None, description="Why it was rejected.")


class LegView(_View):
    account: str = Field(examples=["carol"])
    asset: str = Field(examples=["USD"])
    amount: str = Field(examples=["100.00"])
    direction: Literal["DEBIT", "CREDIT"]


class TransactionView(_View):
    transaction: str = Field(description="The transaction id.", examples=["pay-1"])
    status: Literal["PENDING", "POSTED", "REJECTED"] = Field(
        description="POSTED: every leg applied; REJECTED: a leg was refused and every applied leg undone; "
                    "PENDING while post runs.")
    legs: list[LegView]
    reference: str | None = Field(None, description="The caller's reference, when given.", examples=["invoice-2041"])
    metadata: dict[str, str] | None = Field(None, description="The caller's metadata, when given.")
    reason: str | None = Field(None, description="Why it was rejected.")
    compensation_errors: list[str] | None = Field(
        None, description="Compensations that were themselves refused (none expected).")


class BatchResult(_View):
    id: str = Field(description="The item's id.", examples=["p-1"])
    status: Literal["COMPLETED", "FAILED", "COMPENSATED"] = Field(
        description="FAILED: refused before money moved; COMPENSATED: debited, the target refused, refunded.")
    reason: str | None = Field(None, description="Why it did not complete.")
    reference: str | None = Field(None, description="The item's reference, when given.", examples=["slip-1"])
    metadata: dict[str, str] | None = Field(None, description="The item's metadata, when given.")


class BatchView(_View):
    batch: str = Field(description="The batch id.", examples=["payroll-2026-12"])
    status: Literal["PENDING", "COMPLETED"] = Field(
        description="COMPLETED once every item has its result; PENDING while run runs.")
    results: list[BatchResult] = Field(description="One per item, in item order (none while PENDING).")


class OrderFillView(_View):
    trade: str = Field(description="The trade id: symbol and the book's trade number.", examples=["BTC-USD-1"])
    price: str = Field(examples=["60000.00"])
    quantity: str = Field(examples=["0.50000000"])
    role: Literal["MAKER", "TAKER"] = Field(description="MAKER if the order was resting, TAKER if it came in.")


class OrderView(_View):
    order: str = Field(description="The order id.", examples=["o-1"])
    account: str = Field(examples=["sara"])
    symbol: str = Field(examples=["BTC-USD"])
    side: Literal["BUY", "SELL"]
    quantity: str = Field(examples=["0.50000000"])
    price: str = Field(examples=["60000.00"])
    time_in_force: Literal["GTC", "IOC", "GTD"]
    filled: str = Field(description="How much of the quantity has filled.", examples=["0.00000000"])
    status: Literal["PENDING", "ACCEPTED", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "REJECTED"] = Field(
        description="ACCEPTED and PARTIALLY_FILLED are live; the others are final but PENDING, while place runs.")
    fills: list[OrderFillView] = Field(description="Its fills, oldest first.")
    expires_at_ms: int | None = Field(None, description="A GTD order's expiry, epoch milliseconds.")
    reason: str | None = Field(None, description="Why it was cancelled or rejected.")


class BookLevel(_View):
    price: str = Field(examples=["60000.00"])
    quantity: str = Field(description="The resting quantity at this price, summed.", examples=["0.30000000"])


class BookView(_View):
    symbol: str = Field(examples=["BTC-USD"])
    bids: list[BookLevel] = Field(description="Buy levels, best (highest) first.")
    asks: list[BookLevel] = Field(description="Sell levels, best (lowest) first.")


class TradeView(_View):
    seq: int = Field(description="The book's trade number.", examples=[1])
    trade: str = Field(examples=["BTC-USD-1"])
    price: str = Field(examples=["60000.00"])
    quantity: str = Field(examples=["0.50000000"])
    taker_side: Literal["BUY", "SELL"] = Field(description="The side of the incoming order that made the trade.")


class TradesPage(_View):
    symbol: str = Field(examples=["BTC-USD"])
    trades: list[TradeView] = Field(description="Newest first.")
    next: int | None = Field(description="Pass as `before` for the older page; null on the last page.")


# --- internal: what our objects answer one another ----------------------------


class OpAnswer(_View):
    """An account's answer to one saga step."""

    op: str
    applied: bool = Field(description="False when the operation had applied before (or never could).")


class SettleAnswer(_View):
    account: str
    # A count, not the ids: the sagas only need the refusals, and every
    # answer is journaled (a batch's phase answers a hundred of them).
    applied: int = Field(description="How many steps this call applied (not counting those applied before).")
    refused: dict[str, str] = Field({}, description="Not atomic only: the refused steps' operation ids and why.")


class MakerFillAnswer(_View):
    order: str
    recorded: bool


class ExpireAnswer(_View):
    order: str


class FillRecord(_View):
    """One trade as a venue reports it: everything its settlement needs
    (ledger.book.Fill, field for field)."""

    trade_id: str
    symbol: str
    price_minor: int
    quantity_minor: int
    quote_minor: int
    buyer: str
    buyer_order: str
    seller: str
    seller_order: str
    taker_side: Literal["BUY", "SELL"]
    buyer_fee_minor: int
    seller_fee_minor: int
    maker_release_minor: int | None = None


class VenueOutcome(_View):
    """A venue's answer to a submitted order."""

    fills: list[FillRecord]
    filled_minor: int
    rested: bool
    release_minor: int | None = Field(description="What the hold gives back when the venue ended the order.")
    cancel_reason: str | None


class VenueCancelled(_View):
    """A venue's answer to a cancel."""

    cancelled: bool = Field(description="False when nothing of the order was left to cancel.")
    release_minor: int | None
