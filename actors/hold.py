"""The Hold object: a public two-phase transfer, keyed by hold id.

`place` reserves the amount on the source (a hold of kind "hold" in the
account) and, with `expires_in_s`, sends its own `expire` with that delay: a
durable timer. `capture`, `void` and `expire` are exclusive on the hold's
key, so whichever comes first decides and the others find it final: a
capture racing an expiry, or a void racing a capture, leaves one outcome.

A capture with a target takes the amount out of the hold while the target
is asked to accept the credit, both at once; if the target refuses (frozen,
not open), the amount goes back under the hold (restore) and the hold stays
HELD. Only then is the target credited and the rest released, so no reader
ever sees the money in both places. Every step on an account is idempotent
by its operation id; a capture's ids carry its attempt number, since a
refused capture may be tried again.
"""

from __future__ import annotations

from datetime import timedelta

import restate

from actors import account as account_obj
from actors.shell import handler, now_ms, outcomes, recorded, send
from api.requests import CaptureBody, EmptyBody, HoldBody
from api.responses import HoldView
from api.views import hold_view
from ledger import hold as hl
from ledger import money
from ledger.errors import Refused
from ledger.hold import Hold, Status
from ledger.steps import Step

hold = restate.VirtualObject(
    "Hold", description="A two-phase transfer: funds held on a source, captured or voided later; "
                        "keyed by a hold id used once for ever.")

HOLD = "hold"


@handler(hold, key_name="hold")
async def place(ctx: restate.ObjectContext, key: str, req: HoldBody) -> HoldView:
    """Hold the amount on the source (409 if it is short or frozen: recorded REJECTED, nothing held)."""
    asset = money.asset(req.asset)
    asked = hl.new(key, req.source, req.target, asset, money.parse_amount(req.amount, asset),
                   req.expires_in_s, req.reference, req.metadata)
    first = await ctx.get(HOLD)
    if first is not None:
        return _answer(hl.resubmitted(Hold.from_record(first), asked))
    ctx.set(HOLD, asked.to_record())
    at_ms = await now_ms(ctx)
    [reserved] = await outcomes(_steps(ctx, asked, at_ms, [hl.reserve_step(asked)]))
    if isinstance(reserved, restate.TerminalError):
        done = hl.rejected(asked, reserved.message)
    else:
        done = hl.held(asked, at_ms)
        if done.expires_in_s is not None:
            send(ctx, expire, key, EmptyBody(), delay=timedelta(seconds=done.expires_in_s))
    ctx.set(HOLD, done.to_record())
    return _answer(done)


@handler(hold, key_name="hold")
async def capture(ctx: restate.ObjectContext, key: str, req: CaptureBody) -> HoldView:
    """Take all or part of the hold to the target (or out of the ledger); the rest is released.
    409 if it is not HELD, or if the target refuses the credit (the hold stays HELD)."""
    h = await _load(ctx, key)
    amount_minor = hl.to_capture(h, None if req.amount is None else money.parse_amount(
        req.amount, money.ASSETS[h.asset]))
    h = hl.attempted(h)
    ctx.set(HOLD, h.to_record())
    at_ms = await now_ms(ctx)
    plan = hl.capture_plan(h, amount_minor)
    rest = [plan.rest] if plan.rest else []
    if h.target is None:
        await _steps(ctx, h, at_ms, [plan.take, *rest])
    else:
        taken, accepted = await outcomes(_steps(ctx, h, at_ms, [plan.take]),
                                         _steps(ctx, h, at_ms, [plan.accept], h.target))
        if isinstance(taken, restate.TerminalError):
            raise taken  # a HELD hold's own capture cannot be refused: a bug, loudly
        if isinstance(accepted, restate.TerminalError):
            await _steps(ctx, h, at_ms, [plan.restore])
            raise Refused(f"hold {key}: the capture was refused: {accepted.message}; the hold is still HELD")
        credit = _steps(ctx, h, at_ms, [plan.credit], h.target)
        await (outcomes(credit, _steps(ctx, h, at_ms, rest)) if rest else credit)
    done = hl.captured(h, amount_minor)
    ctx.set(HOLD, done.to_record())
    return hold_view(done)


@handler(hold, key_name="hold")
async def void(ctx: restate.ObjectContext, key: str, req: EmptyBody) -> HoldView:
    """Give everything held back to the source (409 if the hold is not HELD)."""
    h = await _load(ctx, key)
    hl.require_held(h, "voided")
    return await _end(ctx, h, hl.voided(h), "void")


@handler(hold, internal=True, key_name="hold")
async def expire(ctx: restate.ObjectContext, key: str, req: EmptyBody) -> HoldView:
    """The hold's timer: give back what is still held; nothing if it is final."""
    h = await _load(ctx, key)
    if h.status is not Status.HELD:
        return hold_view(h)
    return await _end(ctx, h, hl.expired(h), "expire")


@handler(hold, kind="shared", key_name="hold")
async def status(ctx: restate.ObjectSharedContext, key: str, req: EmptyBody) -> HoldView:
    """The hold's record; 404 if it was never placed."""
    return hold_view(await _load(ctx, key))


# --- helpers -------------------------------------------------------------------


async def _load(ctx, key: str) -> Hold:
    return Hold.from_record(await recorded(ctx, HOLD, "hold", key))


async def _end(ctx, h: Hold, done: Hold, name: str) -> HoldView:
    """Release all that is held, and record how the hold ended."""
    await _steps(ctx, h, await now_ms(ctx), [hl.end_step(h, name)])
    ctx.set(HOLD, done.to_record())
    return hold_view(done)


def _steps(ctx, h: Hold, at_ms: int, steps: list[Step], account: str | None = None):
    """The steps on one account (the source unless named), as one call."""
    return account_obj.settle_call(ctx, account or h.source, steps, at_ms)


def _answer(h: Hold) -> HoldView:
    """A placed hold answers its view; a rejected one 409 with the reason."""
    if h.status is Status.REJECTED:
        raise Refused(f"hold {h.hold_id} REJECTED: {h.reason}")
    return hold_view(h)
