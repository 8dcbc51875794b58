"""Account state and its pure transitions.

An account holds, per asset, an available and a reserved amount in minor
units; reserved is the sum of the account's open holds. Every transition
checks everything first and builds a new state only when it will succeed,
then asserts the invariants on what it built: a refusal changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from types import MappingProxyType
from typing import Mapping

from ledger.errors import NotFound, Refused
from ledger.invariants import check_account
from ledger.money import ASSETS, MAX_MINOR, Asset, format_amount

# Live holds of every kind are kept inside the account's one state entry;
# the cap keeps that entry small (docs/design.md, rule 6) and bounds what a
# client can pile up.
MAX_LIVE_HOLDS = 1000
MAX_OWNER_CHARS = 128

# The kinds of hold an account keeps, each in its own id space: an order
# and a public hold with the same id are two holds.
HOLD_KINDS = ("order", "hold")


def hold_key(kind: str, hold_id: str) -> str:
    """The key of a hold inside an account: its kind and its id."""
    assert kind in HOLD_KINDS and ":" not in hold_id, (kind, hold_id)
    return f"{kind}:{hold_id}"


def hold_ref(key: str) -> str:
    """What a hold's history entries name: its id, without the kind."""
    return key.partition(":")[2] or key


class Kind(str, Enum):
    """What a history entry records; values are the contract's strings."""

    OPEN = "open"
    DEPOSIT = "deposit"
    WITHDRAW = "withdraw"
    DEBIT = "debit"
    CREDIT = "credit"
    REFUND = "refund"
    RECEIVE = "receive"
    RESERVE = "reserve"
    RELEASE = "release"
    CAPTURE = "capture"
    RESTORE = "restore"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"


@dataclass(frozen=True)
class Balance:
    available_minor: int = 0
    reserved_minor: int = 0

    @property
    def total_minor(self) -> int:
        return self.available_minor + self.reserved_minor


@dataclass(frozen=True)
class Hold:
    hold_id: str  # its key: kind and id (hold_key)
    asset: str
    amount_minor: int  # what is still held


@dataclass(frozen=True)
class Account:
    account_id: str
    owner: str | None = None
    frozen: bool = False
    balances: Mapping[str, Balance] = field(default_factory=lambda: MappingProxyType({}))
    holds: Mapping[str, Hold] = field(default_factory=lambda: MappingProxyType({}))
    # How many history entries were written; the next one gets this number + 1.
    history_count: int = 0

    def balance(self, asset_code: str) -> Balance:
        return self.balances.get(asset_code, Balance())

    # The stored form is plain JSON: ints stay exact through Python's json.
    def to_record(self) -> dict:
        check_account(self)
        return {
            "owner": self.owner,
            "frozen": self.frozen,
            "balances": {
                code: [b.available_minor, b.reserved_minor] for code, b in self.balances.items()
            },
            "holds": {h.hold_id: [h.asset, h.amount_minor] for h in self.holds.values()},
            "history_count": self.history_count,
        }

    @classmethod
    def from_record(cls, account_id: str, record: dict) -> "Account":
        account = cls(
            account_id=account_id,
            owner=record["owner"],
            frozen=record["frozen"],
            balances=MappingProxyType(
                {code: Balance(a, r) for code, (a, r) in record["balances"].items()}
            ),
            holds=MappingProxyType(
                {_current_key(hid): Hold(_current_key(hid), code, amount)
                 for hid, (code, amount) in record["holds"].items()}
            ),
            history_count=record["history_count"],
        )
        check_account(account)
        return account


def _current_key(key: str) -> str:
    # Records written before holds had kinds keyed an order's hold by the
    # order id alone (ids never contain ':').
    return key if ":" in key else hold_key("order", key)


@dataclass(frozen=True)
class Entry:
    """One history record, as the transition that made it describes it;
    the operation that asked for it adds the caller's reference and
    metadata (tagged)."""

    kind: Kind
    asset: str | None = None
    amount_minor: int | None = None
    ref: str | None = None  # the transfer, order, hold or transaction it belongs to
    reference: str | None = None
    metadata: Mapping[str, str] | None = None


def tagged(change: "Change", reference: str | None, metadata: Mapping[str, str] | None) -> "Change":
    """The change with the caller's reference and metadata on its entry."""
    if reference is None and not metadata:
        return change
    return Change(change.account, replace(change.entry, reference=reference, metadata=metadata or None))


@dataclass(frozen=True)
class Change:
    account: Account
    entry: Entry


# --- lifecycle ---------------------------------------------------------------


def open_account(existing: Account | None, account_id: str, owner: str | None) -> Change | None:
    """Open a new account; opening an open one changes nothing (None), and
    naming another owner than the recorded one is refused: answering 200
    while keeping the old owner would tell the caller it got what it asked."""
    if existing is not None:
        if owner is not None and owner != existing.owner:
            recorded = "no owner" if existing.owner is None else f"owner {existing.owner!r}"
            raise Refused(f"account {account_id} is already open with {recorded}, not {owner!r}")
        return None
    return _changed(Account(account_id=account_id, owner=owner), Entry(Kind.OPEN))


def require_open(account: Account | None, account_id: str) -> Account:
    if account is None:
        raise NotFound(f"account {account_id} is not open")
    return account


def freeze(account: Account) -> Change | None:
    if account.frozen:
        return None
    return _changed(account, Entry(Kind.FREEZE), frozen=True)


def unfreeze(account: Account) -> Change | None:
    if not account.frozen:
        return None
    return _changed(account, Entry(Kind.UNFREEZE), frozen=False)


# --- movements of available funds --------------------------------------------


def deposit(account: Account, asset: Asset, amount_minor: int) -> Change:
    return _add_available(account, asset, amount_minor, Kind.DEPOSIT, None, refuse_if_frozen=True)


def withdraw(account: Account, asset: Asset, amount_minor: int) -> Change:
    return _take_available(account, asset, amount_minor, Kind.WITHDRAW, None)


def debit(account: Account, asset: Asset, amount_minor: int, ref: str) -> Change:
    """The first leg of a transfer: like a withdrawal, recorded against `ref`."""
    return _take_available(account, asset, amount_minor, Kind.DEBIT, ref)


def credit(account: Account, asset: Asset, amount_minor: int, ref: str, accepted: bool = False) -> Change:
    """A transfer's or transaction's credit. `accepted`: the account agreed
    to it before any money moved (accept), so it is never refused now, as
    a trade's receipt is not: the other legs have already left."""
    return _add_available(account, asset, amount_minor, Kind.CREDIT, ref, refuse_if_frozen=not accepted,
                          capped=not accepted)


def accept(account: Account, asset: Asset, amount_minor: int) -> None:
    """Refuse now what a credit of `amount_minor` would be refused for;
    changes nothing. A multi-account movement asks this of every account it
    will credit before any money moves, so no credit is refused after a
    debit it would have to undo."""
    _require_positive(amount_minor)
    _refuse_if_frozen(account)
    _require_room(account, asset, account.balance(asset.code), amount_minor, Kind.CREDIT)


def refund(account: Account, asset: Asset, amount_minor: int, ref: str) -> Change:
    """Give back what a saga debited. Never refused, not even on a frozen
    account or past the inflow cap: refusing would strand the money of a
    transfer that did not happen."""
    return _add_available(account, asset, amount_minor, Kind.REFUND, ref, refuse_if_frozen=False,
                          capped=False)


def receive(account: Account, asset: Asset, amount_minor: int, ref: str) -> Change:
    """What a trade pays an account. Never refused, not even on a frozen
    account or past the inflow cap: the trade was made before, and its other
    leg has already left the counterparty's hold."""
    return _add_available(account, asset, amount_minor, Kind.RECEIVE, ref, refuse_if_frozen=False,
                          capped=False)


# --- holds -------------------------------------------------------------------


def reserve(account: Account, hold_id: str, asset: Asset, amount_minor: int) -> Change:
    """Move funds from available to reserved under a new hold."""
    _refuse_if_frozen(account)
    if hold_id in account.holds:
        raise Refused(f"hold {hold_id} already exists on account {account.account_id}")
    if len(account.holds) >= MAX_LIVE_HOLDS:
        raise Refused(
            f"account {account.account_id} has {len(account.holds)} live holds (orders and holds), "
            f"the most it may have"
        )
    before = account.balance(asset.code)
    _require_available(account, asset, before, amount_minor)
    after = Balance(before.available_minor - amount_minor, before.reserved_minor + amount_minor)
    holds = {**account.holds, hold_id: Hold(hold_id, asset.code, amount_minor)}
    return _changed(account, Entry(Kind.RESERVE, asset.code, amount_minor, hold_ref(hold_id)),
                    balances=_with(account.balances, asset.code, after), holds=_frozen(holds))


def release(account: Account, hold_id: str, amount_minor: int | None = None) -> Change:
    """Give held funds back to available: all that is left, or `amount_minor`.

    Allowed on a frozen account: it only returns the owner's own funds."""
    hold = _require_hold(account, hold_id)
    amount_minor = hold.amount_minor if amount_minor is None else amount_minor
    _require_within_hold(hold, amount_minor)
    before = account.balance(hold.asset)
    after = Balance(before.available_minor + amount_minor, before.reserved_minor - amount_minor)
    return _changed(account, Entry(Kind.RELEASE, hold.asset, amount_minor, hold_ref(hold_id)),
                    balances=_with(account.balances, hold.asset, after),
                    holds=_shrunk(account.holds, hold, amount_minor))


def capture(account: Account, hold_id: str, amount_minor: int) -> Change:
    """Take held funds out of the account (to be credited elsewhere).

    Allowed on a frozen account: the hold was committed before the freeze,
    and a trade that already happened must settle."""
    hold = _require_hold(account, hold_id)
    _require_within_hold(hold, amount_minor)
    before = account.balance(hold.asset)
    after = Balance(before.available_minor, before.reserved_minor - amount_minor)
    return _changed(account, Entry(Kind.CAPTURE, hold.asset, amount_minor, hold_ref(hold_id)),
                    balances=_with(account.balances, hold.asset, after),
                    holds=_shrunk(account.holds, hold, amount_minor))


def restore(account: Account, hold_id: str, asset: Asset, amount_minor: int) -> Change:
    """Put back under a hold what a capture took when the capture's credit
    was then refused: the hold is as it was before the capture. Never
    refused, like a refund (frozen or not): the money is the hold's."""
    _require_positive(amount_minor)
    before = account.balance(asset.code)
    held = account.holds.get(hold_id)
    assert held is None or held.asset == asset.code, (held, asset)
    after = Balance(before.available_minor, before.reserved_minor + amount_minor)
    hold = Hold(hold_id, asset.code, amount_minor + (held.amount_minor if held else 0))
    return _changed(account, Entry(Kind.RESTORE, asset.code, amount_minor, hold_ref(hold_id)),
                    balances=_with(account.balances, asset.code, after),
                    holds=_frozen({**account.holds, hold_id: hold}))


# --- helpers -----------------------------------------------------------------


def _add_available(
    account: Account, asset: Asset, amount_minor: int, kind: Kind, ref: str | None,
    refuse_if_frozen: bool, capped: bool = True,
) -> Change:
    _require_positive(amount_minor)
    if refuse_if_frozen:
        _refuse_if_frozen(account)
    before = account.balance(asset.code)
    # The cap is on what enters the ledger (deposits, transfer credits);
    # what a saga must give back or pay out is never refused.
    if capped:
        _require_room(account, asset, before, amount_minor, kind)
    after = Balance(before.available_minor + amount_minor, before.reserved_minor)
    return _changed(account, Entry(kind, asset.code, amount_minor, ref),
                    balances=_with(account.balances, asset.code, after))


def _take_available(
    account: Account, asset: Asset, amount_minor: int, kind: Kind, ref: str | None
) -> Change:
    _require_positive(amount_minor)
    _refuse_if_frozen(account)
    before = account.balance(asset.code)
    _require_available(account, asset, before, amount_minor)
    after = Balance(before.available_minor - amount_minor, before.reserved_minor)
    return _changed(account, Entry(kind, asset.code, amount_minor, ref),
                    balances=_with(account.balances, asset.code, after))


def _require_room(account: Account, asset: Asset, before: Balance, amount_minor: int, kind: Kind) -> None:
    if before.total_minor + amount_minor > MAX_MINOR:
        raise Refused(
            f"{kind.value} would take account {account.account_id} past the largest "
            f"{asset.code} balance the ledger holds"
        )


def _changed(account: Account, entry: Entry, balances: Mapping[str, Balance] | None = None,
             holds: Mapping[str, Hold] | None = None, frozen: bool | None = None) -> Change:
    """The account with what changed and one more history entry, checked.
    Built directly rather than by dataclasses.replace, which every step of
    every saga pays for."""
    account = Account(
        account.account_id, account.owner, account.frozen if frozen is None else frozen,
        account.balances if balances is None else balances, account.holds if holds is None else holds,
        account.history_count + 1,
    )
    check_account(account)
    return Change(account, entry)


def _require_positive(amount_minor: int) -> None:
    # Amounts are validated at the edge; reaching here with less is a bug.
    assert isinstance(amount_minor, int) and amount_minor > 0, amount_minor


def _refuse_if_frozen(account: Account) -> None:
    if account.frozen:
        raise Refused(f"account {account.account_id} is frozen")


def _require_available(account: Account, asset: Asset, before: Balance, amount_minor: int) -> None:
    _require_positive(amount_minor)
    if before.available_minor < amount_minor:
        raise Refused(
            f"insufficient funds on account {account.account_id}: available "
            f"{format_amount(before.available_minor, asset)} {asset.code}, requested "
            f"{format_amount(amount_minor, asset)} {asset.code}"
        )


def _require_hold(account: Account, hold_id: str) -> Hold:
    hold = account.holds.get(hold_id)
    if hold is None:
        raise NotFound(f"account {account.account_id} has no live hold {hold_id}")
    return hold


def _require_within_hold(hold: Hold, amount_minor: int) -> None:
    _require_positive(amount_minor)
    if amount_minor > hold.amount_minor:
        asset = ASSETS[hold.asset]
        raise Refused(
            f"hold {hold.hold_id} has {format_amount(hold.amount_minor, asset)} {hold.asset} "
            f"left, requested {format_amount(amount_minor, asset)} {hold.asset}"
        )


def _with(balances: Mapping[str, Balance], code: str, balance: Balance) -> Mapping[str, Balance]:
    return _frozen({**balances, code: balance})


def _shrunk(holds: Mapping[str, Hold], hold: Hold, amount_minor: int) -> Mapping[str, Hold]:
    rest = dict(holds)
    left = hold.amount_minor - amount_minor
    if left:
        rest[hold.hold_id] = replace(hold, amount_minor=left)
    else:
        del rest[hold.hold_id]
    return _frozen(rest)


def _frozen(mapping: dict) -> Mapping:
    return MappingProxyType(mapping)
