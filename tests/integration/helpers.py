import time

import pytest

from api.client import ApiError
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
