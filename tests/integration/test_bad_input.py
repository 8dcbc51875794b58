"""Malformed requests to every public handler: a 4xx that names the problem,
nothing changed, and the account answers the next valid call at once."""

import httpx
import pytest

from tests.integration.helpers import answers_within, snapshot

pytestmark = pytest.mark.live

JSON = {"content-type": "application/json"}
AMOUNT_OK = {"asset": "USD", "amount": "1.00"}

# (handler, raw body, a word the message must contain)
ACCOUNT_CASES = [
    *[(h, body, word) for h in ("deposit", "withdraw") for body, word in [
        (b'{"asset": "USD", "amount": 1}', "amount"),
        (b'{"asset": "USD", "amount": 1.5}', "amount"),
        (b'{"asset": "USD", "amount": "1e2"}', "amount"),
        (b'{"asset": "USD", "amount": "-1"}', "amount"),
        (b'{"asset": "USD", "amount": "0"}', "amount"),
        (b'{"asset": "USD", "amount": "NaN"}', "amount"),
        (b'{"asset": "USD", "amount": "1.001"}', "fraction digits"),
        (b'{"asset": "USD", "amount": "1,000"}', "amount"),
        (b'{"asset": "USD", "amount": "' + b"9" * 100 + b'"}', "amount"),
        (b'{"asset": "XYZ", "amount": "1"}', "unknown asset"),
        (b'{"asset": 7, "amount": "1"}', "asset"),
        (b'{"amount": "1"}', "asset"),
        (b'{"asset": "USD"}', "amount"),
        (b'{"asset": "USD", "amount": "1", "memo": "x"}', "memo"),
        (b'{"asset": "USD", "amount": null}', "amount"),
        (b'[]', "object"),
        (b'"USD"', "object"),
        (b'null', "object"),
        (b'{"asset": "USD", "amount": "1"', "JSON"),
        (b'not json', "JSON"),
        (b'', "body"),  # the ingress itself refuses it
    ]],
    ("open", b'{"owner": 5}', "owner"),
    ("open", b'{"owner": ""}', "owner"),
    ("open", b'{"name": "x"}', "name"),
    ("open", b'[1]', "object"),
    ("history", b'{"limit": "5"}', "limit"),
    ("history", b'{"limit": 5.5}', "limit"),
    ("history", b'{"limit": 1000}', "limit"),
    ("history", b'{"before": -3}', "before"),
    ("history", b'{"cursor": 1}', "cursor"),
    ("balance", b'{"asset": "USD"}', "asset"),
    ("freeze", b'{"reason": "x"}', "reason"),
    ("unfreeze", b'{"now": true}', "now"),
]

TRANSFER_CASES = [
    (b'{"source": "%s", "target": "b", "asset": "USD", "amount": 5}', "amount"),
    (b'{"source": "%s", "target": "b c", "asset": "USD", "amount": "5"}', "target"),
    (b'{"source": "%s", "target": "' + b"x" * 65 + b'", "asset": "USD", "amount": "5"}', "target"),
    (b'{"source": "%s", "target": "b", "asset": "usd", "amount": "5"}', "asset"),
    (b'{"source": "%s", "asset": "USD", "amount": "5"}', "target"),
    (b'{"source": "%s", "target": "%s", "asset": "USD", "amount": "5"}', "target"),
    (b'{"source": "%s", "target": "b", "asset": "USD", "amount": "5", "fee": "1"}', "fee"),
    (b'{"source": [], "target": "b", "asset": "USD", "amount": "5"}', "source"),
]


@pytest.fixture
def raw(stack):
    with httpx.Client(base_url=stack.ingress_url, timeout=30) as c:
        yield c


def assert_refused(response: httpx.Response, word: str) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    message = response.json()["message"]
    assert word.lower() in message.lower(), message


@pytest.mark.parametrize("handler,body,word", ACCOUNT_CASES)
def test_bad_account_input_is_4xx_and_changes_nothing(raw, client, funded, handler, body, word):
    before = snapshot(client, funded)
    assert_refused(raw.post(f"/Account/{funded}/{handler}", content=body, headers=JSON), word)
    assert snapshot(client, funded) == before
    after = answers_within(5.0, client.deposit, funded, "USD", "1")
    assert after.balances["USD"].available == "101.00"


@pytest.mark.parametrize("body,word", TRANSFER_CASES)
def test_bad_transfer_input_is_4xx_and_changes_nothing(raw, client, funded, new_id, body, word):
    tid = new_id("t")
    before = snapshot(client, funded)
    filled = body.replace(b"%s", funded.encode())
    assert_refused(raw.post(f"/Transfer/{tid}/run", content=filled, headers=JSON), word)
    assert snapshot(client, funded) == before
    assert raw.post(f"/Transfer/{tid}/status").status_code == 404  # not even recorded
    target = new_id("b")
    client.open(target)
    done = answers_within(5.0, client.transfer, tid, funded, target, "USD", "1")
    assert done.status == "COMPLETED"


@pytest.mark.parametrize("path", [
    "/Account/bad%20key/deposit",
    "/Account/" + "k" * 65 + "/deposit",
    "/Account/bad$key/balance",
    "/Transfer/bad%20id/status",
])
def test_bad_keys_are_refused(raw, path):
    body = b"" if path.endswith("status") or path.endswith("balance") else b'{"asset": "USD", "amount": "1"}'
    headers = {} if not body else JSON
    response = raw.post(path, content=body, headers=headers)
    assert_refused(response, "not a valid id")


def test_wrong_content_type_is_refused(raw, funded):
    response = raw.post(f"/Account/{funded}/deposit", content=b"asset=USD&amount=1",
                        headers={"content-type": "application/x-www-form-urlencoded"})
    assert_refused(response, "content-type")


def test_oversized_body_is_refused(raw, client, funded):
    before = snapshot(client, funded)
    body = b'{"asset": "USD", "amount": "1", "pad": "' + b"x" * 20_000 + b'"}'
    assert_refused(raw.post(f"/Account/{funded}/deposit", content=body, headers=JSON), "body")
    assert snapshot(client, funded) == before
