"""The ledger's journaled clock read (actors.shell.now_ms)."""

import asyncio
import inspect
import time

from restate.serde import JsonSerde

from actors import shell


class _RecordingContext:
    """Runs the action it is given, as the SDK does on a first execution."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, object, object]] = []

    def run_typed(self, name, action, options):
        self.runs.append((name, action, options.serde))
        return action()


def test_now_ms_journals_one_clock_read_in_ms_on_the_event_loop():
    ctx = _RecordingContext()
    before_ms = time.time_ns() // 1_000_000
    at_ms = asyncio.run(shell.now_ms(ctx))
    after_ms = time.time_ns() // 1_000_000
    assert isinstance(at_ms, int) and before_ms - 1 <= at_ms <= after_ms + 1
    [(name, action, serde)] = ctx.runs
    # ctx.time()'s name and JSON seconds: journals written before replay alike.
    assert name == "timestamp" and isinstance(serde, JsonSerde)
    # The SDK runs a plain function's action on a worker thread; a coroutine
    # function runs on the event loop, with no thread hop per clock read.
    assert inspect.iscoroutinefunction(action)
