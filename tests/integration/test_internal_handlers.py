"""The sagas' steps are not reachable from outside (docs/design.md, rule 7)."""

import httpx
import pytest

from tests.apps.ledger_app import SERVICES
from tests.integration.helpers import snapshot

pytestmark = pytest.mark.live

# Every ingress-private handler, with a body it would accept from a saga.
INTERNAL = {
    ("Account", "debit"): {"op": "x:debit", "asset": "USD", "amount_minor": 100, "ref": "x", "at_ms": 1},
    ("Account", "credit"): {"op": "x:credit", "asset": "USD", "amount_minor": 100, "ref": "x", "at_ms": 1},
    ("Account", "refund"): {"op": "x:refund", "compensates": "x:debit", "at_ms": 1},
    ("Account", "reserve"): {"op": "x:reserve", "hold": "h", "asset": "USD", "amount_minor": 100, "at_ms": 1},
    ("Account", "release"): {"op": "x:release", "hold": "h", "at_ms": 1},
    ("Account", "settle"): {"steps": [{"op": "x:receive", "kind": "receive", "amount_minor": 100, "asset": "USD",
                                       "ref": "x"}], "at_ms": 1},
    ("Hold", "expire"): {},
    ("Order", "maker_fill"): {"trade": "t", "price_minor": 1, "quantity_minor": 1},
    ("Order", "expire"): {},
    ("OrderBook", "submit"): {"order": "o", "account": "a", "side": "BUY", "quantity_minor": 1,
                              "price_minor": 1, "may_rest": True},
    ("OrderBook", "cancel"): {"order": "o", "side": "BUY", "price_minor": 1},
    ("FaultyVenue", "submit"): {},
    ("FaultyVenue", "cancel"): {},
}


def test_every_internal_handler_is_listed_here():
    private = {(s.name, name) for s in SERVICES for name, h in s.handlers.items() if h.ingress_private}
    assert private == set(INTERNAL)


@pytest.mark.parametrize("service,handler", sorted(INTERNAL))
def test_internal_handler_is_refused_at_the_ingress(stack, client, funded, service, handler):
    before = snapshot(client, funded)
    key = funded if service == "Account" else "BTC-USD" if service == "OrderBook" else "some-key"
    response = httpx.post(f"{stack.ingress_url}/{service}/{key}/{handler}",
                          json=INTERNAL[(service, handler)], timeout=30)
    assert 400 <= response.status_code < 500
    assert "not public" in response.json()["message"]
    assert snapshot(client, funded) == before
