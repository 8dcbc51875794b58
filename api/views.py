"""What the contract answers about an account, and about a trade on a book's tape."""

from __future__ import annotations

from ledger.account import Account
from ledger.book import Fill
from ledger.invariants import check_balance
from ledger.money import ASSETS, format_amount
from ledger.symbols import Symbol


def balances(account: Account) -> dict:
    out = {}
    for code in sorted(account.balances):
        b = account.balances[code]
        check_balance(account.account_id, code, b.available_minor, b.reserved_minor)
        asset = ASSETS[code]
        out[code] = {
            "available": format_amount(b.available_minor, asset),
            "reserved": format_amount(b.reserved_minor, asset),
            "total": format_amount(b.total_minor, asset),
        }
    return out


def balance_view(account: Account) -> dict:
    return {"account": account.account_id, "balances": balances(account)}


def account_view(account: Account) -> dict:
    return {
        "account": account.account_id,
        "owner": account.owner,
        "status": "FROZEN" if account.frozen else "OPEN",
        "balances": balances(account),
    }


def trade_view(sym: Symbol, seq: int, fill: Fill) -> dict:
    return {
        "seq": seq,
        "trade": fill.trade_id,
        "price": format_amount(fill.price_minor, sym.quote),
        "quantity": format_amount(fill.quantity_minor, sym.base),
        "taker_side": fill.taker_side.value,
    }
