"""Kill our endpoint (SIGKILL) or restate-server while orders match and
fills settle: after restarts every fill is settled exactly once and every
trading invariant holds (the same checks as the live trading test)."""

import asyncio

import pytest

from tests.integration.test_live_trading import STATS, trade

pytestmark = pytest.mark.live

# Crossing orders at fixed ticks: sells first, then buys sweeping them.
BATCH = (
    [("place", i % 4, "BTC-USD", "SELL", 1 + i % 5, i % 4, "GTC") for i in range(20)]
    + [("place", (i + 1) % 4, "BTC-USD", "BUY", 2 + i % 7, 6, "GTC") for i in range(20)]
    + [("place", i % 4, "ETH-USD", "BUY", 3, 2, "IOC") for i in range(6)]
    + [("place", (i + 2) % 4, "ETH-USD", "SELL", 2, 1, "GTC") for i in range(6)]
)


@pytest.mark.parametrize("victim", ["endpoint", "server"])
def test_fills_settle_once_through_a_crash(stack, victim):
    fills_before = STATS["fills"]
    asyncio.run(trade(stack.ingress_url, BATCH, crash=lambda: stack.crash(victim)))
    assert STATS["fills"] > fills_before, "the batch must make fills, or the crash proves nothing"
    assert STATS["in_flight_at_crash"] > 0
    print(f"{victim} crash: {STATS['in_flight_at_crash']} operations in flight so far, "
          f"{STATS['fills'] - fills_before} fills settled")
