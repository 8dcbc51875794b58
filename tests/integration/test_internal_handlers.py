"""The sagas' steps are not reachable from outside (DESIGN rule 7)."""

import httpx
import pytest

from actors.account import account
from tests.integration.helpers import snapshot

pytestmark = pytest.mark.live

INTERNAL = {
    "debit": {"op": "x:debit", "asset": "USD", "amount_minor": 100, "ref": "x"},
    "credit": {"op": "x:credit", "asset": "USD", "amount_minor": 100, "ref": "x"},
    "refund": {"op": "x:refund", "compensates": "x:debit"},
    "reserve": {"op": "x:reserve", "hold": "h", "asset": "USD", "amount_minor": 100},
    "release": {"op": "x:release", "hold": "h"},
    "capture": {"op": "x:capture", "hold": "h", "amount_minor": 100},
}


def test_every_internal_handler_is_listed_here():
    private = {name for name, h in account.handlers.items() if h.ingress_private}
    assert private == set(INTERNAL)


@pytest.mark.parametrize("handler", sorted(INTERNAL))
def test_internal_handler_is_refused_at_the_ingress(stack, client, funded, handler):
    before = snapshot(client, funded)
    response = httpx.post(f"{stack.ingress_url}/Account/{funded}/{handler}",
                          json=INTERNAL[handler], timeout=30)
    assert 400 <= response.status_code < 500
    assert "not public" in response.json()["message"]
    assert snapshot(client, funded) == before
