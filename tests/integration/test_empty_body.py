"""Calls with no argument work from every client: an empty body with or
without `content-type: application/json` (the TypeScript client sends the
former), or `{}`, on every handler whose body may be empty."""

import uuid

import httpx
import pytest

from api.client import LedgerClient

pytestmark = pytest.mark.live

JSON = {"content-type": "application/json"}
# (what the request carries, in words; headers; body)
EMPTY_WAYS = [
    ("no body, no content-type", {}, b""),
    ("no body, content-type json", JSON, b""),
    ("{} as json", JSON, b"{}"),
    ("{} as curl -d sends it", {"content-type": "application/x-www-form-urlencoded"}, b"{}"),
]


@pytest.fixture(scope="module")
def world(stack):
    """Two open accounts, a transfer, and an order resting on the test venue
    (BTC-USD.FAULTY), where it can never trade with another test's orders."""
    tag = uuid.uuid4().hex[:8]
    ids = {"a": f"e-a-{tag}", "b": f"e-b-{tag}", "t": f"e-t-{tag}", "o": f"e-o-{tag}", "h": f"e-h-{tag}",
           "x": f"e-x-{tag}", "n": f"e-n-{tag}"}
    with LedgerClient(stack.ingress_url) as c:
        for account in (ids["a"], ids["b"]):
            c.open(account)
            c.deposit(account, "USD", "100.00")
        c.transfer(ids["t"], ids["a"], ids["b"], "USD", "1.00")
        c.place_order(ids["o"], ids["a"], "BTC-USD.FAULTY", "BUY", "0.01", "1.00")
        c.place_hold(ids["h"], ids["a"], "USD", "1.00")
        c.post_transaction(ids["x"], [{"account": ids["a"], "asset": "USD", "amount": "1", "direction": "DEBIT"},
                                      {"account": ids["b"], "asset": "USD", "amount": "1", "direction": "CREDIT"}])
        c.run_batch(ids["n"], [{"id": "1", "source": ids["a"], "target": ids["b"], "asset": "USD", "amount": "1"}])
    return ids


def calls(world) -> list[tuple[str, str]]:
    a, t, o = world["a"], world["t"], world["o"]
    return [(f"/Account/{a}/{h}", word) for h, word in (
        ("open", "status"), ("balance", "balances"), ("history", "entries"), ("freeze", "FROZEN"),
        ("unfreeze", "OPEN"))] + [
        (f"/Transfer/{t}/status", "transfer"), (f"/Order/{o}/status", "order"),
        (f"/Hold/{world['h']}/status", "HELD"), (f"/Transaction/{world['x']}/status", "POSTED"),
        (f"/Batch/{world['n']}/status", "COMPLETED"),
        ("/OrderBook/ETH-USD/book", "bids"), ("/OrderBook/ETH-USD/trades", "trades")]


@pytest.mark.parametrize("way,headers,body", EMPTY_WAYS, ids=[w[0] for w in EMPTY_WAYS])
def test_every_no_body_handler_answers_an_empty_body(stack, world, way, headers, body):
    with httpx.Client(base_url=stack.ingress_url, timeout=30, trust_env=False) as ingress:
        for path, word in calls(world):
            response = ingress.post(path, headers=headers, content=body)
            assert response.status_code == 200, (way, path, response.text)
            assert word in response.text, (path, response.text)


def test_capture_and_void_take_an_empty_json_body(stack, world):
    with LedgerClient(stack.ingress_url) as c:
        c.place_hold(world["h"] + "-c", world["a"], "USD", "1.00")
        c.place_hold(world["h"] + "-v", world["a"], "USD", "1.00")
    with httpx.Client(base_url=stack.ingress_url, timeout=30, trust_env=False) as ingress:
        captured = ingress.post(f"/Hold/{world['h']}-c/capture", headers=JSON, content=b"")
        voided = ingress.post(f"/Hold/{world['h']}-v/void", content=b"")
    assert captured.status_code == 200 and captured.json()["status"] == "CAPTURED", captured.text
    assert voided.status_code == 200 and voided.json()["status"] == "VOIDED", voided.text


def test_cancel_takes_an_empty_json_body(stack, world):
    with LedgerClient(stack.ingress_url) as c:
        c.place_order(world["o"] + "-c", world["a"], "BTC-USD.FAULTY", "BUY", "0.01", "1.00")
    with httpx.Client(base_url=stack.ingress_url, timeout=30, trust_env=False) as ingress:
        response = ingress.post(f"/Order/{world['o']}-c/cancel", headers=JSON, content=b"")
    assert response.status_code == 200 and response.json()["status"] == "CANCELLED", response.text


def test_an_optional_body_is_still_parsed_strictly(stack, world):
    with httpx.Client(base_url=stack.ingress_url, timeout=30, trust_env=False) as ingress:
        response = ingress.post(f"/Account/{world['a']}/balance", headers=JSON, content=b'{"asset": "USD"}')
        assert response.status_code == 400 and response.json()["message"] == "asset: unknown field"
        response = ingress.post(f"/Account/{world['a']}/history", headers=JSON, content=b'{"limit": 0}')
        assert response.status_code == 400 and response.json()["message"] == "limit: must be from 1 to 100, got 0"


def test_a_handler_that_needs_a_body_refuses_an_empty_one_naming_a_field(stack, world):
    with httpx.Client(base_url=stack.ingress_url, timeout=30, trust_env=False) as ingress:
        response = ingress.post(f"/Account/{world['a']}/deposit", content=b"")
        assert response.status_code == 400 and response.json()["message"].startswith("asset: required")
        response = ingress.post(f"/Account/{world['a']}/deposit", headers=JSON, content=b"{}")
        assert response.status_code == 400 and response.json()["message"].startswith("asset: required")
