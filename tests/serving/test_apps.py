"""What each app serves: production (`ledger serve`, the Docker image) the
ledger's four objects and nothing else; the tests' app those plus the
fault-injecting venue; the bench's app its own objects, without changing
the ledger's."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from actors import app as production
from actors import markets, venues
from ledger.money import ASSETS
from ledger.order import Order, TimeInForce
from ledger.symbols import SYMBOLS, Side, Symbol
from tests.apps import ledger_app
from tests.apps.faulty_venue import FAULTY, FaultyVenue
from tests.harness import ServeProcess

LEDGER_SERVICES = ["Account", "Transfer", "Hold", "Transaction", "Batch", "Order", "OrderBook"]


def _order(sym: Symbol) -> Order:
    return Order("o-1", "acct", sym, Side.BUY, 1, 100, TimeInForce.GTC, None)


def test_the_production_app_serves_the_ledger_only():
    assert [s.name for s in production.SERVICES] == LEDGER_SERVICES
    assert FAULTY.code not in SYMBOLS


def test_the_tests_app_adds_the_faulty_venue_and_routes_its_symbol_there():
    assert [s.name for s in ledger_app.SERVICES] == [*LEDGER_SERVICES, "FaultyVenue"]
    assert isinstance(venues.venue_for(_order(FAULTY)), FaultyVenue)
    assert venues.venue_for(_order(SYMBOLS["BTC-USD"])) is venues.BOOK


def test_a_listed_code_cannot_be_registered_again_as_another_symbol():
    with pytest.raises(ValueError, match="already listed"):
        markets.register(Symbol("BTC-USD", ASSETS["ETH"], ASSETS["USD"]))
    with pytest.raises(ValueError, match="already listed"):
        markets.register(FAULTY)  # listed, with another venue
    markets.register(FAULTY, venues.venue_for(_order(FAULTY)))  # the same again: no change
    assert markets.lookup(FAULTY.code) is FAULTY


@pytest.mark.parametrize("name,added", [("Account", "bench_read"), ("OrderBook", "bench_seed_book")])
def test_the_bench_app_adds_its_handlers_to_copies_of_the_ledger_objects(name, added):
    from bench import app as bench_app

    [ours] = [s for s in production.SERVICES if s.name == name]
    [bench_copy] = [s for s in bench_app.SERVICES if s.name == name]
    assert bench_copy is not ours
    assert added in bench_copy.handlers
    assert not [handler for handler in ours.handlers if handler.startswith("bench")]
    assert set(ours.handlers) < set(bench_copy.handlers)


@pytest.mark.live
def test_ledger_serve_registers_exactly_the_ledger_services(tmp_path: Path):
    serve = ServeProcess(tmp_path / "data")
    try:
        serve.start()
        listed = httpx.get(f"{serve.admin_url}/services", trust_env=False, timeout=10).json()
        assert sorted(s["name"] for s in listed["services"]) == sorted(LEDGER_SERVICES)
        # Nor is the test symbol listed: an order on it is refused as unknown.
        refused = httpx.post(f"{serve.ingress_url}/Order/o-1/place", trust_env=False, timeout=30, json={
            "account": "a", "symbol": FAULTY.code, "side": "BUY", "quantity": "1", "price": "1"})
        assert refused.status_code == 400 and "unknown symbol" in refused.text, refused.text
        assert serve.stop() == 0, serve.output
    finally:
        serve.kill()
