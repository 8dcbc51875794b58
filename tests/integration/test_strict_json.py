"""Strict JSON over the real ingress (restate-server checks no JSON itself):
duplicate keys, control characters, an owner named twice differently,
cursors and page sizes out of range. Each answers a 4xx naming the problem
and changes nothing."""

import httpx
import pytest

from tests.integration.helpers import refused, snapshot

pytestmark = pytest.mark.live

JSON = {"content-type": "application/json"}


@pytest.fixture
def raw(stack):
    with httpx.Client(base_url=stack.ingress_url, timeout=30, trust_env=False) as c:
        yield c


def post(raw, path: str, body: bytes) -> tuple[int, str]:
    response = raw.post(path, content=body, headers=JSON)
    return response.status_code, response.json().get("message", response.text)


def test_a_duplicate_key_is_refused_and_deposits_nothing(raw, client, funded):
    before = snapshot(client, funded)
    answer = post(raw, f"/Account/{funded}/deposit", b'{"asset":"USD","amount":"1","amount":"2"}')
    assert answer == (400, "body: duplicate key 'amount'")
    assert snapshot(client, funded) == before


def test_a_duplicate_key_inside_a_transfer_is_refused(raw, client, funded, new_id):
    body = ('{"source":"%s","target":"x","target":"y","asset":"USD","amount":"1"}' % funded).encode()
    assert post(raw, f"/Transfer/{new_id('t')}/run", body) == (400, "body: duplicate key 'target'")


@pytest.mark.parametrize("owner,code", [("a\u0000b", "0000"), ("a\u001b[31m", "001B"), ("x\u007f", "007F"),
                                        ("x\u009b", "009B"), ("tab\there", "0009")])
def test_a_control_character_in_the_owner_is_refused_and_opens_nothing(raw, new_id, owner, code):
    account = new_id("ctl")
    body = httpx.Request("POST", "/", json={"owner": owner}).content
    assert post(raw, f"/Account/{account}/open", body) == (400, f"owner: control character U+{code} is not allowed")
    assert raw.post(f"/Account/{account}/balance").status_code == 404


def test_a_control_character_in_any_string_is_refused(raw, funded):
    status, message = post(raw, f"/Account/{funded}/deposit", b'{"asset":"US\\u0000D","amount":"1"}')
    assert (status, message) == (400, "asset: control character U+0000 is not allowed")
    status, message = post(raw, f"/Account/{funded}/deposit", b'{"asset":"USD","amount":"1","\\u001bx":1}')
    assert (status, message) == (400, "body: control character U+001B is not allowed in a field name")


def test_printable_unicode_in_the_owner_is_kept(client, new_id):
    account = new_id("uni")
    assert client.open(account, owner="Zoë Ångström 李").owner == "Zoë Ångström 李"


def test_open_with_another_owner_is_409_naming_both_and_changes_nothing(client, new_id):
    account = new_id()
    client.open(account, owner="Carol")
    message = refused(409, client.open, account, owner="Eve")
    assert message == f"account {account} is already open with owner 'Carol', not 'Eve'"
    assert client.open(account).owner == "Carol"  # open {} on an open account: 200, unchanged
    bare = new_id()
    client.open(bare)
    assert refused(409, client.open, bare, owner="Eve") == f"account {bare} is already open with no owner, not 'Eve'"


@pytest.mark.parametrize("body,message", [
    (b'{"before": 99999999999999999999999}', "before: must be from 1 to 9223372036854775807"),
    (b'{"before": 9223372036854775808}', "before: must be from 1 to 9223372036854775807"),
    (b'{"before": 0}', "before: must be from 1 to 9223372036854775807"),
    (b'{"limit": 0}', "limit: must be from 1 to 100, got 0"),
    (b'{"limit": 101}', "limit: must be from 1 to 100, got 101"),
])
def test_page_requests_out_of_range_are_400(raw, funded, body, message):
    assert post(raw, f"/Account/{funded}/history", body) == (400, message)
    assert post(raw, "/OrderBook/BTC-USD/trades", body) == (400, message)


def test_the_largest_cursor_is_accepted(raw, funded):
    status, _ = post(raw, f"/Account/{funded}/history", b'{"before": 9223372036854775807}')
    assert status == 200


@pytest.mark.parametrize("body", [b'{"asset":"USD","amount":NaN}', b'{"asset":"USD","amount":Infinity}',
                                  b'{"asset":"USD","amount":"1"} x', b'\xff\xfe{}'])
def test_what_is_not_strict_json_is_refused(raw, funded, body):
    status, message = post(raw, f"/Account/{funded}/deposit", body)
    assert status == 400 and message.startswith("body: not valid JSON"), message
