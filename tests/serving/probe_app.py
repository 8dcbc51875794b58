"""A one-handler restate app that lets the runtime tests run without `actors`."""

import restate

probe = restate.VirtualObject("Probe")


@probe.handler()
async def add(ctx: restate.ObjectContext, by: int) -> int:
    """Adds `by` to this key's counter and answers the new total (`0` reads)."""
    total = (await ctx.get("count") or 0) + by
    ctx.set("count", total)
    return total


app = restate.app([probe])
