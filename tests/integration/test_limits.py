"""Limits on what a client controls, each refused with a clear 4xx.
(Key length, body size and page sizes are in test_bad_input.py.)"""

import asyncio

import pytest

from ledger.account import MAX_LIVE_HOLDS
from api.client import ApiError, AsyncLedgerClient

pytestmark = pytest.mark.live


def test_open_orders_per_account_are_capped(stack, new_id):
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
            assert over.value.status_code == 409
            assert f"has {MAX_LIVE_HOLDS} open orders" in over.value.message
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
