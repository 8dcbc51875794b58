"""Kill our endpoint (SIGKILL) and restate-server in the middle of concurrent
transfer sagas: after restarts every saga ends, and each moved money
exactly once."""

import asyncio
import uuid
from collections import Counter

import pytest

from api.client import ApiError, AsyncLedgerClient
from ledger.invariants import check_conservation, totals_by_asset
from runtime.poll import polls_async
from tests.integration.helpers import eventually_async

pytestmark = pytest.mark.live

ACCOUNTS = 5
START_MINOR = 10_000  # 100.00 USD each
TRANSFERS = 60
SEND_TIMEOUT_S = 170.0  # a transfer's retries, across the crash and the restart


@pytest.mark.parametrize("victim", ["endpoint", "server"])
def test_sagas_survive_a_crash_and_apply_once(stack, victim):
    asyncio.run(_crash_during_transfers(stack, victim))


async def _crash_during_transfers(stack, victim: str) -> None:
    run = uuid.uuid4().hex[:8]
    names = [f"crash{run}-{i}" for i in range(ACCOUNTS)]
    # One target is frozen, so compensations are in flight during the crash too.
    async with AsyncLedgerClient(stack.ingress_url, timeout_s=120) as ledger:
        for name in names:
            await ledger.open(name)
            await ledger.deposit(name, "USD", "100.00")
        await ledger.freeze(names[-1])

        plan = [(f"t{run}-{i}", names[i % 4], names[(i * 7 + 1) % ACCOUNTS], 100 + i)
                for i in range(TRANSFERS)]
        plan = [p for p in plan if p[1] != p[2]]
        answered: list[object] = []

        async def send(tid, src, dst, minor):
            async for _ in polls_async(SEND_TIMEOUT_S, interval_s=0.2):
                try:
                    answered.append(await ledger.transfer(tid, src, dst, "USD", f"{minor // 100}.{minor % 100:02d}"))
                    return
                except ApiError as err:
                    if err.status_code == 409:
                        answered.append(err)
                        return
                    raise
                except Exception:  # a careful client retries the same id on transport errors
                    continue
            raise AssertionError(f"transfer {tid} got no answer within {SEND_TIMEOUT_S:g}s")

        tasks = [asyncio.create_task(send(*p)) for p in plan]
        await eventually_async(lambda: len(answered) >= 5, "some transfers answered before the crash")
        answered_before_crash = len(answered)
        stack.crash(victim)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=SEND_TIMEOUT_S + 10)
        # The crash must have hit sagas in flight, or it proves nothing.
        assert answered_before_crash < len(plan), answered_before_crash
        print(f"{victim} killed with {answered_before_crash} of {len(plan)} transfers answered")

        expected = {n: START_MINOR for n in names}
        for tid, src, dst, minor in plan:
            status = (await ledger.transfer_status(tid)).status
            assert status in ("COMPLETED", "FAILED", "COMPENSATED"), (tid, status)
            if status == "COMPLETED":
                expected[src] -= minor
                expected[dst] += minor
        seen = {}
        refs = Counter()
        for name in names:
            view = await ledger.balance(name)
            seen[name] = {"USD": (view.minor("USD"), view.minor("USD", "reserved"))}
            page = await ledger.history(name, limit=100)
            refs.update((e.kind, e.ref) for e in page.entries if e.ref)
    assert {n: a for n, ((a, _),) in ((n, v.values()) for n, v in seen.items())} == expected
    check_conservation(totals_by_asset(seen.values()), {"USD": START_MINOR * ACCOUNTS})
    assert max(refs.values()) == 1, [k for k, v in refs.items() if v > 1]
