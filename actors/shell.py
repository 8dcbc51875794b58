"""What every handler shares: raw bodies in, domain errors out as
TerminalErrors with their status, typed calls between our objects."""


import functools
import time
from typing import Any, Awaitable, Callable

import restate
from restate import RunOptions
from restate.serde import BytesSerde, JsonSerde

from ledger.errors import LedgerError
from ledger.keys import check_key
from api.requests import _Body


def handler(
    obj: restate.VirtualObject,
    kind: str = "exclusive",
    internal: bool = False,
    key_name: str = "key",
    name: str | None = None,
) -> Callable:
    """Declare a handler that takes the raw body and parses it itself.

    The SDK's own parsing answers bad input with 500s or lets wrong JSON
    types through (DESIGN rule 2); we parse into our models instead, and
    refuse a bad key before anything else, so bad input never reaches state
    and never raises a retryable error that would hold the key's queue."""

    def wrap(fn: Callable[[Any, str, bytes], Awaitable[dict]]):
        @functools.wraps(fn)
        async def run(ctx, body: bytes) -> dict:
            try:
                key = check_key(ctx.key(), key_name)
                return await fn(ctx, key, body)
            except LedgerError as err:
                raise restate.TerminalError(err.message, status_code=err.status_code) from None

        del run.__wrapped__  # the SDK must see `run`'s (ctx, body) signature
        return obj.handler(
            name=name or fn.__name__,
            kind=kind,
            input_serde=BytesSerde(),
            ingress_private=True if internal else None,
        )(run)

    return wrap


def call(ctx: restate.Context, target: Callable, key: str, body: _Body):
    """Call one of our handlers (they all take raw JSON bytes). Answers the
    durable future itself, so several calls can be awaited together."""
    return ctx.object_call(target, key=key, arg=body.model_dump_json().encode())


async def all_of(*futures) -> list:
    """Await many durable futures together and answer their values.

    restate.gather only waits: it never raises a call's failure, so a
    refused step would pass unseen. Every result is taken here, so the first
    failure raises like a single await would."""
    done = await restate.gather(*futures)
    return [await f for f in done]


def send(ctx: restate.Context, target: Callable, key: str, body: _Body, delay=None) -> None:
    """A one-way, durable send: the sender never waits, so no call cycle."""
    ctx.object_send(target, key=key, arg=body.model_dump_json().encode(), send_delay=delay)


async def _clock_s() -> float:
    return time.time()


# Journaled as ctx.time() journals it (the same name, JSON seconds), so an
# invocation that read the clock before this helper replays the same entry.
_CLOCK = RunOptions(serde=JsonSerde())


async def now_ms(ctx: restate.Context) -> int:
    """The instant, journaled: a replay sees the same one (DESIGN rule 3).

    Not ctx.time(): its action is a plain function, which the SDK runs on a
    worker thread, a hop to another thread and back on every clock read
    (bench/floors.py runs both). An async action runs on the event loop."""
    return int(await ctx.run_typed("timestamp", _clock_s, _CLOCK) * 1000)
