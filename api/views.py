"""What the contract answers, built from the domain: each a response model
(api/responses.py), amounts as decimal strings with their asset's decimals.

Every view passes only the fields it means to show: a field left unset stays
off the wire (the handlers' output serde), so `reason` appears only when
there is one, as documented."""

from __future__ import annotations

from api.responses import (
    AccountView, AssetBalance, BalanceAfter, BalanceView, BatchResult, BatchView, BookLevel, BookView, FillRecord, HistoryEntry, HistoryPage, HoldView, LegView,
    OrderFillView, OrderView, TradesPage, TradeView, TransactionView, TransferView, VenueOutcome,
)
from ledger.account import Account
from ledger.book import Fill, Outcome
from ledger.hold import Hold
from ledger.invariants import check_balance
from ledger.money import ASSETS, format_amount
from ledger.order import Order
from ledger.symbols import Symbol
from ledger.transaction import Transaction
from ledger.transfer import Transfer


def balances(account: Account) -> dict[str, AssetBalance]:
    out = {}
    for code in sorted(account.balances):
        b = account.balances[code]
        check_balance(account.account_id, code, b.available_minor, b.reserved_minor)
        asset = ASSETS[code]
        out[code] = AssetBalance(
            available=format_amount(b.available_minor, asset),
            reserved=format_amount(b.reserved_minor, asset),
            total=format_amount(b.total_minor, asset),
        )
    return out


def balance_view(account: Account) -> BalanceView:
    return BalanceView(account=account.account_id, balances=balances(account))


def account_view(account: Account) -> AccountView:
    return AccountView(account=account.account_id, owner=account.owner,
                       status="FROZEN" if account.frozen else "OPEN", balances=balances(account))


def history_entry(rec: dict) -> HistoryEntry:
    """A stored history record (ledger/history.py) as the contract shows it."""
    assert rec["seq"] >= 1, rec
    shown: dict = {"seq": rec["seq"], "kind": rec["kind"], "at_ms": rec["at_ms"]}
    if "asset" in rec:
        asset = ASSETS[rec["asset"]]
        shown["asset"] = asset.code
        shown["amount"] = format_amount(rec["amount_minor"], asset)
        if "balance_after" in rec:  # records written before it was kept have none
            available_minor, reserved_minor = rec["balance_after"]
            check_balance("history", asset.code, available_minor, reserved_minor)
            shown["balance_after"] = BalanceAfter(available=format_amount(available_minor, asset),
                                                  reserved=format_amount(reserved_minor, asset))
    for name in ("ref", "reference", "metadata"):
        if name in rec:
            shown[name] = rec[name]
    return HistoryEntry(**shown)


def history_page(account_id: str, records: list[dict], next_cursor: int | None) -> HistoryPage:
    return HistoryPage(account=account_id, entries=[history_entry(r) for r in records], next=next_cursor)


def tags_shown(reference: str | None, metadata) -> dict:
    """The caller's reference and metadata, each only when given."""
    shown: dict = {}
    if reference is not None:
        shown["reference"] = reference
    if metadata:
        shown["metadata"] = dict(metadata)
    return shown


def transfer_view(t: Transfer) -> TransferView:
    shown: dict = {}
    if t.reason is not None:
        shown["reason"] = t.reason
    if t.compensation_errors:
        shown["compensation_errors"] = list(t.compensation_errors)
    shown.update(tags_shown(t.reference, t.metadata))
    return TransferView(transfer=t.transfer_id, status=t.status.value, source=t.source, target=t.target,
                        asset=t.asset, amount=format_amount(t.amount_minor, ASSETS[t.asset]), **shown)


def hold_view(h: Hold) -> HoldView:
    asset = ASSETS[h.asset]
    shown: dict = {}
    if h.target is not None:
        shown["target"] = h.target
    if h.expires_at_ms is not None:
        shown["expires_at_ms"] = h.expires_at_ms
    shown.update(tags_shown(h.reference, h.metadata))
    if h.reason is not None:
        shown["reason"] = h.reason
    return HoldView(hold=h.hold_id, source=h.source, asset=h.asset, amount=format_amount(h.amount_minor, asset),
                    captured=format_amount(h.captured_minor, asset), status=h.status.value, **shown)


def transaction_view(t: Transaction) -> TransactionView:
    shown = tags_shown(t.reference, t.metadata)
    if t.reason is not None:
        shown["reason"] = t.reason
    if t.compensation_errors:
        shown["compensation_errors"] = list(t.compensation_errors)
    return TransactionView(
        transaction=t.transaction_id, status=t.status.value,
        legs=[LegView(account=leg.account, asset=leg.asset, amount=format_amount(leg.amount_minor, ASSETS[leg.asset]),
                      direction=leg.direction) for leg in t.legs], **shown)


def batch_view(batch_id: str, status: str, results: list[dict]) -> BatchView:
    """A batch's record: its status and each item's result (ledger.batch.Result's record)."""
    return BatchView(batch=batch_id, status=status, results=[BatchResult(**result) for result in results])


def order_view(o: Order) -> OrderView:
    base, quote = o.symbol.base, o.symbol.quote
    shown: dict = {}
    if o.expires_at_ms is not None:
        shown["expires_at_ms"] = o.expires_at_ms
    if o.reason is not None:
        shown["reason"] = o.reason
    return OrderView(
        order=o.order_id, account=o.account, symbol=o.symbol.code, side=o.side.value,
        quantity=format_amount(o.quantity_minor, base), price=format_amount(o.price_minor, quote),
        time_in_force=o.tif.value, filled=format_amount(o.filled_minor, base), status=o.status.value,
        fills=[OrderFillView(trade=f.trade_id, price=format_amount(f.price_minor, quote),
                             quantity=format_amount(f.quantity_minor, base), role=f.role) for f in o.fills],
        **shown,
    )


def book_view(sym: Symbol, sides: dict[str, list[tuple[int, int]]]) -> BookView:
    """`sides`: "bids" and "asks", each its (price, total quantity) in minor units, best first."""
    return BookView(symbol=sym.code, **{
        name: [BookLevel(price=format_amount(p, sym.quote), quantity=format_amount(q, sym.base)) for p, q in levels]
        for name, levels in sides.items()
    })


def trade_view(sym: Symbol, seq: int, fill: Fill) -> TradeView:
    return TradeView(seq=seq, trade=fill.trade_id, price=format_amount(fill.price_minor, sym.quote),
                     quantity=format_amount(fill.quantity_minor, sym.base), taker_side=fill.taker_side.value)


def trades_page(sym: Symbol, trades: list[tuple[int, Fill]], next_cursor: int | None) -> TradesPage:
    return TradesPage(symbol=sym.code, trades=[trade_view(sym, s, f) for s, f in trades], next=next_cursor)


def venue_outcome(outcome: Outcome) -> VenueOutcome:
    return VenueOutcome(fills=[FillRecord(**f.to_record()) for f in outcome.fills], filled_minor=outcome.filled_minor,
                        rested=outcome.rested, release_minor=outcome.release_minor,
                        cancel_reason=outcome.cancel_reason)


def fill_of(record: FillRecord) -> Fill:
    return Fill.from_record(record.model_dump())
