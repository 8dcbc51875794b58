"""Every handler of the production app is declared through actors.shell:
it parses its body itself into a request model and answers a response
model, so its schemas reach the manifest. A handler registered any other
way (the SDK's own decorator, a dict answer) fails here."""

import pytest

from actors.app import SERVICES
from actors.shell import AnswerSerde
from api.requests import RequestBody
from restate.serde import BytesSerde

HANDLERS = sorted(((s.name, name), h) for s in SERVICES for name, h in s.handlers.items())


@pytest.mark.parametrize("where,h", HANDLERS, ids=[f"{s}/{n}" for (s, n), _ in HANDLERS])
def test_every_handler_parses_raw_bytes_and_answers_a_model(where, h):
    assert isinstance(h.handler_io.input_serde, BytesSerde), where
    assert isinstance(h.handler_io.output_serde, AnswerSerde), where
    assert h.handler_io.output_type.generate_json_schema is not None, where
    assert h.handler_io.output_type.annotation is h.handler_io.output_serde.model, where
    request = h.handler_io.input_type.annotation
    if request is None:  # the body may be empty: no schema, any content type
        assert h.handler_io.accept == "*/*" and "Body: none" in h.description, where
    else:
        assert issubclass(request, RequestBody) and h.handler_io.accept == "application/json", where


def test_the_public_handlers_are_these():
    # A handler made public is a change of contract: it must be added here,
    # and to the docs' API page, on purpose.
    public = {(s.name, name) for s in SERVICES for name, h in s.handlers.items() if not h.ingress_private}
    assert public == {
        ("Account", h) for h in ("open", "deposit", "withdraw", "balance", "history", "freeze", "unfreeze")
    } | {("Transfer", "run"), ("Transfer", "status"), ("Order", "place"), ("Order", "cancel"),
         ("Order", "status"), ("OrderBook", "book"), ("OrderBook", "trades"),
         ("Hold", "place"), ("Hold", "capture"), ("Hold", "void"), ("Hold", "status"),
         ("Transaction", "post"), ("Transaction", "status"), ("Batch", "run"), ("Batch", "status")}
