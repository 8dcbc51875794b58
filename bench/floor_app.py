"""Handlers that do only what a deposit costs restate, piece by piece, to
measure the floor a deposit can reach on this engine (bench/floors.py).

Every object has one exclusive handler, `call`, on keys spread wide:

- `FloorNoop`: nothing (the engine ceiling, as bench's `Noop`);
- `FloorEagerWrite`: reads one entry preloaded with the invocation and
  writes two (what a deposit would cost if only the account entry were
  preloaded; restate-server 1.7 can preload all of a key's state or none);
- `FloorLazyWrite`: the same with state loaded lazily (the read is a round
  trip to the server), as the Account object must, since its history grows;
- `FloorLazyClockWrite`: that plus a journaled clock read (`ctx.time()`),
  which the deposit's history record needs: the deposit's round trips.
"""

from __future__ import annotations

import restate
from restate.serde import BytesSerde


def _object(name: str, preload: bool, clock: bool, write: bool) -> restate.VirtualObject:
    obj = restate.VirtualObject(name, state_preload=preload)

    @obj.handler(name="call", input_serde=BytesSerde(), output_serde=BytesSerde())
    async def call(ctx: restate.ObjectContext, body: bytes) -> bytes:
        if not write:
            return b"{}"
        count = (await ctx.get("account") or 0) + 1
        at = await ctx.time() if clock else 0.0
        ctx.set("account", count)
        ctx.set(f"h:{count}", {"at": at})
        return b"{}"

    return obj


# (object, what it does): in the order the table shows them.
FLOORS = {
    "FloorNoop": "no-op (the ceiling)",
    "FloorEagerWrite": "read 1 preloaded entry, write 2",
    "FloorLazyWrite": "read 1 entry lazily, write 2",
    "FloorLazyClockWrite": "read lazily, read the clock, write 2",
}
SERVICES = [
    _object("FloorNoop", preload=True, clock=False, write=False),
    _object("FloorEagerWrite", preload=True, clock=False, write=True),
    _object("FloorLazyWrite", preload=False, clock=False, write=True),
    _object("FloorLazyClockWrite", preload=False, clock=True, write=True),
]
app = restate.app(SERVICES)
