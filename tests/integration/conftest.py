import uuid

import pytest

from api.client import LedgerClient


@pytest.fixture
def client(stack):
    with LedgerClient(stack.ingress_url) as c:
        yield c


@pytest.fixture
def new_id():
    """Ids unique across the session: the stack lives for all tests."""
    def make(prefix: str = "a") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"
    return make


@pytest.fixture
def funded(client, new_id):
    """An open account holding 100.00 USD and 1.5 BTC."""
    account = new_id("funded")
    client.open(account)
    client.deposit(account, "USD", "100.00")
    client.deposit(account, "BTC", "1.5")
    return account
