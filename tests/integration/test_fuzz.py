"""Hostile input: arbitrary JSON values, raw bytes and arbitrary keys sent to
every public handler. Whatever arrives, the answer is a 4xx (never a 5xx or
a retry loop), nothing changes, and the key answers its next call at once."""

import json
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError
from ledger.keys import KEY_PATTERN
from api.requests import (
    MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES, AmountBody, BatchBody, BookBody, CaptureBody, EmptyBody, HistoryBody, HoldBody, OpenBody,
    PlaceBody, TransactionBody, TransferBody, parse_body,
)
from tests.apps.ledger_app import SERVICES
from tests.integration.helpers import answers_within, snapshot

pytestmark = pytest.mark.live

# (object, handler, the model its body must fit)
PUBLIC = [
    ("Account", "open", OpenBody), ("Account", "deposit", AmountBody),
    ("Account", "withdraw", AmountBody), ("Account", "balance", EmptyBody),
    ("Account", "history", HistoryBody), ("Account", "freeze", EmptyBody),
    ("Account", "unfreeze", EmptyBody), ("Transfer", "run", TransferBody),
    ("Transfer", "status", EmptyBody), ("Order", "place", PlaceBody),
    ("Order", "cancel", EmptyBody), ("Order", "status", EmptyBody),
    ("OrderBook", "book", BookBody), ("OrderBook", "trades", HistoryBody),
    ("Hold", "place", HoldBody), ("Hold", "capture", CaptureBody), ("Hold", "void", EmptyBody),
    ("Hold", "status", EmptyBody), ("Transaction", "post", TransactionBody),
    ("Transaction", "status", EmptyBody), ("Batch", "run", BatchBody), ("Batch", "status", EmptyBody),
]
# What each handler's own limit on a body is (the batch's is larger).
BODY_LIMIT = {("Batch", "run"): MAX_BATCH_BODY_BYTES}

FIELDS = ["asset", "amount", "owner", "limit", "before", "source", "target", "account", "symbol",
          "side", "quantity", "price", "time_in_force", "expires_at_ms", "depth", "expires_in_s", "reference",
          "metadata", "legs", "direction", "transfers", "id"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
    st.text(max_size=30), st.sampled_from(["USD", "BTC", "1", "0.5", "-1", "1e3", "NaN", "BUY", "GTD", ""]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), inner, max_size=6),
    ),
    max_leaves=12,
)
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def target(stack):
    """A funded account with a resting order, the keys the fuzz aims at."""
    from api.client import LedgerClient

    with LedgerClient(stack.ingress_url) as c:
        c.open("fuzz-target")
        c.deposit("fuzz-target", "USD", "100")
        c.deposit("fuzz-target", "BTC", "1")
        try:
            c.place_order("fuzz-order", "fuzz-target", "BTC-USD", "SELL", "0.1", "999999")
        except Exception:
            pass  # a rerun of the module finds it placed already
    return "fuzz-target"


def _key(obj: str, account: str) -> str:
    return {"Account": account, "Transfer": "fuzz-transfer", "Order": "fuzz-order",
            "OrderBook": "BTC-USD", "Hold": "fuzz-hold", "Transaction": "fuzz-tx", "Batch": "fuzz-batch"}[obj]


def test_every_public_handler_is_fuzzed():
    public = {(s.name, name) for s in SERVICES for name, h in s.handlers.items() if not h.ingress_private}
    assert public == {(o, h) for o, h, _ in PUBLIC}


def _would_parse(model, body: bytes, max_bytes: int) -> bool:
    try:
        parse_body(model, body, max_bytes)
        return True
    except LedgerError:
        return False


def _state(client, account):
    return snapshot(client, account), client.order_status("fuzz-order"), client.book("BTC-USD", depth=100)


def _assert_refused_and_unchanged(stack, client, account, obj, handler, key, body, before):
    response = httpx.post(f"{stack.ingress_url}/{obj}/{key}/{handler}", content=body,
                          headers={"content-type": "application/json"}, timeout=30)
    assert 400 <= response.status_code < 500, (obj, handler, body[:200], response.status_code, response.text)
    assert response.json()["message"]
    assert _state(client, account) == before
    # an exclusive call on the same account must not wait behind a retry loop
    answers_within(5.0, client.open, account)


@pytest.mark.parametrize("obj,handler,model", PUBLIC, ids=[f"{o}.{h}" for o, h, _ in PUBLIC])
@FUZZ
@given(body=st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(min_size=1, max_size=300)))
def test_hostile_bodies(stack, client, target, obj, handler, model, body):
    if _would_parse(model, body, BODY_LIMIT.get((obj, handler), MAX_BODY_BYTES)):
        return  # well-formed for this handler: not hostile input
    before = _state(client, target)
    _assert_refused_and_unchanged(stack, client, target, obj, handler, _key(obj, target), body, before)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(min_size=1, max_size=80).filter(lambda k: k not in (".", "..")),
       which=st.sampled_from(PUBLIC))
def test_arbitrary_keys(stack, client, target, key, which):
    obj, handler, _ = which
    before = _state(client, target)
    response = httpx.post(f"{stack.ingress_url}/{obj}/{quote(key, safe='')}/{handler}", timeout=30)
    if KEY_PATTERN.fullmatch(key) is None:
        assert 400 <= response.status_code < 500, (key, obj, handler, response.status_code, response.text)
    else:  # a well-formed key: opening it, or not finding it, are both fine
        assert response.status_code < 500, (key, obj, handler, response.status_code, response.text)
    assert _state(client, target) == before
