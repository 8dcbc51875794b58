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

And the sagas of holds, transactions and batches, whose every call on an
account is one `Account.settle` of one or more steps. `FloorSteps` is such
a call without its code: its body names how many operation records it
reads (one per step, with the account, lazily, together) and how many steps
write (each an operation record and a history entry, then the account); an
`accept` step reads its record and writes nothing.

- `FloorHold`: `place` reads its record (preloaded), writes it, reads the
  clock, makes the source's call (a reserve) and writes its record again;
  `capture` reads and writes its record, reads the clock, then calls the
  source (a capture) and the target (an accept) together, then the target
  (a credit) and the source (a release of the rest) together, and writes
  its record: 7 invocations for a place and a partial capture.
- `FloorTransaction`: its record and the clock as a hold's, then phase 1,
  one call per account together (a debit on each debited account, an
  accept on each credited one), then phase 2, a credit on each credited
  account together, and its record: 6 invocations for one debit and two
  credits on three accounts.
- `FloorBatch`: takes the batch's own body (the items, up to 1,000) and
  answers a result per item, as the contract makes any batch do; in
  between, its record and the clock, then one call per account with its
  debits and accepts together, then one per target with its credits, as
  `Batch.run` plans them (ledger/batch.py), and its record with the
  results: about 2 invocations per account, for all its items. Each
  account call reads the account and one record, and writes one record,
  one history entry and the account, however many steps it carries: a
  batch's call is recorded as one, its history in one group of up to 100
  records (ledger/operations.py, ledger/history.py).

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


def _steps():
    """One `Account.settle` call: body [prefix, reads, writes]. Reads the
    account and `reads` operation records lazily, together; writes `writes`
    operation records and history entries (new entries, named by the
    prefix) and then the account, if any step wrote."""
    obj = restate.VirtualObject("FloorSteps", state_preload=False)

    @obj.handler(name="call", input_serde=BytesSerde(), output_serde=BytesSerde())
    async def call(ctx: restate.ObjectContext, body: bytes) -> bytes:
        prefix, reads, writes = json.loads(body)
        await restate.gather(ctx.get("account"), *(ctx.get(f"op:{prefix}:{i}") for i in range(reads)))
        for i in range(writes):
            ctx.set(f"op:{prefix}:{i}", 1)
            ctx.set(f"h:{prefix}:{i}", 1)
        if writes:
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


def _settle(ctx: restate.ObjectContext, steps, account: str, name: str, reads: int, writes: int):
    """A `FloorSteps` call on `account`, its entries named by the caller's key and `name`."""
    return ctx.object_call(steps, key=account, arg=json.dumps([f"{ctx.key()}:{name}", reads, writes]).encode())


def _hold(steps):
    """A hold's place and capture with a target, as actors/hold.py makes them."""
    obj = restate.VirtualObject("FloorHold")

    @obj.handler(name="place", input_serde=BytesSerde(), output_serde=BytesSerde())
    async def place(ctx: restate.ObjectContext, body: bytes) -> bytes:
        """Body: [source, target]."""
        source, target = json.loads(body)
        await ctx.get("hold")
        ctx.set("hold", [source, target, 0])
        await now_ms(ctx)
        await _settle(ctx, steps, source, "reserve", 1, 1)
        ctx.set("hold", [source, target, 1])
        return b"{}"

    @obj.handler(name="capture", input_serde=BytesSerde(), output_serde=BytesSerde())
    async def capture(ctx: restate.ObjectContext, body: bytes) -> bytes:
        """A partial capture: the source's capture and the target's accept
        together, then the target's credit and the source's release."""
        source, target, _ = await ctx.get("hold")
        ctx.set("hold", [source, target, 2])
        await now_ms(ctx)
        await restate.gather(_settle(ctx, steps, source, "capture", 1, 1),
                             _settle(ctx, steps, target, "accept", 1, 0))
        await restate.gather(_settle(ctx, steps, target, "credit", 1, 1),
                             _settle(ctx, steps, source, "release", 1, 1))
        ctx.set("hold", [source, target, 3])
        return b"{}"

    return obj


def _transaction(steps):
    """A transaction's two phases, as actors/transaction.py runs them."""
    obj = restate.VirtualObject("FloorTransaction")

    @obj.handler(name="call", input_serde=BytesSerde(), output_serde=BytesSerde())
    async def call(ctx: restate.ObjectContext, body: bytes) -> bytes:
        """Body: [[debited account, ...], [credited account, ...]], each account once."""
        debited, credited = json.loads(body)
        await ctx.get("transaction")
        ctx.set("transaction", 0)
        await now_ms(ctx)
        await restate.gather(*(_settle(ctx, steps, a, "debit", 1, 1) for a in debited),
                             *(_settle(ctx, steps, a, "accept", 1, 0) for a in credited))
        await restate.gather(*(_settle(ctx, steps, a, "credit", 1, 1) for a in credited))
        ctx.set("transaction", 1)
        return b"{}"

    return obj


def _batch(steps):
    """A batch's two phases, as actors/batch.py runs them, on the batch's own
    body: each account call reads and writes one record and writes one
    history entry, whatever its steps, as Account.settle does for a batch."""
    obj = restate.VirtualObject("FloorBatch")

    @obj.handler(name="call", input_serde=BytesSerde(), output_serde=BytesSerde())
    async def call(ctx: restate.ObjectContext, body: bytes) -> bytes:
        """Body: the batch's {"transfers": [{"id", "source", "target", ...}]}."""
        items = json.loads(body)["transfers"]
        # In first-seen order, as ledger/batch.py plans: every account in
        # phase 1, the targets in phase 2.
        accounts = dict.fromkeys(a for item in items for a in (item["source"], item["target"]))
        targets = dict.fromkeys(item["target"] for item in items)
        await ctx.get("batch")
        ctx.set("batch", {"status": "PENDING", "results": []})
        await now_ms(ctx)
        await restate.gather(*(_settle(ctx, steps, a, "1", 1, 1) for a in accounts))
        await restate.gather(*(_settle(ctx, steps, a, "2", 1, 1) for a in targets))
        results = [[item["id"], "COMPLETED", None] for item in items]
        ctx.set("batch", {"status": "COMPLETED", "results": results})
        return json.dumps({"batch": ctx.key(), "status": "COMPLETED",
                           "results": [{"id": item["id"], "status": "COMPLETED"} for item in items]}).encode()

    return obj


_NOOP, _NOOP_CALL = _object("FloorNoop", preload=True, clock=None, write=False)
# A transfer's debit or credit, and an order's reserve: one operation.
_STEP, _STEP_CALL = _account_step("FloorStep", ops=1)
_BOOK, _BOOK_CALL = _book()
# One account's side of a trade: a capture and a receipt.
_SETTLE, _SETTLE_CALL = _account_step("FloorSettle", ops=2)
# One Account.settle call of a hold's, a transaction's or a batch's.
_STEPS, _STEPS_CALL = _steps()

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
    _STEPS,
    _hold(_STEPS_CALL),
    _transaction(_STEPS_CALL),
    _batch(_STEPS_CALL),
]
app = restate.app(SERVICES)
