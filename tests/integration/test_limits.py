"""Limits on what a client controls, each refused with a clear 4xx: every
row of the Limits table in docs/api.md is sent, and the answer must be the
one the table shows (its `...` stands for any text). The table is the
oracle, so the docs and the messages cannot drift apart."""

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from ledger.account import MAX_LIVE_HOLDS
from api.client import ApiError, AsyncLedgerClient

pytestmark = pytest.mark.live

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
JSON = {"content-type": "application/json"}


def limits_table() -> dict[str, tuple[int, str]]:
    """The Limits table's rows: what is limited -> the status and message
    the table shows past the limit (the first, where it shows two)."""
    text = API_DOC.read_text(encoding="utf-8")
    section = text.split("\n## Limits", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines()[:200]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        answer = re.match(r"(\d{3}) `([^`]+)`", cells[-1]) if len(cells) == 3 else None
        if answer:
            rows[cells[0]] = (int(answer.group(1)), answer.group(2))
    assert rows, f"no Limits table found in {API_DOC}"
    return rows


def matches(shown: str, message: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in shown.split("..."))
    return re.fullmatch(pattern, message) is not None


def _body(size_bytes: int) -> bytes:
    start = b'{"asset": "USD", "amount": "1", "pad": "'
    return start + b"x" * (size_bytes - len(start) - 2) + b'"}'


def _order(quantity: str, price: str = "1.00", **extra) -> dict:
    return {"account": "{account}", "symbol": "BTC-USD", "side": "BUY", "quantity": quantity, "price": price,
            **extra}


# What each row limits -> the request that goes past it: (path, JSON body or raw bytes).
# "{account}" is an open account holding 100.00 USD and 1.5 BTC; "{id}" a fresh id.
PAST_THE_LIMIT = {
    "ids: account, transfer, hold, transaction, batch, batch item, order": ("/Account/a%20b/balance", {}),
    "request body": ("/Account/{account}/deposit", _body(20013)),
    "a batch's body": ("/Batch/{id}/run", _body(1024 * 1024 + 1)),
    "a batch's transfers": ("/Batch/{id}/run", {"transfers": [
        {"id": f"i{n}", "source": "a", "target": "b", "asset": "USD", "amount": "1"} for n in range(1001)]}),
    "a transaction's legs": ("/Transaction/{id}/post", {"legs": [
        {"account": "a", "asset": "USD", "amount": "1", "direction": "DEBIT"}] * 65}),
    "a hold's expiry": ("/Hold/{id}/place", {"source": "{account}", "asset": "USD", "amount": "1",
                                             "expires_in_s": 0}),
    "a reference": ("/Account/{account}/deposit", {"asset": "USD", "amount": "1", "reference": "r" * 129}),
    "metadata": ("/Account/{account}/deposit", {"asset": "USD", "amount": "1",
                                                "metadata": {f"k{n}": "v" for n in range(17)}}),
    "an amount's text": ("/Account/{account}/deposit", {"asset": "USD", "amount": "1" * 61}),
    "an amount, and what a deposit or credit may bring a balance to":
        ("/Account/{account}/deposit", {"asset": "USD", "amount": "1" + "0" * 36}),
    "an order's value (quantity × price)": ("/Order/{id}/place", _order("0.00000001", "0.01")),
    "quantity and price precision": ("/Order/{id}/place", _order("0.000000001")),
    "a GTD order's expiry": ("/Order/{id}/place", _order("0.01", time_in_force="GTD", expires_at_ms=1)),
    "history and trades pages": ("/Account/{account}/history", {"limit": 0}),
    "a page cursor": ("/Account/{account}/history", {"before": 0}),
    "book depth": ("/OrderBook/BTC-USD/book", {"depth": 101}),
    "an account's owner": ("/Account/{id}/open", {"owner": "x" * 129}),
}
# Rows proven by a test of their own below (they need many calls).
OWN_TEST = {"live holds per account"}


def test_every_row_of_the_limits_table_is_tested():
    assert set(limits_table()) == set(PAST_THE_LIMIT) | OWN_TEST


@pytest.mark.parametrize("what", sorted(PAST_THE_LIMIT))
def test_past_each_limit_the_answer_is_the_one_the_table_shows(stack, funded, new_id, what):
    status, shown = limits_table()[what]
    path, body = PAST_THE_LIMIT[what]
    fill = {"account": funded, "id": new_id("lim")}
    if isinstance(body, dict):
        body = httpx.Request("POST", "/", json={k: v.format(**fill) if isinstance(v, str) else v
                                                for k, v in body.items()}).content
    with httpx.Client(base_url=stack.ingress_url, timeout=30, trust_env=False) as ingress:
        response = ingress.post(path.format(**fill), content=body, headers=JSON)
    message = response.json()["message"]
    assert (response.status_code, matches(shown, message)) == (status, True), (what, shown, message)


def test_matching_a_shown_message_can_fail():
    assert matches("amount: ... exceeds", "amount: 1 USD exceeds")
    assert not matches("amount: ... exceeds", "amount: 1 USD exceeds it")
    assert not matches("limit: must be from 1 to 100, got 0", "limit: must be from 1 to 100, got 1")


def test_live_holds_per_account_are_capped(stack, new_id):
    account = new_id("busy")

    async def run():
        async with AsyncLedgerClient(stack.ingress_url, max_connections=16, timeout_s=120) as ledger:
            await ledger.open(account)
            await ledger.deposit(account, "BTC", "100")
            # A faulty-venue symbol: the orders rest there and never trade.
            ids = [f"{account}-{i}" for i in range(MAX_LIVE_HOLDS)]
            gate = asyncio.Semaphore(16)

            async def place(order_id):
                async with gate:
                    return await ledger.place_order(order_id, account, "BTC-USD.FAULTY", "SELL", "0.001", "50000")

            placed = await asyncio.gather(*(place(i) for i in ids))
            assert {o.status for o in placed} == {"ACCEPTED"}
            with pytest.raises(ApiError) as over:
                await ledger.place_order(f"{account}-over", account, "BTC-USD.FAULTY", "SELL", "0.001", "50000")
            status, shown = limits_table()["live holds per account"]
            shown = shown.replace("order o-1 ", f"order {account}-over ").replace("account a ", f"account {account} ")
            assert (over.value.status_code, over.value.message) == (status, shown)
            assert f"has {MAX_LIVE_HOLDS} live holds" in shown
            # a public hold counts with the orders' holds
            with pytest.raises(ApiError) as hold_over:
                await ledger.place_hold(f"{account}-hold", account, "BTC", "0.001")
            assert hold_over.value.message == (f"hold {account}-hold REJECTED: account {account} has "
                                               f"{MAX_LIVE_HOLDS} live holds (orders and holds), the most it may have")
            # one cancelled makes room for one more
            await ledger.cancel_order(ids[0])
            again = await ledger.place_order(f"{account}-room", account, "BTC-USD.FAULTY", "SELL", "0.001", "50000")
            assert again.status == "ACCEPTED"
            view = await ledger.balance(account)
            assert view.balances["BTC"].reserved == "1.00000000"  # 1000 x 0.001

    asyncio.run(run())


def test_amounts_past_the_largest_are_refused(client, funded):
    with pytest.raises(ApiError) as caught:
        client.deposit(funded, "USD", "1" + "0" * 36)
    assert caught.value.status_code == 400 and "exceeds the largest amount" in caught.value.message
    with pytest.raises(ApiError) as caught:
        client.place_order("too-big-" + funded, funded, "BTC-USD", "BUY", "1" + "0" * 20, "1" + "0" * 20)
    assert caught.value.status_code == 400 and "quantity" in caught.value.message
