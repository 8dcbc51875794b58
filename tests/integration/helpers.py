import time

import pytest

from ledger.client import ApiError


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
