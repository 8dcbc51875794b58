"""The Batch object: up to 1,000 transfers in one request, keyed by a batch
id used once for ever. Items live in the batch's own id space; none goes
through a Transfer key (an invocation per item). The semantics and the plan
(one call per account per phase) are in ledger/batch.py.
"""

from __future__ import annotations

import restate

from actors import account as account_obj
from actors.shell import handler, now_ms, outcomes, recorded
from api.requests import MAX_BATCH_BODY_BYTES, MAX_SETTLE_STEPS, BatchBody, EmptyBody
from api.responses import BatchView
from api.views import batch_view
from ledger import batch as bt
from ledger import money

batch = restate.VirtualObject(
    "Batch", description="Up to 1,000 transfers in one request, each completing or not on its own; "
                         "keyed by a batch id used once for ever.")

BATCH = "batch"  # {"digest", "status", "results": [[id, status, reason], ...]}


@handler(batch, key_name="batch", max_body_bytes=MAX_BATCH_BODY_BYTES)
async def run(ctx: restate.ObjectContext, key: str, req: BatchBody) -> BatchView:
    """Run every transfer: each COMPLETED, FAILED (refused before money moved) or COMPENSATED."""
    items = [_item(i, t) for i, t in enumerate(req.transfers)]
    bt.check(items)
    first = await ctx.get(BATCH)
    if first is not None:
        bt.resubmitted(key, first["digest"], items)
        return batch_view(key, first["status"], first["results"])
    digest = bt.digest(items)
    ctx.set(BATCH, {"digest": digest, "status": "PENDING", "results": []})
    at_ms = await now_ms(ctx)  # once: every entry carries the batch's instant
    plan = bt.prepare(key, items)
    assert all(len(steps) <= MAX_SETTLE_STEPS for steps in plan.values())  # one call per account
    answers = await outcomes(*(account_obj.settle_call(ctx, who, steps, at_ms, atomic=False,
                                                       call_id=bt.call_id(key, 1))
                               for who, steps in plan.items()))
    refused: dict[str, str] = {}
    for steps, answer in zip(plan.values(), answers):
        if isinstance(answer, restate.TerminalError):  # the whole call refused: each of its steps
            refused.update((s.op, answer.message) for s in steps)
        else:
            refused.update(answer.refused)
    results, finish = bt.decide(key, items, refused)
    await account_obj.settle_all(ctx, finish, at_ms, call_ids=lambda part: bt.call_id(key, 2, part))
    record = {"digest": digest, "status": "COMPLETED", "results": [r.to_record() for r in results]}
    ctx.set(BATCH, record)
    return batch_view(key, record["status"], record["results"])


@handler(batch, kind="shared", key_name="batch")
async def status(ctx: restate.ObjectSharedContext, key: str, req: EmptyBody) -> BatchView:
    """The batch's record: PENDING while it runs, then every item's result; 404 if never run."""
    record = await recorded(ctx, BATCH, "batch", key)
    return batch_view(key, record["status"], record["results"])


def _item(i: int, t) -> bt.Item:
    asset = money.asset(t.asset, f"transfers.{i}.asset")
    return bt.Item(t.id, t.source, t.target, asset.code, money.parse_amount(t.amount, asset, f"transfers.{i}.amount"),
                   t.reference, t.metadata)
