"""Generated workloads of operations (deposits, withdrawals, transfers,
freezes, holds, multi-leg transactions, batches) sent concurrently to the
live ledger; at quiescence, the invariants must hold through the public API
alone, and every account must hold what the test adds up from the final
statuses with its own arithmetic, operation by operation."""

import asyncio
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.client import ApiError, AsyncLedgerClient
from ledger.money import ASSETS, format_amount
from runtime.poll import polls_async
from tests.integration.helpers import check_accounts, nonzero

pytestmark = pytest.mark.live

ACCOUNTS = 6  # index 5 is never opened; index 4 starts frozen
ASSET_CODES = ("USD", "BTC")
TERMINAL = {"COMPLETED", "FAILED", "COMPENSATED"}
# What a hold's actions may leave it as (REJECTED aside): "race" sends a
# capture and a void at once; a capture the target refuses leaves it HELD.
HOLD_ACTIONS = {
    "keep": {"HELD", "EXPIRED"},
    "void": {"VOIDED", "EXPIRED"},
    "capture": {"CAPTURED", "HELD", "EXPIRED"},
    "capture-part": {"CAPTURED", "HELD", "EXPIRED"},
    "race": {"CAPTURED", "VOIDED", "EXPIRED"},
}
EXPIRY_TIMEOUT_S = 60.0
# The outcomes the examples reached, so a run shows what it exercised.
STATS = Counter()

amounts = st.integers(min_value=1, max_value=4_000)
account_ix = st.integers(min_value=0, max_value=ACCOUNTS - 1)
# Holds, transactions and batches mostly between open accounts, so that most
# of them move money; sometimes with the frozen or the unknown one.
party = st.sampled_from((0, 1, 2, 3) * 4 + (4, 5))
asset_code = st.sampled_from(ASSET_CODES)
move = st.tuples(party, party, asset_code, amounts)  # from one account to another
operation = st.one_of(
    st.tuples(st.just("deposit"), account_ix, asset_code, amounts),
    st.tuples(st.just("withdraw"), account_ix, asset_code, amounts),
    st.tuples(st.just("transfer"), account_ix, account_ix, asset_code, amounts),
    # One branch for both, so that fewer operations meet a frozen account.
    st.tuples(st.just("freeze"), st.integers(0, 3)) | st.tuples(st.just("unfreeze"), st.integers(0, 4)),
    st.tuples(st.just("hold"), party, st.none() | party, asset_code, amounts,
              st.sampled_from([None, None, 1]), st.sampled_from(sorted(HOLD_ACTIONS))),
    st.tuples(st.just("transaction"), st.lists(move, min_size=1, max_size=2)),
    st.tuples(st.just("batch"), st.lists(move, min_size=1, max_size=8)),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(workload=st.lists(operation, min_size=10, max_size=60))
def test_concurrent_workloads_keep_every_invariant(stack, workload):
    asyncio.run(_run_workload(stack.ingress_url, workload))


def teardown_module():
    print(f"\nlive properties: {dict(sorted(STATS.items()))}")


def _sums():
    return defaultdict(lambda: defaultdict(int))


@dataclass
class Expected:
    """What the accounts should hold, by the test's own sums: net inflow per
    asset; per account and asset the total (available + reserved) and the
    reserved part; per account the net (total, reserved) of each operation
    its history names, keyed (ref, asset)."""

    inflow: dict = field(default_factory=lambda: defaultdict(int))
    total: dict = field(default_factory=_sums)
    reserved: dict = field(default_factory=_sums)
    net: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(lambda: (0, 0))))

    def move(self, account: str, ref: str, code: str, total_minor: int, reserved_minor: int = 0) -> None:
        self.total[account][code] += total_minor
        self.reserved[account][code] += reserved_minor
        was_total, was_reserved = self.net[account][ref, code]
        self.net[account][ref, code] = (was_total + total_minor, was_reserved + reserved_minor)


@dataclass
class Sent:
    """What the workload sent, with the answer each request got."""

    transfers: list = field(default_factory=list)
    holds: list = field(default_factory=list)
    transactions: list = field(default_factory=list)
    batches: list = field(default_factory=list)


def _text(minor: int, code: str) -> str:
    return format_amount(minor, ASSETS[code])


async def _answer(call):
    """The ledger's answer, a refusal included."""
    try:
        return await call
    except ApiError as err:
        return err


async def _run_workload(url: str, workload: list[tuple]) -> None:
    run = uuid.uuid4().hex[:10]
    names = [f"p{run}-{i}" for i in range(ACCOUNTS)]
    expected, sent = Expected(), Sent()
    async with AsyncLedgerClient(url, max_connections=32) as ledger:
        for name in names[:-1]:
            await ledger.open(name)
            for code in ASSET_CODES:
                await ledger.deposit(name, code, "50")
                minor = 50 * 10 ** ASSETS[code].scale
                expected.inflow[code] += minor
                expected.total[name][code] += minor
        await ledger.freeze(names[4])

        await asyncio.gather(*(_apply(ledger, run, names, i, op, expected, sent)
                               for i, op in enumerate(workload)))

        await _expect_transfers(ledger, sent.transfers, expected)
        held = await _expect_holds(ledger, sent.holds, expected)
        await _expect_transactions(ledger, sent.transactions, expected)
        await _expect_batches(ledger, sent.batches, expected)
        await _check_accounts(ledger, names[:-1], expected)
        with pytest.raises(ApiError):
            await ledger.balance(names[-1])

        # What is still HELD is a real hold: voided, it gives everything back.
        for hold_id, source, code, minor in held:
            assert (await ledger.void_hold(hold_id)).status == "VOIDED"
            expected.move(source, hold_id, code, 0, -minor)
        await _check_accounts(ledger, names[:-1], expected)
    assert not any(r for by_code in expected.reserved.values() for r in by_code.values())


async def _apply(ledger, run: str, names: list[str], i: int, op: tuple, expected: Expected, sent: Sent) -> None:
    kind = op[0]
    if kind in ("deposit", "withdraw"):
        _, ix, code, minor = op
        try:
            await getattr(ledger, kind)(names[ix], code, _text(minor, code))
        except ApiError as err:
            assert err.status_code in (404, 409), err
            return
        sign = 1 if kind == "deposit" else -1
        expected.inflow[code] += sign * minor
        expected.total[names[ix]][code] += sign * minor
    elif kind == "transfer":
        _, src, dst, code, minor = op
        tid = f"t{run}-{i}"
        answer = await _answer(ledger.transfer(tid, names[src], names[dst], code, _text(minor, code)))
        sent.transfers.append((tid, names[src], names[dst], code, minor, answer))
    elif kind == "hold":
        await _hold(ledger, f"h{run}-{i}", names, op, sent)
    elif kind == "transaction":
        tid = f"x{run}-{i}"
        legs = [leg for src, dst, code, minor in op[1]
                for leg in ((names[src], code, minor, "DEBIT"), (_other(names, src, dst), code, minor, "CREDIT"))]
        answer = await _answer(ledger.post_transaction(tid, [
            {"account": who, "asset": code, "amount": _text(minor, code), "direction": direction}
            for who, code, minor, direction in legs]))
        sent.transactions.append((tid, legs, answer))
    elif kind == "batch":
        bid = f"b{run}-{i}"
        items = [(str(k), names[src], _other(names, src, dst), code, minor)
                 for k, (src, dst, code, minor) in enumerate(op[1])]
        answer = await _answer(ledger.run_batch(bid, [
            {"id": k, "source": s, "target": t, "asset": code, "amount": _text(minor, code)}
            for k, s, t, code, minor in items]))
        sent.batches.append((bid, items, answer))
    else:
        try:
            await getattr(ledger, kind)(names[op[1]])
        except ApiError as err:
            assert err.status_code == 404 and op[1] == 5, err


def _other(names: list[str], ix: int, other: int) -> str:
    """The account `other`, or the next one if it is `ix` itself."""
    return names[other if other != ix else (ix + 1) % len(names)]


def _capture_minor(minor: int, action: str) -> int:
    return max(1, minor // 2) if action == "capture-part" else minor


async def _hold(ledger, hold_id: str, names: list[str], op: tuple, sent: Sent) -> None:
    """Place a hold, then act on it: capture (all or part), void, both at once, or nothing."""
    _, src, dst, code, minor, expires_in_s, action = op
    source, target = names[src], None if dst is None else _other(names, src, dst)
    placed = await _answer(ledger.place_hold(hold_id, source, code, _text(minor, code), target=target,
                                             expires_in_s=expires_in_s))
    part = _text(_capture_minor(minor, action), code) if action == "capture-part" else None
    calls = {"keep": [], "void": ["void"], "capture": ["capture"], "capture-part": ["capture"],
             "race": ["capture", "void"]}[action]
    acted = await asyncio.gather(*(_answer(ledger.capture_hold(hold_id, part) if call == "capture"
                                           else ledger.void_hold(hold_id)) for call in calls))
    sent.holds.append((hold_id, source, target, code, minor, expires_in_s, action, placed, acted))


async def _expect_transfers(ledger, transfers: list[tuple], expected: Expected) -> None:
    """Each transfer's kept status agrees with its first answer; a completed
    one moves its amount in `expected`."""
    for tid, src, dst, code, minor, answer in transfers:
        if src == dst:
            assert isinstance(answer, ApiError) and answer.status_code == 400
            continue
        status = (await ledger.transfer_status(tid)).status
        assert status in TERMINAL, (tid, status)
        STATS[f"transfer {status}"] += 1
        if status == "COMPLETED":
            assert not isinstance(answer, ApiError), answer
            expected.move(src, tid, code, -minor)
            expected.move(dst, tid, code, minor)
        else:
            assert isinstance(answer, ApiError) and answer.status_code == 409, answer
            assert status in answer.message


async def _settled_holds(ledger, holds: list[tuple]) -> dict:
    """Every hold's status once no expiry timer can change one any more."""
    async for _ in polls_async(EXPIRY_TIMEOUT_S, interval_s=0.1):
        final = {h[0]: await ledger.hold_status(h[0]) for h in holds}
        if not any(final[h[0]].status == "HELD" and h[5] is not None for h in holds):
            return final
    raise AssertionError(f"holds with expiries still HELD after {EXPIRY_TIMEOUT_S:g}s")


async def _expect_holds(ledger, holds: list[tuple], expected: Expected) -> list[tuple]:
    """Each hold has one outcome, which every answer agrees with; a capture
    moves what it took, a HELD hold keeps its amount reserved. Answers the
    holds still HELD: (hold id, source, asset, amount)."""
    final = await _settled_holds(ledger, holds)
    held = []
    for hold_id, source, target, code, minor, expires_in_s, action, placed, acted in holds:
        status = final[hold_id]
        STATS[f"hold {status.status}"] += 1
        assert isinstance(placed, ApiError) == (status.status == "REJECTED"), (hold_id, placed, status)
        if status.status == "REJECTED":
            assert placed.status_code == 409 and placed.message.startswith(f"hold {hold_id} REJECTED: "), placed
            assert all(isinstance(a, ApiError) and a.status_code == 409 for a in acted), acted
            continue
        assert status.status in HOLD_ACTIONS[action], (hold_id, action, status)
        _check_hold_answers(hold_id, target, status.status, acted)
        if status.status == "CAPTURED":
            taken = _capture_minor(minor, action)
            assert status.captured == _text(taken, code), (hold_id, status)
            expected.move(source, hold_id, code, -taken)
            if target is None:
                expected.inflow[code] -= taken  # a payout leaves the ledger
            else:
                expected.move(target, hold_id, code, taken)
        elif status.status == "HELD":
            assert expires_in_s is None, (hold_id, status)
            expected.move(source, hold_id, code, 0, minor)
            held.append((hold_id, source, code, minor))
    return held


def _check_hold_answers(hold_id: str, target: str | None, final: str, acted: list) -> None:
    """At most one action won, and it made the final status; every other
    found the hold final already, or was a capture the target refused."""
    won = [a for a in acted if not isinstance(a, ApiError)]
    assert len(won) <= 1 and all(a.status == final for a in won), (hold_id, acted, final)
    for refusal in acted:
        if not isinstance(refusal, ApiError):
            continue
        assert refusal.status_code == 409, refusal
        restored = target is not None and refusal.message.endswith("; the hold is still HELD")
        assert restored or refusal.message.startswith(f"hold {hold_id} is {final}; "), (refusal, final)


async def _expect_transactions(ledger, transactions: list[tuple], expected: Expected) -> None:
    """Each transaction POSTED with every leg, or REJECTED with none; its
    answer says the same."""
    for tid, legs, answer in transactions:
        status = (await ledger.transaction_status(tid)).status
        assert status in ("POSTED", "REJECTED"), (tid, status)
        STATS[f"transaction {status}"] += 1
        if status == "POSTED":
            assert not isinstance(answer, ApiError) and answer.status == "POSTED", answer
            for who, code, minor, direction in legs:
                expected.move(who, tid, code, minor if direction == "CREDIT" else -minor)
        else:
            assert isinstance(answer, ApiError) and answer.status_code == 409, answer
            assert answer.message.startswith(f"transaction {tid} REJECTED: "), answer


async def _expect_batches(ledger, batches: list[tuple], expected: Expected) -> None:
    """Each batch answers every item's result, kept as answered; a
    COMPLETED item moves its amount, the others nothing."""
    for bid, items, answer in batches:
        status = await ledger.batch_status(bid)
        assert answer == status and status.status == "COMPLETED", (bid, answer, status)
        assert [r.id for r in status.results] == [item[0] for item in items]
        for (item_id, src, dst, code, minor), result in zip(items, status.results):
            STATS[f"batch item {result.status}"] += 1
            if result.status == "COMPLETED":
                expected.move(src, f"{bid}:{item_id}", code, -minor)
                expected.move(dst, f"{bid}:{item_id}", code, minor)


async def _check_accounts(ledger, names: list[str], expected: Expected) -> None:
    """Each account holds exactly what the acknowledged outcomes add up to
    (each applied exactly once), reserved is its live holds, nothing is
    negative, money is conserved per asset; and its history nets every
    operation to what the test says, and names no other."""
    replays = await check_accounts(ledger, names, expected.total, expected.reserved, expected.inflow)
    for name, replay in replays.items():
        assert nonzero(replay.net) == nonzero(expected.net[name]), name
