"""Handlers that do only what a ledger operation costs restate, piece by
piece, to measure the floor it can reach on this engine (bench/floors.py).

Every object has one exclusive handler, `call`, on keys spread wide:

- `FloorNoop`: nothing (the engine ceiling, as bench's `Noop`);
- `FloorEagerWrite`: reads one entry preloaded with the invocation and
  writes two (what a deposit would cost if only the account entry were
  preloaded; restate-server 1.7 preloads none of a key's state, or its
  entries in key order up to `eager-state-size-limit`, all by default);
- `FloorLazyWrite`: the same with state loaded lazily (the read is a round
  trip to the server), as the Account object must, since its history grows;
- `FloorLazyClockWrite`: that plus a journaled clock read, which the
  deposit's history record needs: the deposit's round trips. It reads the
  clock as the ledger does (`actors.shell.now_ms`, an async action);
- `FloorLazySdkClockWrite`: the same with the SDK's `ctx.time()`, whose
  plain-function action runs on a worker thread: what that hop costs.

Then sagas, which call two steps in turn on the keys their body names:

- `FloorSagaNoop`: calls `FloorNoop` twice, three invocations of nothing:
  the most a transfer could do on this engine if its steps cost nothing;
- `FloorSagaTransfer`: a transfer's journal and round trips without its
  code. The coordinator reads its record (preloaded), writes it, reads the
  clock, calls `FloorStep` twice and writes its record again; a step reads
  two entries lazily, together, and writes three, as `Account.debit` and
  `Account.credit` do.
- `FloorOrder`: a settled pair's journal and round trips without its code,
  as the bench's trade case runs it: a maker's order then a taker's, each
  reading its record (preloaded), reading the clock, writing its record,
  calling a `FloorStep` (the hold) and then `FloorBook` on one key for all
  (the symbol's book: three lazy reads together, two or three writes). The
  taker's order then calls `FloorSettle` on both accounts together (three
  lazy reads, five writes), sends the maker's order its fill (`fill`: a
  preloaded read, a write) and writes its record: 9 invocations a pair.

Entries a ledger key keeps adding (history, operation records, trades) are
new entries here too, so the floors' state grows as the ledger's does; the
values are small.
"""

from __future__ import annotations

import json

import restate
from restate.serde import BytesSerde

from actors.shell import now_ms


def _object(name: str, preload: bool, clock: str | None, write: bool):
    """`clock`: None, "ledger" (actors.shell.now_ms) or "sdk" (ctx.time())."""
    obj = restate.VirtualObject(name, state_preload=preload)

    @obj.handler(name="call", input_serde=BytesSerde(), output_serde=BytesSerde())
    async def call(ctx: restate.ObjectContext, body: bytes) -> bytes:
        if not write:
            return b"{}"
        count = (await ctx.get("account") or 0) + 1
        at = 0 if clock is None else await (now_ms(ctx) if clock == "ledger" else ctx.time())
        ctx.set("account", count)
        ctx.set(f"h:{count}", {"at": at})
        return b"{}"

    return obj, call


def _account_step(name: str, ops: int):
    """An account's part in a saga: reads the account and the records of its
    `ops` operations lazily, together, then writes each operation's record
    and history entry (new entries, as an account's grow) and the account.
    The caller's key, as the body, makes the entries new."""
    obj = restate.VirtualObject(name, state_preload=False)

    @obj.handler(name="call", input_serde=BytesSerde(), output_serde=BytesSerde())
    async def call(ctx: restate.ObjectContext, body: bytes) -> bytes:
        keys = [f"op:{body.decode()}:{i}" for i in range(ops)]
        await restate.gather(ctx.get("account"), *(ctx.get(key) for key in keys))
        for i, key in enumerate(keys):
            ctx.set(key, 1)
            ctx.set(f"h:{body.decode()}:{i}", 1)
        ctx.set("account", 1)
        return b"{}"

    return obj, call


def _saga(name: str, step, journaled: bool):
    """`journaled` adds what a transfer's coordinator keeps: its record and the clock."""
    obj = restate.VirtualObject(name)

    @obj.handler(name="call", input_serde=BytesSerde(), output_serde=BytesSerde())
    async def call(ctx: restate.ObjectContext, body: bytes) -> bytes:
        source, target = json.loads(body)
        if journaled:
            await ctx.get("record")
            ctx.set("record", 0)
            await now_ms(ctx)
        await ctx.object_call(step, key=source, arg=ctx.key().encode())
        await ctx.object_call(step, key=target, arg=ctx.key().encode())
        if journaled:
            ctx.set("record", 1)
        return b"{}"

    return obj, call


def _book():
    """A symbol's book: one key for every order. Reads its head and two
    levels together; a maker's order writes the head and its level, a
    taker's empties the level it took, writes the head and a trade record
    of its own, as the book keeps one entry per trade."""
    obj = restate.VirtualObject("FloorBook", state_preload=False)

    @obj.handler(name="call", input_serde=BytesSerde(), output_serde=BytesSerde())
    async def call(ctx: restate.ObjectContext, body: bytes) -> bytes:
        req = json.loads(body)
        await restate.gather(ctx.get("head"), ctx.get("level"), ctx.get("opposite"))
        ctx.set("head", 1)
        if req["taker"]:
            ctx.clear("level")
            ctx.set(f"trade:{req['order']}", 1)
        else:
            ctx.set("level", 1)
        return b"{}"

    return obj, call


def _order(step, book, settle):
    obj = restate.VirtualObject("FloorOrder")

    @obj.handler(name="fill", input_serde=BytesSerde(), output_serde=BytesSerde())
    async def fill(ctx: restate.ObjectContext, body: bytes) -> bytes:
        await ctx.get("order")
        ctx.set("order", 2)
        return b"{}"

    @obj.handler(name="call", input_serde=BytesSerde(), output_serde=BytesSerde())
    async def call(ctx: restate.ObjectContext, body: bytes) -> bytes:
        """Body: {"account", "book"}, and "maker": [order, account] for a taker."""
        req = json.loads(body)
        await ctx.get("order")
        await now_ms(ctx)
        ctx.set("order", 0)
        await ctx.object_call(step, key=req["account"], arg=ctx.key().encode())
        maker = req.get("maker")
        await ctx.object_call(book, key=req["book"],
                              arg=json.dumps({"order": ctx.key(), "taker": bool(maker)}).encode())
        if maker:
            await restate.gather(ctx.object_call(settle, key=maker[1], arg=ctx.key().encode()),
                                 ctx.object_call(settle, key=req["account"], arg=ctx.key().encode()))
            ctx.object_send(fill, key=maker[0], arg=b"{}")
        ctx.set("order", 1)
        return b"{}"

    return obj, call


_NOOP, _NOOP_CALL = _object("FloorNoop", preload=True, clock=None, write=False)
# A transfer's debit or credit, and an order's reserve: one operation.
_STEP, _STEP_CALL = _account_step("FloorStep", ops=1)
_BOOK, _BOOK_CALL = _book()
# One account's side of a trade: a capture and a receipt.
_SETTLE, _SETTLE_CALL = _account_step("FloorSettle", ops=2)

# object: (what it does, invocations per call), in the order the table shows them.
FLOORS = {
    "FloorNoop": ("no-op (the ceiling)", 1),
    "FloorEagerWrite": ("read 1 preloaded entry, write 2", 1),
    "FloorLazyWrite": ("read 1 entry lazily, write 2", 1),
    "FloorLazySdkClockWrite": ("read lazily, ctx.time(), write 2", 1),
    "FloorLazyClockWrite": ("read lazily, read the clock, write 2", 1),
    "FloorSagaNoop": ("saga calling 2 no-ops", 3),
    "FloorSagaTransfer": ("a transfer's journal, no ledger code", 3),
    "FloorOrder": ("a settled pair's journal, no ledger code", 9),
}
SERVICES = [
    _NOOP,
    _object("FloorEagerWrite", preload=True, clock=None, write=True)[0],
    _object("FloorLazyWrite", preload=False, clock=None, write=True)[0],
    _object("FloorLazySdkClockWrite", preload=False, clock="sdk", write=True)[0],
    _object("FloorLazyClockWrite", preload=False, clock="ledger", write=True)[0],
    _STEP,
    _saga("FloorSagaNoop", _NOOP_CALL, journaled=False)[0],
    _saga("FloorSagaTransfer", _STEP_CALL, journaled=True)[0],
    _BOOK,
    _SETTLE,
    _order(_STEP_CALL, _BOOK_CALL, _SETTLE_CALL)[0],
]
app = restate.app(SERVICES)
