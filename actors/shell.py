"""What every handler shares: bodies parsed by us into request models,
answers as response models, domain errors out as TerminalErrors with their
status, typed calls between our objects."""


import inspect
import time
import typing
from typing import Any, Awaitable, Callable

import restate
from pydantic import BaseModel
from restate import RunOptions
from restate.serde import BytesSerde, JsonSerde, Serde

from api.requests import MAX_BODY_BYTES, RequestBody, parse_body
from ledger.errors import LedgerError, NotFound
from ledger.keys import check_key


class AnswerSerde(Serde):
    """A response model as JSON, leaving out the fields its view did not
    set (an absent `reason` stays absent, not null); read back as the model,
    so a caller of one of our handlers gets the model too."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    def serialize(self, obj: BaseModel | None) -> bytes:
        assert isinstance(obj, self.model), (self.model, obj)
        return obj.model_dump_json(exclude_unset=True).encode()

    def deserialize(self, buf: bytes) -> BaseModel | None:
        return self.model.model_validate_json(buf) if buf else None


def handler(
    obj: restate.VirtualObject,
    kind: str = "exclusive",
    internal: bool = False,
    key_name: str = "key",
    name: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Callable:
    """Declare a handler `fn(ctx, key, request) -> Answer`, typed by its hints.

    The body arrives as raw bytes and is parsed here into the request model:
    the SDK's own parsing answers bad input with 500s or lets wrong JSON
    types through (docs/design.md, rule 2). A bad key or body is refused
    before anything else, so bad input never reaches state and never raises
    a retryable error that would hold the key's queue.

    What the manifest says comes from the same models: the request's JSON
    schema as the input, the answer's as the output, the docstring as the
    description. A request with no required field (the body may be empty:
    `balance`, `status`, ...) publishes no input schema and accepts any
    content type, since restate-server refuses an empty body with
    `content-type: application/json` for a handler with an input schema
    (the TypeScript client sends just that for a call with no argument);
    its optional fields are listed in its description instead."""

    def wrap(fn: Callable[[Any, str, Any], Awaitable[BaseModel]]):
        hints = typing.get_type_hints(fn)
        request: type[RequestBody] = hints[list(inspect.signature(fn).parameters)[2]]
        answer: type[BaseModel] = hints["return"]
        body_optional = not any(f.is_required() for f in request.model_fields.values())

        async def run(ctx, body: bytes) -> BaseModel:
            try:
                key = check_key(ctx.key(), key_name)
                return await fn(ctx, key, parse_body(request, body, max_body_bytes, trusted=internal))
            except LedgerError as err:
                raise restate.TerminalError(err.message, status_code=err.status_code) from None

        run.__name__ = fn.__name__
        run.__doc__ = _description(fn, request, body_optional)
        # The SDK reads the manifest's schemas from the signature's hints;
        # the input serde stays BytesSerde, so the body still arrives raw.
        run.__signature__ = inspect.Signature(
            [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD),
             inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                               annotation=None if body_optional else request)],
            return_annotation=answer,
        )
        return obj.handler(
            name=name or fn.__name__,
            kind=kind,
            accept="*/*" if body_optional else "application/json",
            input_serde=BytesSerde(),
            output_serde=AnswerSerde(answer),
            ingress_private=True if internal else None,
        )(run)

    return wrap


def _description(fn: Callable, request: type[RequestBody], body_optional: bool) -> str:
    """The handler's docstring; for an optional body, its fields too (the
    manifest carries no input schema for it)."""
    text = inspect.getdoc(fn) or ""
    if not body_optional:
        return text
    fields = [f"{field}: {info.description}" for field, info in request.model_fields.items()]
    body = "Body: none, or {}." if not fields else "Body: none, or a JSON object with, each optional, " + "; ".join(fields)
    return f"{text}\n\n{body}" if text else body


async def recorded(ctx, state_key: str, what: str, key: str) -> dict:
    """The record a saga object keeps under `state_key`; 404 naming it
    (`transfer t-1 not found`) if it was never written."""
    record = await ctx.get(state_key)
    if record is None:
        raise NotFound(f"{what} {key} not found")
    return record


def call(ctx: restate.Context, target: Callable, key: str, body: RequestBody | bytes):
    """Call one of our handlers (they all take raw JSON bytes): a request
    model, or a body already written as JSON (a saga's many steps, written
    once rather than validated twice). Answers the durable future itself, so
    several calls can be awaited together."""
    arg = body if isinstance(body, bytes) else body.model_dump_json().encode()
    return ctx.object_call(target, key=key, arg=arg)


async def all_of(*futures) -> list:
    """Await many durable futures together and answer their values.

    restate.gather only waits: it never raises a call's failure, so a
    refused step would pass unseen. Every result is taken here, so the first
    failure raises like a single await would."""
    results = await outcomes(*futures)
    for result in results:
        if isinstance(result, restate.TerminalError):
            raise result
    return results


async def outcomes(*futures) -> list:
    """Await many durable futures together; answer each one's value, or the
    TerminalError it was refused with, so a saga sees every step's outcome
    (which ones applied) and not only the first refusal."""
    done = await restate.gather(*futures)
    results = []
    for f in done:
        try:
            results.append(await f)
        except restate.TerminalError as err:
            results.append(err)
    return results


def send(ctx: restate.Context, target: Callable, key: str, body: RequestBody, delay=None) -> None:
    """A one-way, durable send: the sender never waits, so no call cycle."""
    ctx.object_send(target, key=key, arg=body.model_dump_json().encode(), send_delay=delay)


async def _clock_s() -> float:
    """The clock in float seconds, the shape ctx.time() journals (so replays
    of older journals read the same entry); `now_ms` makes it integer
    milliseconds at once. A time, never an amount."""
    return time.time()


# Journaled as ctx.time() journals it (the same name, JSON seconds), so an
# invocation that read the clock before this helper replays the same entry.
_CLOCK = RunOptions(serde=JsonSerde())


async def now_ms(ctx: restate.Context) -> int:
    """The instant, journaled: a replay sees the same one (docs/design.md, rule 3).

    Not ctx.time(): its action is a plain function, which the SDK runs on a
    worker thread, a hop to another thread and back on every clock read
    (bench/floors.py runs both). An async action runs on the event loop."""
    return int(await ctx.run_typed("timestamp", _clock_s, _CLOCK) * 1000)
