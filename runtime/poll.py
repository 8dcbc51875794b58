"""The one deadline poll: try something until it is done or its time is up.

Every wait in the runtime, the test harness, the campaign and the bench
polls through here, so each has a deadline, a pause between tries, and a
bound on its tries that is checked:

    for _ in polls(timeout_s):
        if done():
            return
    raise TimeoutError(...)   # the last try came at or after the deadline

The loop's body makes one try and leaves the loop when done; falling out
of the loop is the timeout, and what follows it says so.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Iterator

POLL_INTERVAL_S = 0.05


class Deadline:
    """An instant `timeout_s` from now, for waits made of several steps."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.at = time.monotonic() + timeout_s

    def remaining_s(self, at_least_s: float = 0.0) -> float:
        """The seconds left, or `at_least_s` if fewer (a step that must still
        get a chance, such as a last probe after a slow restart)."""
        return max(self.at - time.monotonic(), at_least_s)

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at


def max_tries(timeout_s: float, interval_s: float) -> int:
    """The most tries a poll can make, with one to spare: each after the
    first waits `interval_s`, so by then the deadline has passed (the bound
    `polls` asserts)."""
    assert timeout_s >= 0 and interval_s > 0, (timeout_s, interval_s)
    return math.ceil(timeout_s / interval_s) + 2


def polls(timeout_s: float, interval_s: float = POLL_INTERVAL_S) -> Iterator[float]:
    """Yields once per try the seconds left before the deadline (0 at the
    last), sleeping `interval_s` between tries; ends after the first try
    made at or after the deadline."""
    deadline = Deadline(timeout_s)
    for _ in range(max_tries(timeout_s, interval_s)):
        yield deadline.remaining_s()
        if deadline.passed:
            return
        time.sleep(interval_s)
    raise AssertionError(f"{max_tries(timeout_s, interval_s)} tries in {timeout_s:g}s: the clock stands still")


async def polls_async(timeout_s: float, interval_s: float = POLL_INTERVAL_S) -> AsyncIterator[float]:
    """`polls` for a coroutine: the pause between tries lets the loop run."""
    deadline = Deadline(timeout_s)
    for _ in range(max_tries(timeout_s, interval_s)):
        yield deadline.remaining_s()
        if deadline.passed:
            return
        await asyncio.sleep(interval_s)
    raise AssertionError(f"{max_tries(timeout_s, interval_s)} tries in {timeout_s:g}s: the clock stands still")


def poll_until(check: Callable[[], bool], timeout_s: float, what: str,
               interval_s: float = POLL_INTERVAL_S) -> None:
    """Calls `check` until it answers True; raises TimeoutError naming `what`."""
    for _ in polls(timeout_s, interval_s):
        if check():
            return
    raise TimeoutError(f"timed out after {timeout_s:.1f}s waiting for {what}")
