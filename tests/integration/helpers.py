import asyncio
import time

import pytest

from api.client import ApiError


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
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.05)


async def eventually_async(check, what: str, timeout_s: float = 60.0):
    """`eventually` for a coroutine's loop: `check` is a plain function."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        await asyncio.sleep(0.01)
