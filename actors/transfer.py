"""The Transfer object: the saga that moves money between two accounts.

A virtual object keyed by transfer id rather than a Restate workflow: a
workflow answers a second `run` with "already invoked" and forgets the id
when its retention ends, while the contract wants the first outcome
answered again and a transfer id used once for ever. As an object, a second
`run` queues behind the first and reads its recorded outcome, and the
record never expires. Accounts never call back (docs/design.md, rule 4).
"""

from __future__ import annotations

import restate

from actors import account as account_obj
from actors.saga import Saga
from actors.shell import call, handler, now_ms, recorded
from api.requests import EmptyBody, MoveBody, RefundBody, TransferBody
from api.responses import TransferView
from api.views import transfer_view
from ledger import money
from ledger import transfer as tr
from ledger.errors import Refused
from ledger.operations import op_id
from ledger.tags import plain
from ledger.transfer import Status, Transfer

transfer = restate.VirtualObject(
    "Transfer", description="A transfer between two accounts, keyed by a transfer id used once for ever.")

TRANSFER = "transfer"


@handler(transfer, key_name="transfer")
async def run(ctx: restate.ObjectContext, key: str, req: TransferBody) -> TransferView:
    """Debit the source and credit the target, or refund the source if the credit is refused (409)."""
    asset = money.asset(req.asset)
    asked = tr.new(key, req.source, req.target, asset, money.parse_amount(req.amount, asset),
                   req.reference, req.metadata)
    first = await ctx.get(TRANSFER)
    if first is not None:
        return _answer(tr.resubmitted(Transfer.from_record(first), asked))
    ctx.set(TRANSFER, asked.to_record())
    outcome = await _move(ctx, asked)
    ctx.set(TRANSFER, outcome.to_record())
    return _answer(outcome)


@handler(transfer, kind="shared", key_name="transfer")
async def status(ctx: restate.ObjectSharedContext, key: str, req: EmptyBody) -> TransferView:
    """The transfer's record and outcome."""
    return transfer_view(Transfer.from_record(await recorded(ctx, TRANSFER, "transfer", key)))


async def _move(ctx: restate.ObjectContext, t: Transfer) -> Transfer:
    debit_op = op_id("transfer", t.transfer_id, "debit")
    at_ms = await now_ms(ctx)  # once: both legs (and a refund) carry the transfer's instant
    caller_tags = {"reference": t.reference, "metadata": plain(t.metadata)}
    saga = Saga()
    saga.on_rollback(
        "refund source",
        lambda: call(ctx, account_obj.refund, t.source,
                     RefundBody(op=op_id("transfer", t.transfer_id, "refund"), compensates=debit_op,
                                at_ms=at_ms, **caller_tags)),
    )
    try:
        await call(ctx, account_obj.debit, t.source,
                   MoveBody(op=debit_op, asset=t.asset, amount_minor=t.amount_minor, ref=t.transfer_id,
                            at_ms=at_ms, **caller_tags))
    except restate.TerminalError as err:
        return tr.finish(t, Status.FAILED, err.message, await saga.rollback())
    try:
        await call(ctx, account_obj.credit, t.target,
                   MoveBody(op=op_id("transfer", t.transfer_id, "credit"), asset=t.asset,
                            amount_minor=t.amount_minor, ref=t.transfer_id, at_ms=at_ms, **caller_tags))
    except restate.TerminalError as err:
        return tr.finish(t, Status.COMPENSATED, err.message, await saga.rollback())
    return tr.finish(t, Status.COMPLETED)


def _answer(t: Transfer) -> TransferView:
    """A completed transfer answers its view; a refused one answers 409 with
    the reason (its record, kept above, says the same to `status`)."""
    assert t.terminal, t
    if t.status is Status.COMPLETED:
        return transfer_view(t)
    if t.status is Status.FAILED:
        raise Refused(f"transfer {t.transfer_id} FAILED: {t.reason}")
    raise Refused(f"transfer {t.transfer_id} COMPENSATED: {t.reason}; source refunded")
