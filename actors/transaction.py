"""The Transaction object: balanced multi-leg postings, keyed by a
transaction id used once for ever. The plan and why it never shows money
created are in ledger/transaction.py; this shell runs its two phases, one
call per account each, and keeps the record.
"""

from __future__ import annotations

import restate

from actors import account as account_obj
from actors.shell import handler, now_ms, outcomes, recorded
from api.requests import EmptyBody, TransactionBody
from api.responses import TransactionView
from api.views import transaction_view
from ledger import money
from ledger import transaction as tx
from ledger.errors import Refused
from ledger.transaction import Leg, Status, Transaction

transaction = restate.VirtualObject(
    "Transaction", description="Balanced multi-leg postings that all apply or none does; "
                               "keyed by a transaction id used once for ever.")

TRANSACTION = "transaction"


@handler(transaction, key_name="transaction")
async def post(ctx: restate.ObjectContext, key: str, req: TransactionBody) -> TransactionView:
    """Post every leg, or none: a refused leg undoes the others (409, recorded REJECTED)."""
    asked = tx.new(key, [_leg(i, leg) for i, leg in enumerate(req.legs)], req.reference, req.metadata)
    first = await ctx.get(TRANSACTION)
    if first is not None:
        return _answer(tx.resubmitted(Transaction.from_record(first), asked))
    ctx.set(TRANSACTION, asked.to_record())
    at_ms = await now_ms(ctx)  # once: every leg's entry carries the transaction's instant
    plan = tx.prepare(asked)
    answers = await outcomes(*(account_obj.settle_call(ctx, who, steps, at_ms) for who, steps in plan.items()))
    refused = [a for a in answers if isinstance(a, restate.TerminalError)]
    if refused:
        debited = {who for who, a in zip(plan, answers) if not isinstance(a, restate.TerminalError)}
        await account_obj.settle_all(ctx, tx.refunds(asked, debited), at_ms)
        done = tx.rejected(asked, refused[0].message)
    else:
        await account_obj.settle_all(ctx, tx.credits(asked), at_ms)
        done = tx.posted(asked)
    ctx.set(TRANSACTION, done.to_record())
    return _answer(done)


@handler(transaction, kind="shared", key_name="transaction")
async def status(ctx: restate.ObjectSharedContext, key: str, req: EmptyBody) -> TransactionView:
    """The transaction's record: PENDING while it runs, then POSTED or REJECTED; 404 if never posted."""
    return transaction_view(Transaction.from_record(await recorded(ctx, TRANSACTION, "transaction", key)))


def _leg(i: int, leg) -> Leg:
    asset = money.asset(leg.asset, f"legs.{i}.asset")
    return Leg(leg.account, asset.code, money.parse_amount(leg.amount, asset, f"legs.{i}.amount"), leg.direction)


def _answer(t: Transaction) -> TransactionView:
    if t.status is Status.REJECTED:
        raise Refused(f"transaction {t.transaction_id} REJECTED: {t.reason}")
    return transaction_view(t)
