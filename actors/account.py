"""The Account virtual object: one key per account.

Exclusive handlers change balances one at a time per account; `balance` and
`history` are shared, so queries never queue behind writers. State is
loaded lazily: the account entry, and history or operation records only
when a handler asks, so a long-lived account costs what a new one does.
"""

from __future__ import annotations

import json
from typing import Callable

import restate

from actors.shell import all_of, call, handler, now_ms
from api.requests import (
    MAX_INTERNAL_BODY_BYTES, MAX_SETTLE_STEPS, AmountBody, EmptyBody, HistoryBody, MoveBody, OpenBody,
    RefundBody, ReleaseBody, ReserveBody, SettleStepsBody,
)
from api.responses import AccountView, BalanceView, HistoryPage, OpAnswer, SettleAnswer
from api.views import account_view, balance_view, history_page
from ledger import account as acct
from ledger import history, money, steps
from ledger.account import Account, Change
from ledger.operations import CallRecord, Operation, already_applied

account = restate.VirtualObject(
    "Account", state_preload=False,
    description="An account: balances per asset, available and reserved; one writer at a time.")

ACCOUNT = "account"


def _op_key(op_id: str) -> str:
    return f"op:{op_id}"


def _call_key(call_id: str) -> str:
    return f"call:{call_id}"


def _account(key: str, record: dict | None) -> Account | None:
    return None if record is None else Account.from_record(key, record)


async def load(ctx, key: str) -> Account | None:
    return _account(key, await ctx.get(ACCOUNT))


async def _load_open(ctx, key: str) -> Account:
    return acct.require_open(await load(ctx, key), key)


async def _store(ctx, change: Change, op: Operation | None = None, at_ms: int | None = None) -> None:
    """Write one change: the account, its history record, its operation.
    Called only once the change is fully decided (docs/design.md, rule 1). A saga's
    step passes its saga's instant; a public handler reads the clock."""
    if at_ms is None:
        at_ms = await now_ms(ctx)
    store_all(ctx, [(change, op)], at_ms)


def store_all(ctx, done: list[tuple[Change, Operation | None]], at_ms: int,
              call: tuple[str, CallRecord] | None = None) -> None:
    """Changes made one after another, and the account as the last one left
    it. Each change's history record and operation; or, for a call recorded
    as one (`call`: its id and record, ledger/operations.py), the history in
    groups and the call's record in place of its steps' operations."""
    if call is None:
        for change, op in done:
            seq = change.account.history_count
            ctx.set(history.state_key(seq), history.record(seq, change, at_ms))
            if op is not None:
                ctx.set(_op_key(op.op_id), op.to_record())
    else:
        records = [history.record(change.account.history_count, change, at_ms) for change, _ in done]
        for state_key, group in history.grouped(records):
            ctx.set(state_key, group)
        ctx.set(_call_key(call[0]), call[1].to_record())
    if done:
        ctx.set(ACCOUNT, done[-1][0].account.to_record())


def _operation(record: dict | None) -> Operation | None:
    return None if record is None else Operation.from_record(record)


async def _recorded(ctx, op_id: str) -> Operation | None:
    return _operation(await ctx.get(_op_key(op_id)))


async def _open_and_recorded(ctx, key: str, op_id: str) -> tuple[Account, Operation | None]:
    """The open account and the operation's record, asked for together:
    with lazy state each is a round trip, and they need not wait on each other."""
    account_record, op_record = await all_of(ctx.get(ACCOUNT), ctx.get(_op_key(op_id)))
    return acct.require_open(_account(key, account_record), key), _operation(op_record)


def _op_answer(op: Operation, applied: bool) -> OpAnswer:
    return OpAnswer(op=op.op_id, applied=applied)


# --- public --------------------------------------------------------------------


@handler(account, key_name="account", name="open")
async def open_account(ctx: restate.ObjectContext, key: str, req: OpenBody) -> AccountView:
    """Open the account; opening it again changes nothing (409 if another owner is named)."""
    existing = await load(ctx, key)
    change = acct.open_account(existing, key, req.owner)
    if change is None:
        return account_view(existing)
    await _store(ctx, change)
    return account_view(change.account)


@handler(account, key_name="account")
async def deposit(ctx: restate.ObjectContext, key: str, req: AmountBody) -> BalanceView:
    """Pay an amount into the account."""
    asset, amount_minor = _amount(req)
    change = acct.tagged(acct.deposit(await _load_open(ctx, key), asset, amount_minor), req.reference, req.metadata)
    await _store(ctx, change)
    return balance_view(change.account)


@handler(account, key_name="account")
async def withdraw(ctx: restate.ObjectContext, key: str, req: AmountBody) -> BalanceView:
    """Take an amount out of the account's available balance (409 if it is short)."""
    asset, amount_minor = _amount(req)
    change = acct.tagged(acct.withdraw(await _load_open(ctx, key), asset, amount_minor), req.reference, req.metadata)
    await _store(ctx, change)
    return balance_view(change.account)


@handler(account, key_name="account")
async def freeze(ctx: restate.ObjectContext, key: str, req: EmptyBody) -> AccountView:
    """Freeze the account: it refuses deposits, withdrawals and transfers, and answers queries."""
    return await _lifecycle(ctx, key, acct.freeze)


@handler(account, key_name="account")
async def unfreeze(ctx: restate.ObjectContext, key: str, req: EmptyBody) -> AccountView:
    """Unfreeze the account."""
    return await _lifecycle(ctx, key, acct.unfreeze)


@handler(account, kind="shared", key_name="account")
async def balance(ctx: restate.ObjectSharedContext, key: str, req: EmptyBody) -> BalanceView:
    """The account's balances; never waits behind a writer."""
    return balance_view(await _load_open(ctx, key))


@handler(account, kind="shared", key_name="account", name="history")
async def history_records(ctx: restate.ObjectSharedContext, key: str, req: HistoryBody) -> HistoryPage:
    """The account's records, newest first, a page at a time."""
    count = (await _load_open(ctx, key)).history_count
    seqs, next_cursor = history.page(count, req.limit, req.before)
    found = await all_of(*(ctx.get(history.state_key(s)) for s in seqs))
    above = history.keys_above(seqs, found, count)  # only when the page starts inside a group
    found_above = await all_of(*(ctx.get(history.state_key(s)) for s in above)) if above else []
    return history_page(key, history.page_records(seqs, found, above, found_above), next_cursor)


# --- internal: the sagas' steps, idempotent by operation id -------------------


@handler(account, internal=True, key_name="account")
async def debit(ctx: restate.ObjectContext, key: str, req: MoveBody) -> OpAnswer:
    return await _move(ctx, key, req, acct.debit)


@handler(account, internal=True, key_name="account")
async def credit(ctx: restate.ObjectContext, key: str, req: MoveBody) -> OpAnswer:
    return await _move(ctx, key, req, acct.credit)


@handler(account, internal=True, key_name="account")
async def refund(ctx: restate.ObjectContext, key: str, req: RefundBody) -> OpAnswer:
    """Give back what the debit `compensates` took, once; nothing if that
    debit never applied (it was refused, or never ran)."""
    account_now, done = await _open_and_recorded(ctx, key, req.op)
    if done is not None:
        return _op_answer(done, applied=False)
    forward = await _recorded(ctx, req.compensates)
    if forward is None:
        op = Operation(req.op, "refund", None, None, ref=req.compensates)
        ctx.set(_op_key(op.op_id), op.to_record())
        return _op_answer(op, applied=False)
    assert forward.kind == "debit", forward
    op = Operation(req.op, "refund", forward.asset, forward.amount_minor, ref=req.compensates)
    change = acct.refund(account_now, money.ASSETS[forward.asset], forward.amount_minor, forward.ref)
    await _store(ctx, acct.tagged(change, req.reference, req.metadata), op, req.at_ms)
    return _op_answer(op, applied=True)


@handler(account, internal=True, key_name="account")
async def reserve(ctx: restate.ObjectContext, key: str, req: ReserveBody) -> OpAnswer:
    asset = money.asset(req.asset)
    op = Operation(req.op, "reserve", asset.code, req.amount_minor, ref=req.hold)
    account_now, recorded = await _open_and_recorded(ctx, key, req.op)
    if already_applied(recorded, op):
        return _op_answer(op, applied=False)
    await _store(ctx, acct.reserve(account_now, req.hold, asset, req.amount_minor), op, req.at_ms)
    return _op_answer(op, applied=True)


@handler(account, internal=True, key_name="account")
async def release(ctx: restate.ObjectContext, key: str, req: ReleaseBody) -> OpAnswer:
    """Give back a hold's rest (or `amount_minor` of it), once; a release
    that `compensates` a reserve that never applied records that and gives
    back nothing."""
    account_now, recorded = await _open_and_recorded(ctx, key, req.op)
    if recorded is not None:
        asked = Operation(req.op, "release", recorded.asset, req.amount_minor or recorded.amount_minor, req.hold)
        if recorded.amount_minor is None or already_applied(recorded, asked):
            return _op_answer(recorded, applied=False)
    if req.compensates and await _recorded(ctx, req.compensates) is None:
        # The hold this would give back was never placed: record that, once.
        op = Operation(req.op, "release", None, None, req.hold)
        ctx.set(_op_key(op.op_id), op.to_record())
        return _op_answer(op, applied=False)
    change = acct.release(account_now, req.hold, req.amount_minor)
    op = Operation(req.op, "release", change.entry.asset, change.entry.amount_minor, req.hold)
    await _store(ctx, change, op, req.at_ms)
    return _op_answer(op, applied=True)


@handler(account, internal=True, key_name="account", max_body_bytes=MAX_INTERNAL_BODY_BYTES)
async def settle(ctx: restate.ObjectContext, key: str, req: SettleStepsBody) -> SettleAnswer:
    """A saga's steps on this account, in order, in one invocation
    (ledger/steps.py). Each is idempotent by its own operation id, or, when
    the call carries an id (a batch's), the call is, by one record of it
    (ledger/operations.py); all are decided before anything is written.
    Atomic: a refused step refuses the call and leaves the account as it
    was. Not atomic: a refused step is answered with its reason and the
    others apply."""
    keys = [_call_key(req.call)] if req.call is not None else [_op_key(s.op) for s in req.steps]
    found = await all_of(ctx.get(ACCOUNT), *(ctx.get(k) for k in keys))
    existing, done = _account(key, found[0]), []
    if existing is None and req.open_owner is not None:
        # The fee account opens on its first fee, in the same call: no call
        # of its own on a key every fee-bearing trade passes through.
        opened = acct.open_account(None, key, req.open_owner)
        done.append((opened, None))
        existing = opened.account
    if existing is None and not req.atomic:
        return SettleAnswer(account=key, applied=0, refused={s.op: f"account {key} is not open" for s in req.steps})
    steps_asked = [steps.Step(s.op, s.kind, s.amount_minor, s.hold, s.asset, s.ref, s.reference, s.metadata)
                   for s in req.steps]
    if req.call is not None:
        assert not done, "a recorded call never opens its account (SettleStepsBody refuses both)"
        applied, call = steps.apply_call(acct.require_open(existing, key), req.call, steps_asked,
                                         None if found[1] is None else CallRecord.from_record(found[1]), req.atomic)
        if found[1] is None:  # not a replay: keep what it did
            store_all(ctx, applied.done, req.at_ms, call=(req.call, call))
        return _settle_answer(key, len(applied.done), applied.refused)
    applied = steps.apply_steps(acct.require_open(existing, key), steps_asked,
                                [_operation(record) for record in found[1:]], req.atomic)
    done += applied.done
    if done:
        store_all(ctx, done, req.at_ms)
    return _settle_answer(key, sum(op is not None for _, op in done), applied.refused)


def _settle_answer(key: str, applied: int, refused: dict[str, str]) -> SettleAnswer:
    return SettleAnswer(account=key, applied=applied, **({"refused": refused} if refused else {}))


def settle_call(ctx, who: str, account_steps: list[steps.Step], at_ms: int, atomic: bool = True,
                open_owner: str | None = None, call_id: str | None = None):
    """One account's steps as one call; answers its durable future. The
    body is written straight from the steps (SettleStepsBody's shape): the
    domain built and checked them, and `settle` validates what it reads.
    `call_id`: the call is recorded as one (a batch's), not step by step."""
    body = {"steps": [s.to_record() for s in account_steps], "at_ms": at_ms, "atomic": atomic}
    if open_owner is not None:
        body["open_owner"] = open_owner
    if call_id is not None:
        body["call"] = call_id
    return call(ctx, settle, who, json.dumps(body, separators=(",", ":")).encode())


async def settle_all(ctx, by_account: dict[str, list[steps.Step]], at_ms: int,
                     open_owner: dict[str, str] | None = None,
                     call_ids: Callable[[int], str] | None = None) -> list[SettleAnswer]:
    """Every account's steps, one call per account (split at the call's step
    cap, in order), all at once: a phase of a saga whose steps cannot be
    refused (the first refusal raises). `call_ids(part)`: each call is
    recorded as one, under the id of its part."""
    return await all_of(*(
        settle_call(ctx, who, part, at_ms, open_owner=(open_owner or {}).get(who),
                    call_id=None if call_ids is None else call_ids(i))
        for who, account_steps in by_account.items()
        for i, part in enumerate(steps.in_calls(account_steps, MAX_SETTLE_STEPS))
    ))


# --- helpers -------------------------------------------------------------------


def _amount(req: AmountBody) -> tuple[money.Asset, int]:
    asset = money.asset(req.asset)
    return asset, money.parse_amount(req.amount, asset)


async def _lifecycle(ctx, key: str, transition) -> AccountView:
    account_now = await _load_open(ctx, key)
    change = transition(account_now)
    if change is None:
        return account_view(account_now)
    await _store(ctx, change)
    return account_view(change.account)


async def _move(ctx, key: str, req: MoveBody, transition) -> OpAnswer:
    asset = money.asset(req.asset)
    kind = transition.__name__
    op = Operation(req.op, kind, asset.code, req.amount_minor, ref=req.ref)
    account_now, recorded = await _open_and_recorded(ctx, key, req.op)
    if already_applied(recorded, op):
        return _op_answer(op, applied=False)
    change = transition(account_now, asset, req.amount_minor, req.ref)
    await _store(ctx, acct.tagged(change, req.reference, req.metadata), op, req.at_ms)
    return _op_answer(op, applied=True)
