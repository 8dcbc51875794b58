"""The typed client's reading of an error answer: restate's JSON body, or
whatever a proxy in between sent, never a crash."""

import httpx
import pytest

from api.client import ApiError, LedgerClient


@pytest.mark.parametrize("body,message", [
    (b'{"code": 409, "message": "account a is frozen"}', "account a is frozen"),
    (b'"a JSON string"', '"a JSON string"'),
    (b"[1, 2]", "[1, 2]"),
    (b"<html>bad gateway</html>", "<html>bad gateway</html>"),
    (b'{"message": 5}', '{"message": 5}'),
])
def test_an_error_answer_raises_api_error_with_its_message(body, message):
    transport = httpx.MockTransport(lambda request: httpx.Response(502, content=body))
    client = LedgerClient("http://ledger.invalid")
    client.http = httpx.Client(base_url="http://ledger.invalid", transport=transport)
    with client, pytest.raises(ApiError) as caught:
        client.balance("alice")
    assert (caught.value.status_code, caught.value.message) == (502, message)
