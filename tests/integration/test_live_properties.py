"""Generated batches of operations, sent concurrently to the live ledger;
at quiescence, the invariants must hold through the public API alone."""

import asyncio
import uuid
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.client import ApiError, AsyncLedgerClient
from ledger.invariants import check_balance, check_conservation, totals_by_asset
from ledger.money import ASSETS, format_amount

pytestmark = pytest.mark.live

ACCOUNTS = 6  # index 5 is never opened; index 4 starts frozen
ASSET_CODES = ("USD", "BTC")
TERMINAL = {"COMPLETED", "FAILED", "COMPENSATED"}

amounts = st.integers(min_value=1, max_value=4_000)
account_ix = st.integers(min_value=0, max_value=ACCOUNTS - 1)
asset_code = st.sampled_from(ASSET_CODES)
operation = st.one_of(
    st.tuples(st.just("deposit"), account_ix, asset_code, amounts),
    st.tuples(st.just("withdraw"), account_ix, asset_code, amounts),
    st.tuples(st.just("transfer"), account_ix, account_ix, asset_code, amounts),
    st.tuples(st.just("freeze"), st.integers(0, 3)),
    st.tuples(st.just("unfreeze"), st.integers(0, 4)),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(operation, min_size=10, max_size=60))
def test_concurrent_batches_keep_every_invariant(stack, batch):
    asyncio.run(_run_batch(stack.ingress_url, batch))


async def _expect_transfers(ledger, transfers: list[tuple], expected: dict) -> None:
    """Each transfer's kept status agrees with its first answer; a completed
    one moves its amount in `expected`."""
    for tid, src, dst, code, minor, answer in transfers:
        if src == dst:
            assert isinstance(answer, ApiError) and answer.status_code == 400
            continue
        status = (await ledger.transfer_status(tid)).status
        assert status in TERMINAL, (tid, status)
        if status == "COMPLETED":
            assert not isinstance(answer, ApiError), answer
            expected[src][code] -= minor
            expected[dst][code] += minor
        else:
            assert isinstance(answer, ApiError) and answer.status_code == 409, answer
            assert status in answer.message


async def _run_batch(url: str, batch: list[tuple]) -> None:
    run = uuid.uuid4().hex[:10]
    names = [f"p{run}-{i}" for i in range(ACCOUNTS)]
    inflow: dict[str, int] = defaultdict(int)  # minor units, per asset
    expected = {n: defaultdict(int) for n in names}
    async with AsyncLedgerClient(url, max_connections=32) as ledger:
        for name in names[:-1]:
            await ledger.open(name)
            for code in ASSET_CODES:
                await ledger.deposit(name, code, "50")
                minor = 50 * 10 ** ASSETS[code].scale
                inflow[code] += minor
                expected[name][code] += minor
        await ledger.freeze(names[4])

        transfers: list[tuple[str, str, str, str, int, object]] = []

        async def apply(i: int, op: tuple):
            kind = op[0]
            if kind in ("deposit", "withdraw"):
                _, ix, code, minor = op
                try:
                    await getattr(ledger, kind)(names[ix], code, format_amount(minor, ASSETS[code]))
                except ApiError as err:
                    assert err.status_code in (404, 409), err
                    return
                sign = 1 if kind == "deposit" else -1
                inflow[code] += sign * minor
                expected[names[ix]][code] += sign * minor
            elif kind == "transfer":
                _, src, dst, code, minor = op
                tid = f"t{run}-{i}"
                try:
                    answer = await ledger.transfer(tid, names[src], names[dst], code,
                                                   format_amount(minor, ASSETS[code]))
                except ApiError as err:
                    answer = err
                transfers.append((tid, names[src], names[dst], code, minor, answer))
            else:
                try:
                    await getattr(ledger, kind)(names[op[1]])
                except ApiError as err:
                    assert err.status_code == 404 and op[1] == 5, err

        await asyncio.gather(*(apply(i, op) for i, op in enumerate(batch)))

        await _expect_transfers(ledger, transfers, expected)

        seen = {}
        for name in names[:-1]:
            view = await ledger.balance(name)
            seen[name] = {code: (view.minor(code, "available"), view.minor(code, "reserved"))
                          for code in view.balances}
        with pytest.raises(ApiError):
            await ledger.balance(names[-1])

    for name, held in seen.items():
        for code, (available, reserved) in held.items():
            check_balance(name, code, available, reserved)
        # Each acknowledged operation applied exactly once: the balances are
        # exactly what the acknowledged outcomes add up to.
        assert {c: a + r for c, (a, r) in held.items() if a + r} == \
            {c: v for c, v in expected[name].items() if v}, name
    check_conservation(totals_by_asset(seen.values()), inflow)
