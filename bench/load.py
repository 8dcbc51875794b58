"""Closed-loop load: N clients, each awaiting one call before the next.

A case is one or more groups of clients, each running `op(client, n)`, an
awaitable that raises on failure. `measure` runs every client through a
warm-up and then a fixed window. The rate is the calls that *complete*
inside the window, per second; latencies and errors are those of the calls
that *start* inside it (a stall across the window's end still shows in
p99). Calls in flight at the end are awaited, so nothing of one case runs
into the next. Loops are bounded: no call starts after the window, each client
makes at most `max_ops_per_client` calls, and a call taking longer than
`call_timeout_s` is abandoned and counted as an error.

Calls of a second or more (a batch of 1,000 transfers) are few in a
window, and counting whole ones would move the rate by one call's worth at
each end; with `fractional`, each completed call counts the share of its
time that lies inside the window instead.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

Op = Callable[[int, int], Awaitable[object]]
CALL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Window:
    ops: float  # whole calls, or their shares inside the window (fractional)
    errors: int
    duration_s: float
    latencies_ms: Sequence[float]
    first_error: str | None = None
    # What `sample` read at the window's start and at its end, if given one.
    sampled: tuple[dict[str, float], dict[str, float]] | None = None

    @property
    def rps(self) -> float:
        return self.ops / self.duration_s if self.duration_s else 0.0

    def pct_ms(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def median(values: Sequence[float]) -> float:
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else float("nan")


async def measure(
    groups: dict[str, tuple[Op, int]], warmup_s: float, duration_s: float,
    max_ops_per_client: int = 1_000_000, call_timeout_s: float = CALL_TIMEOUT_S,
    sample: Callable[[], dict[str, float]] | None = None, fractional: bool = False,
) -> dict[str, Window]:
    """Runs each group's `op` from its number of concurrent clients, all
    groups at once; answers each group's measured window.

    An op may answer a float: the latency in ms to record for it (a trade
    times only its crossing order); otherwise the whole call is timed.
    A call that times out is recorded as an error with the timeout as its
    latency (a lower bound), so a stalled server shows in p99.

    `sample` (say, CPU seconds used so far by each process) is read as the
    window opens and as it closes; each window carries both readings."""
    samples: list[dict[str, float]] = []
    if sample is not None:
        loop = asyncio.get_running_loop()
        loop.call_later(warmup_s, lambda: samples.append(sample()))
        loop.call_later(warmup_s + duration_s, lambda: len(samples) == 1 and samples.append(sample()))
    window_start = time.perf_counter() + warmup_s
    window_end = window_start + duration_s
    latencies: dict[str, list[float]] = {name: [] for name in groups}
    done = dict.fromkeys(groups, 0.0)
    errors = dict.fromkeys(groups, 0)
    first_error: dict[str, str | None] = dict.fromkeys(groups)

    async def client(name: str, op: Op, c: int) -> None:
        for n in range(max_ops_per_client):
            began = time.perf_counter()
            if began >= window_end:
                return
            took_ms: float | None = None
            try:
                answer = await asyncio.wait_for(op(c, n), call_timeout_s)
            except Exception as error:  # noqa: BLE001 - counted, the first one reported
                failure = f"{type(error).__name__}: {error}"
                if isinstance(error, asyncio.TimeoutError):
                    took_ms = call_timeout_s * 1000
                    failure = f"no answer within {call_timeout_s:g} s"
            else:
                failure = None
                took_ms = answer if isinstance(answer, float) else (time.perf_counter() - began) * 1000
            ended = time.perf_counter()
            if not failure:
                done[name] += counted(began, ended, window_start, window_end, fractional)
            if began < window_start:
                continue
            if failure:
                errors[name] += 1
                first_error[name] = first_error[name] or failure
            if took_ms is not None:
                latencies[name].append(took_ms)

    await asyncio.gather(*(
        client(name, op, c) for name, (op, clients) in groups.items() for c in range(clients)
    ))
    while sample is not None and len(samples) < 2:
        samples.append(sample())  # every client ended before a timer ran
    sampled = (samples[0], samples[1]) if sample is not None else None
    return {name: Window(done[name], errors[name], duration_s, latencies[name], first_error[name], sampled)
            for name in groups}


def counted(began: float, ended: float, window_start: float, window_end: float, fractional: bool) -> float:
    """What a completed call adds to its window's count: 1 if it ended
    inside the window, or (fractional) the share of its time inside it."""
    if not fractional:
        return 1.0 if window_start <= ended <= window_end else 0.0
    inside = min(ended, window_end) - max(began, window_start)
    return max(inside, 0.0) / (ended - began) if ended > began else 0.0


async def run_all(op: Op, count: int, concurrency: int) -> None:
    """Runs op(0..count-1) with bounded concurrency; raises the first failure (set-up)."""
    queue = iter(range(count))

    async def worker(c: int) -> None:
        for n in queue:
            await op(c, n)

    await asyncio.gather(*(worker(c) for c in range(concurrency)))
