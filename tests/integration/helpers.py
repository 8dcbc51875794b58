import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx
import pytest

from api.client import ApiError
from campaign.expect import minor
from ledger.invariants import check_balance, check_conservation, totals_by_asset
from runtime.poll import polls, polls_async


def refused(status: int, call, *args, **kwargs) -> str:
    """Assert the call answers `status`; return the error message."""
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)
    assert caught.value.status_code == status, caught.value
    assert caught.value.message, "an error must say what is wrong"
    return caught.value.message


def snapshot(client, account: str):
    """All an account shows: its balances and its whole history length."""
    page = client.history(account, limit=1)
    return client.balance(account), (page.entries[0].seq if page.entries else 0)


def answers_within(deadline_s: float, call, *args, **kwargs):
    """The call must complete within the deadline: no retry loop holds the key."""
    start = time.monotonic()
    result = call(*args, **kwargs)
    took_s = time.monotonic() - start
    assert took_s < deadline_s, f"took {took_s:.1f}s; the key may be held by a retry loop"
    return result


def eventually(check, what: str, timeout_s: float = 20.0):
    """Poll `check` until it answers something truthy, and answer that; fail
    naming `what` at the deadline. (A maker hears of its fill by a one-way
    message after settlement, a GTD order expires by a timer.)"""
    for _ in polls(timeout_s):
        result = check()
        if result:
            return result
    raise AssertionError(f"timed out waiting for: {what}")


async def eventually_async(check, what: str, timeout_s: float = 60.0):
    """`eventually` for a coroutine's loop: `check` is a plain function."""
    async for _ in polls_async(timeout_s, interval_s=0.01):
        result = check()
        if result:
            return result
    raise AssertionError(f"timed out waiting for: {what}")


async def answered_carefully(call, refusals=(409,), timeout_s: float = 170.0, interval_s: float = 0.2):
    """What a careful client gets from `call`: the same request again (the
    same id) after a transport error, such as a crash's reset or refused
    connection, until the ledger answers. A refusal whose status is in
    `refusals` is an answer and is returned; any other raises."""
    last = None
    async for _ in polls_async(timeout_s, interval_s):
        try:
            return await call()
        except ApiError as err:
            if err.status_code in refusals:
                return err
            raise
        except httpx.TransportError as err:
            last = err
    raise AssertionError(f"no answer within {timeout_s:g}s; last: {last!r}")


# How each kind of history entry moves its asset's (available, reserved), in
# the tests' own arithmetic; entries of other kinds (open, freeze, unfreeze)
# move nothing.
ENTRY_EFFECTS = {
    "deposit": (1, 0), "credit": (1, 0), "refund": (1, 0), "receive": (1, 0),
    "withdraw": (-1, 0), "debit": (-1, 0),
    "reserve": (-1, 1), "release": (1, -1), "capture": (0, -1), "restore": (0, 1),
}
_HISTORY_PAGES = 1000


@dataclass
class Replay:
    """An account's history added up: each asset's (available, reserved),
    and per (ref, asset) the net change of the total and of the reserved
    part, and how many entries of each kind name the ref."""

    balances: dict = field(default_factory=lambda: defaultdict(lambda: (0, 0)))
    net: dict = field(default_factory=lambda: defaultdict(lambda: (0, 0)))
    kinds: Counter = field(default_factory=Counter)


async def replayed_history(ledger, account: str) -> Replay:
    """Pages the account's whole history (an AsyncLedgerClient) and replays
    it oldest first: every movement's `balance_after` must be what the
    entries before it add up to, so no entry moved money it does not show."""
    entries, before = [], None
    for _ in range(_HISTORY_PAGES):
        page = await ledger.history(account, limit=100, before=before)
        entries.extend(page.entries)
        if page.next is None:
            break
        before = page.next
    else:
        raise AssertionError(f"{account}: more than {_HISTORY_PAGES} pages of history")
    replay = Replay()
    for entry in reversed(entries):
        if entry.asset is None:
            continue
        amount = minor(entry.amount, entry.asset)
        d_available, d_reserved = (amount * sign for sign in ENTRY_EFFECTS[entry.kind])
        available, reserved = replay.balances[entry.asset]
        replay.balances[entry.asset] = after = (available + d_available, reserved + d_reserved)
        shown = (minor(entry.balance_after.available, entry.asset), minor(entry.balance_after.reserved, entry.asset))
        assert shown == after, (account, entry, after)
        if entry.ref is not None:
            total, held = replay.net[entry.ref, entry.asset]
            replay.net[entry.ref, entry.asset] = (total + d_available + d_reserved, held + d_reserved)
            replay.kinds[entry.ref, entry.kind] += 1
    return replay


async def check_accounts(ledger, names: list[str], total, reserved, inflow) -> dict[str, Replay]:
    """Every account holds what the test's own sums say: per asset,
    available + reserved = `total[name][asset]` and reserved =
    `reserved[name][asset]` (its live holds); nothing is negative; its
    history replays to the same; and money is conserved per asset against
    `inflow` (what came in less what went out). Answers each account's
    replayed history, for the caller's checks operation by operation."""
    seen, replays = {}, {}
    for name in names:
        view = await ledger.balance(name)
        seen[name] = {code: (view.minor(code), view.minor(code, "reserved")) for code in view.balances}
        for code, (available, held) in seen[name].items():
            check_balance(name, code, available, held)
        expected = {code: (total[name][code] - reserved[name][code], reserved[name][code])
                    for code in set(total[name]) | set(reserved[name])}
        assert nonzero(seen[name]) == nonzero(expected), name
        replays[name] = await replayed_history(ledger, name)
        assert nonzero(replays[name].balances) == nonzero(seen[name]), name
    check_conservation(totals_by_asset(seen.values()), inflow)
    return replays


def nonzero(pairs: dict) -> dict:
    """The entries of a {key: (x, y)} mapping that are not (0, 0)."""
    return {key: pair for key, pair in pairs.items() if pair != (0, 0)}
