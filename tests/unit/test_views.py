"""The contract's answers as they go on the wire: amounts with every digit of
their asset, optional fields only when set. Read through the handlers' own
output serde, so what is checked here is what a client receives."""

import json

from actors.shell import AnswerSerde
from api import views
from api.responses import AccountView, HistoryPage, OrderView, TransferView
from ledger import account as acc
from ledger import order as lc
from ledger import transfer as tr
from ledger.money import ASSETS
from ledger.order import OrderFill, TimeInForce
from ledger.symbols import SYMBOLS, Side
from ledger.transfer import Status

BTC_USD, ETH_USD = SYMBOLS["BTC-USD"], SYMBOLS["ETH-USD"]
USD, BTC_ASSET = ASSETS["USD"], ASSETS["BTC"]
BUY, SELL = Side.BUY, Side.SELL
GTC, GTD = TimeInForce.GTC, TimeInForce.GTD
NOW = 1_700_000_000_000
BTC = 100_000_000


def wire(model) -> dict:
    return json.loads(AnswerSerde(type(model)).serialize(model))


def order(qty=3 * BTC, price=3_000_000, tif=GTC, expires=None):
    return lc.new("o1", "alice", BTC_USD, BUY, qty, price, tif, expires, NOW)


def transfer(**changes):
    args = {"transfer_id": "t1", "source": "alice", "target": "bob", "asset": USD, "amount_minor": 1250}
    return tr.new(**{**args, **changes})


# --- orders -----------------------------------------------------------------------


def test_order_view_formats_amounts_with_every_digit():
    o = lc.new("o7", "bob", BTC_USD, SELL, 150_000_001, 3_000_050, GTC, None, NOW)
    o = lc.placed(o, (OrderFill("BTC-USD-4", 3_000_100, 50_000_000, "TAKER"),), True, None)
    assert wire(views.order_view(o)) == {
        "order": "o7",
        "account": "bob",
        "symbol": "BTC-USD",
        "side": "SELL",
        "quantity": "1.50000001",
        "price": "30000.50",
        "time_in_force": "GTC",
        "filled": "0.50000000",
        "status": "PARTIALLY_FILLED",
        "fills": [{"trade": "BTC-USD-4", "price": "30001.00", "quantity": "0.50000000", "role": "TAKER"}],
    }


def test_order_view_adds_expiry_and_reason_only_when_there_are_some():
    o = lc.cancelled(lc.placed(order(tif=GTD, expires=NOW + 5), (), True, None), "expired (good till date)")
    v = wire(views.order_view(o))
    assert v["expires_at_ms"] == NOW + 5 and v["reason"] == "expired (good till date)"
    assert v["time_in_force"] == "GTD" and v["status"] == "CANCELLED" and v["fills"] == []
    assert v["filled"] == "0.00000000"
    plain = wire(views.order_view(order()))
    assert "expires_at_ms" not in plain and "reason" not in plain
    eth = wire(views.order_view(lc.new("e", "a", ETH_USD, BUY, 10**18 + 1, 1, GTC, None, NOW)))
    assert eth["quantity"] == "1.000000000000000001" and eth["price"] == "0.01"


def test_an_answer_read_back_is_the_same_model_and_the_same_wire():
    o = lc.placed(order(), (OrderFill("BTC-USD-1", 3_000_000, BTC, "TAKER"),), True, None)
    sent = views.order_view(o)
    serde = AnswerSerde(OrderView)
    back = serde.deserialize(serde.serialize(sent))
    assert back == sent and serde.serialize(back) == serde.serialize(sent)


# --- transfers --------------------------------------------------------------------


def test_view_of_a_completed_transfer_has_no_reason():
    assert wire(views.transfer_view(tr.finish(transfer(amount_minor=1), Status.COMPLETED))) == {
        "transfer": "t1", "status": "COMPLETED", "source": "alice", "target": "bob",
        "asset": "USD", "amount": "0.01",
    }


def test_view_of_a_pending_transfer():
    assert wire(views.transfer_view(transfer(asset=BTC_ASSET, amount_minor=150_000_000))) == {
        "transfer": "t1", "status": "PENDING", "source": "alice", "target": "bob",
        "asset": "BTC", "amount": "1.50000000",
    }


def test_view_of_a_refused_transfer_has_its_reason():
    view = wire(views.transfer_view(tr.finish(transfer(), Status.FAILED, "insufficient funds")))
    assert (view["status"], view["reason"], view["amount"]) == ("FAILED", "insufficient funds", "12.50")
    assert "compensation_errors" not in view


def test_view_lists_compensation_errors_when_there_are_some():
    view = wire(views.transfer_view(tr.finish(transfer(), Status.COMPENSATED, "bob frozen", ("refund refused",))))
    assert view["reason"] == "bob frozen"
    assert view["compensation_errors"] == ["refund refused"]


# --- accounts ---------------------------------------------------------------------


def test_an_account_without_owner_shows_owner_null():
    a = acc.open_account(None, "dave", None).account
    assert wire(views.account_view(a)) == {"account": "dave", "owner": None, "status": "OPEN", "balances": {}}
    assert isinstance(views.account_view(a), AccountView)


def test_a_history_page_shows_next_null_on_its_last_page_and_amounts_only_for_movements():
    page = views.history_page("carol", [
        {"seq": 2, "kind": "deposit", "at_ms": 5, "asset": "USD", "amount_minor": 1000},
        {"seq": 1, "kind": "open", "at_ms": 4},
    ], None)
    assert isinstance(page, HistoryPage)
    assert wire(page) == {"account": "carol", "next": None, "entries": [
        {"seq": 2, "kind": "deposit", "at_ms": 5, "asset": "USD", "amount": "10.00"},
        {"seq": 1, "kind": "open", "at_ms": 4},
    ]}


def test_transfer_view_model_matches_its_wire():
    assert isinstance(views.transfer_view(transfer()), TransferView)
