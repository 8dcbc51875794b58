"""The ledger's invariants, stated once.

The domain asserts them on every state it writes and reads back; the unit,
property and live tests and the audit call the same functions.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Iterable, Mapping

from ledger.money import ASSETS

if TYPE_CHECKING:
    from ledger.account import Account


class InvariantViolation(AssertionError):
    pass


def check_account(account: "Account") -> None:
    """No negative available or reserved; reserved equals the open holds."""
    held: dict[str, int] = defaultdict(int)
    for hold in account.holds.values():
        _require(hold.asset in ASSETS, f"{account.account_id}: hold in unknown asset {hold.asset}")
        _require(hold.amount_minor > 0, f"{account.account_id}: empty hold {hold.hold_id}")
        held[hold.asset] += hold.amount_minor
    for code, balance in account.balances.items():
        _require(code in ASSETS, f"{account.account_id}: balance in unknown asset {code}")
        check_balance(account.account_id, code, balance.available_minor, balance.reserved_minor)
        _require(
            balance.reserved_minor == held.get(code, 0),
            f"{account.account_id}: reserved {balance.reserved_minor} {code} "
            f"but open holds sum to {held.get(code, 0)}",
        )
    for code in held:
        _require(code in account.balances, f"{account.account_id}: hold in {code}, no balance")


def check_balance(account_id: str, code: str, available_minor: int, reserved_minor: int) -> None:
    for name, value in (("available", available_minor), ("reserved", reserved_minor)):
        _require(
            isinstance(value, int) and not isinstance(value, bool),
            f"{account_id}: {name} {code} is not an integer: {value!r}",
        )
        _require(value >= 0, f"{account_id}: negative {name} {code}: {value}")


def totals_by_asset(balances: Iterable[Mapping[str, tuple[int, int]]]) -> dict[str, int]:
    """Sum available + reserved per asset over many accounts' balances,
    each given as {asset: (available_minor, reserved_minor)}."""
    totals: dict[str, int] = defaultdict(int)
    for account in balances:
        for code, (available, reserved) in account.items():
            totals[code] += available + reserved
    return dict(totals)


def check_accounts_conserve(accounts: Iterable["Account"], net_inflow: Mapping[str, int]) -> None:
    """check_conservation over account states themselves."""
    check_conservation(totals_by_asset(
        {code: (b.available_minor, b.reserved_minor) for code, b in a.balances.items()} for a in accounts
    ), net_inflow)


def check_conservation(totals: Mapping[str, int], net_inflow: Mapping[str, int]) -> None:
    """Money is conserved per asset: what the accounts hold together is
    exactly what came in (deposits) less what went out (withdrawals)."""
    for code in set(totals) | set(net_inflow):
        _require(
            totals.get(code, 0) == net_inflow.get(code, 0),
            f"{code} not conserved: accounts hold {totals.get(code, 0)}, "
            f"net inflow {net_inflow.get(code, 0)}",
        )


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantViolation(message)
