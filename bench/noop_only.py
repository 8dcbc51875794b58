"""A lone no-op virtual object, for the comparison of ASGI servers: each extra
endpoint serves it under its own name (BENCH_NOOP_SERVICE), next to the
ledger's endpoint on the same restate-server."""

import os

import restate
from restate.serde import BytesSerde

noop = restate.VirtualObject(os.environ.get("BENCH_NOOP_SERVICE", "NoopOnly"))


@noop.handler(name="call", input_serde=BytesSerde(), output_serde=BytesSerde())
async def noop_call(ctx: restate.ObjectContext, body: bytes) -> bytes:
    return b"{}"


SERVICES = [noop]
app = restate.app(SERVICES)
