"""Trading through the `ledger` command, as a user runs it, against the live stack.

The live endpoint charges a maker fee of 10 bps and a taker fee of 20 bps
(tests/harness.py ENDPOINT_ENV), kept from what each party receives and
rounded down. The expected amounts below are computed here, with integers,
from the rules docs/trading.md states, not by the ledger's own functions.

The session shares one book per symbol with every other live test, so the
walkthrough places its orders strictly inside the spread it finds, where
no order left by another test can trade with them.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.helpers import eventually

pytestmark = pytest.mark.live

LEDGER = str(Path(sys.executable).with_name("ledger"))
SYMBOL = "BTC-USD"
BTC, USD = 8, 2  # fraction digits of the base and the quote
MAKER_BPS, TAKER_BPS = 10, 20
DEADLINE_S = 15.0


def ledger(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LEDGER, *args, "--url", stack.ingress_url],
                          capture_output=True, text=True, timeout=60)


def ok(stack, *args: str) -> list[str]:
    out = ledger(stack, *args)
    assert out.returncode == 0, (args, out.returncode, out.stderr)
    return out.stdout.splitlines()


def fmt(minor: int, scale: int) -> str:
    """Minor units as the ledger prints them, with every fraction digit."""
    whole, frac = divmod(minor, 10**scale)
    return f"{whole}.{frac:0{scale}d}"


def minor(text: str, scale: int) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 10**scale + int(frac.ljust(scale, "0"))


def value(qty: int, price: int) -> int:
    """What qty (satoshis) costs at price (cents per BTC): rounded down."""
    return qty * price // 10**BTC


def hold(qty: int, price: int) -> int:
    """A buy's hold: quantity x limit, rounded up."""
    return -(-qty * price // 10**BTC)


def fee(amount: int, bps: int) -> int:
    return amount * bps // 10_000


def balance_row(stack, account: str, asset: str) -> list[str]:
    """[asset, available, reserved, total] of one asset, as printed."""
    rows = [line.split() for line in ok(stack, "balance", account)[2:]]
    return next(r for r in rows if r[0] == asset)


def book_json(stack) -> dict:
    return json.loads(ok(stack, "book", SYMBOL, "--depth", "1", "--json")[0])


def prices_inside_spread(stack) -> tuple[int, int, int]:
    """Three prices in cents, rising, strictly between the book's best bid
    and best ask: a resting sell, a buy limit that crosses it, a second sell
    that the buy does not reach. 60000.00, 61000.00, 65000.00 when free."""
    book = book_json(stack)
    bid = minor(book["bids"][0]["price"], USD) if book["bids"] else 0
    ask = minor(book["asks"][0]["price"], USD) if book["asks"] else None
    if bid < 6_000_000 and (ask is None or ask > 6_500_000):
        return 6_000_000, 6_100_000, 6_500_000
    ask = ask if ask is not None else 2 * bid + 4
    step = (ask - bid) // 4
    assert step >= 1, f"the {SYMBOL} book left by other tests has no room inside its spread: {book}"
    return bid + step, bid + 2 * step, bid + 3 * step


def fees_held(stack) -> tuple[int, int]:
    """The fee account's USD and BTC, 0 before its first fee."""
    out = ledger(stack, "balance", "fees", "--json")
    if out.returncode == 1 and "not open" in out.stderr:
        return 0, 0
    balances = json.loads(out.stdout)["balances"]
    return tuple(minor(balances[a]["total"], s) if a in balances else 0 for a, s in (("USD", USD), ("BTC", BTC)))


def test_trading_walkthrough(stack, new_id):
    seller, buyer = new_id("seller"), new_id("buyer")
    sell_id, far_sell_id, buy_id = new_id("sell"), new_id("sell"), new_id("buy")
    ask_price, buy_limit, far_price = prices_inside_spread(stack)
    # In satoshis. At the usual prices the buy holds 48800.01 USD (48800.0042
    # rounded up), the fill is worth 30000.00 (30000.0018 rounded down), the
    # buyer's taker fee is 0.00100000 BTC (0.00100000006 rounded down) and
    # the seller's maker fee 30.00 USD.
    sell_qty, buy_qty, far_qty = 50_000_003, 80_000_007, 10_000_000
    fees_before = fees_held(stack)

    ok(stack, "open", seller)
    ok(stack, "open", buyer)
    ok(stack, "deposit", seller, "1", "BTC")
    assert ok(stack, "deposit", buyer, "100000", "USD")[-1].split() == ["USD", "100000.00", "0.00", "100000.00"]

    # A resting sell, and a second one above the buy's limit.
    rest = ok(stack, "order", "place", seller, SYMBOL, "sell", fmt(sell_qty, BTC), fmt(ask_price, USD),
              "--id", sell_id)
    assert rest == [f"order {sell_id}: ACCEPTED",
                    f"  {seller} SELL {fmt(sell_qty, BTC)} {SYMBOL} @ {fmt(ask_price, USD)} (GTC), "
                    f"filled 0.00000000"]
    far = ok(stack, "order", "place", seller, SYMBOL, "SELL", fmt(far_qty, BTC), fmt(far_price, USD),
             "--id", far_sell_id)
    assert far[0] == f"order {far_sell_id}: ACCEPTED"
    assert balance_row(stack, seller, "BTC") == [
        "BTC", fmt(10**BTC - sell_qty - far_qty, BTC), fmt(sell_qty + far_qty, BTC), "1.00000000"]

    # The crossing buy: fills all the first sell at its price, rests the rest.
    bought = ok(stack, "order", "place", buyer, SYMBOL, "Buy", fmt(buy_qty, BTC), fmt(buy_limit, USD),
                "--id", buy_id)
    assert bought[:2] == [f"order {buy_id}: PARTIALLY_FILLED",
                          f"  {buyer} BUY {fmt(buy_qty, BTC)} {SYMBOL} @ {fmt(buy_limit, USD)} (GTC), "
                          f"filled {fmt(sell_qty, BTC)}"]
    assert bought[2].split() == ["trade", "price", "quantity", "role"]
    trade_id, *fill = bought[3].split()
    assert fill == [fmt(ask_price, USD), fmt(sell_qty, BTC), "TAKER"]
    assert trade_id.startswith(f"{SYMBOL}-") and len(bought) == 4

    paid = value(sell_qty, ask_price)  # rounded down
    held = hold(buy_qty, buy_limit)  # rounded up
    maker_fee = fee(paid, MAKER_BPS)  # the seller's, in USD
    taker_fee = fee(sell_qty, TAKER_BPS)  # the buyer's, in BTC
    assert balance_row(stack, buyer, "USD") == [
        "USD", fmt(10_000_000 - held, USD), fmt(held - paid, USD), fmt(10_000_000 - paid, USD)]
    assert balance_row(stack, buyer, "BTC") == ["BTC", fmt(sell_qty - taker_fee, BTC), "0.00000000",
                                                fmt(sell_qty - taker_fee, BTC)]

    # The maker hears of its fill once the trade settled.
    maker_view = eventually(
        lambda: (lines := ok(stack, "order", "status", sell_id))[0] == f"order {sell_id}: FILLED" and lines,
        "the maker's fill recorded", DEADLINE_S)
    assert maker_view == [f"order {sell_id}: FILLED",
                          f"  {seller} SELL {fmt(sell_qty, BTC)} {SYMBOL} @ {fmt(ask_price, USD)} (GTC), "
                          f"filled {fmt(sell_qty, BTC)}",
                          maker_view[2], maker_view[3]]
    assert maker_view[3].split() == [trade_id, fmt(ask_price, USD), fmt(sell_qty, BTC), "MAKER"]

    # The book: our rest of the buy is the best bid, our far sell the best ask.
    book = ok(stack, "book", SYMBOL)
    assert book[0] == f"book {SYMBOL}"
    assert book[1].split() == ["bid", "price", "quantity", "|", "ask", "price", "quantity"]
    assert book[2].split() == [fmt(buy_limit, USD), fmt(buy_qty - sell_qty, BTC), "|",
                               fmt(far_price, USD), fmt(far_qty, BTC)]

    # The submit that made the trade wrote it, so it is listed already. Other
    # tests trade on this symbol too: find ours among the newest rather than
    # expect it first.
    def ours(lines: list[str]) -> list[str] | None:
        return next((row.split() for row in lines[2:] if row.split()[1] == trade_id), None)

    trades = ok(stack, "trades", SYMBOL, "--limit", "100")
    assert trades[0] == f"trades {SYMBOL}"
    assert trades[1].split() == ["seq", "trade", "taker", "price", "quantity"]
    assert ours(trades)[1:] == [trade_id, "BUY", fmt(ask_price, USD), fmt(sell_qty, BTC)]

    # Cancel the rest of the buy: its hold goes back, the fill stands.
    cancelled = ok(stack, "order", "cancel", buy_id)
    assert cancelled[0] == f"order {buy_id}: CANCELLED"
    assert cancelled[1].endswith(f"(GTC), filled {fmt(sell_qty, BTC)}")
    assert cancelled[-1] == "  reason: cancelled by request"
    assert fmt(buy_limit, USD) not in [level["price"] for level in book_json(stack)["bids"]]

    # The balances after: the buyer paid the fill's value, not its limit.
    assert balance_row(stack, buyer, "USD") == [
        "USD", fmt(10_000_000 - paid, USD), "0.00", fmt(10_000_000 - paid, USD)]
    assert balance_row(stack, buyer, "BTC")[1] == fmt(sell_qty - taker_fee, BTC)
    assert balance_row(stack, seller, "USD") == [
        "USD", fmt(paid - maker_fee, USD), "0.00", fmt(paid - maker_fee, USD)]
    assert balance_row(stack, seller, "BTC") == [
        "BTC", fmt(10**BTC - sell_qty - far_qty, BTC), fmt(far_qty, BTC), fmt(10**BTC - sell_qty, BTC)]
    usd_fees, btc_fees = fees_held(stack)
    assert (usd_fees - fees_before[0], btc_fees - fees_before[1]) == (maker_fee, taker_fee)

    # Clean up the far sell, so the book is as other tests found it.
    assert ok(stack, "order", "cancel", far_sell_id)[0] == f"order {far_sell_id}: CANCELLED"
    assert balance_row(stack, seller, "BTC")[2] == "0.00000000"


def test_order_status_json_is_the_contract_answer(stack, new_id):
    account, order_id = new_id("acct"), new_id("o")
    ok(stack, "open", account)
    ok(stack, "deposit", account, "1", "BTC")
    bids = book_json(stack)["bids"]
    far = max(99_999_900, minor(bids[0]["price"], USD) + 1 if bids else 0)  # above any bid: it rests
    ok(stack, "order", "place", account, SYMBOL, "sell", "0.25", fmt(far, USD), "--id", order_id)
    ok(stack, "order", "cancel", order_id)
    expected = {
        "order": order_id, "account": account, "symbol": SYMBOL, "side": "SELL",
        "quantity": "0.25000000", "price": fmt(far, USD), "time_in_force": "GTC",
        "filled": "0.00000000", "status": "CANCELLED", "fills": [], "reason": "cancelled by request",
    }
    # --json after the command, before it, and between `order` and `status`.
    for args in (["order", "status", order_id, "--json"], ["--json", "order", "status", order_id],
                 ["order", "--json", "status", order_id]):
        out = ledger(stack, *args)
        assert out.returncode == 0, (args, out.stderr)
        assert json.loads(out.stdout) == expected, args


def test_refusals_exit_1_with_the_message(stack, new_id):
    account, order_id = new_id("acct"), new_id("o")
    ok(stack, "open", account)
    ok(stack, "deposit", account, "10", "USD")
    out = ledger(stack, "order", "place", account, SYMBOL, "buy", "1", "20.00", "--id", order_id)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip() == (f"error 409: order {order_id} REJECTED: insufficient funds on account "
                                  f"{account}: available 10.00 USD, requested 20.00 USD")
    # The refused order holds nothing, and its status says why.
    assert balance_row(stack, account, "USD") == ["USD", "10.00", "0.00", "10.00"]
    assert ok(stack, "order", "status", order_id)[-1] == (
        f"  reason: insufficient funds on account {account}: available 10.00 USD, requested 20.00 USD")
    again = ledger(stack, "order", "cancel", order_id)
    assert again.returncode == 1
    assert again.stderr.strip() == f"error 409: order {order_id} is REJECTED and cannot be cancelled"
    missing = ledger(stack, "order", "status", new_id("nope"))
    assert missing.returncode == 1 and "error 404: order nope-" in missing.stderr
    bad = ledger(stack, "book", "DOGE-USD")
    assert bad.returncode == 1 and bad.stderr.strip() == "error 404: symbol DOGE-USD has no book"


def test_ioc_and_gtd_from_the_command_line(stack, new_id):
    account, ioc_id, gtd_id = new_id("acct"), new_id("ioc"), new_id("gtd")
    ok(stack, "open", account)
    ok(stack, "deposit", account, "100", "USD")
    # 0.01 USD for 1 BTC crosses no ask a test would leave.
    asks = book_json(stack)["asks"]
    assert not asks or minor(asks[0]["price"], USD) > 1
    ioc = ok(stack, "order", "place", account, SYMBOL, "buy", "1", "0.01", "--tif", "ioc", "--id", ioc_id)
    assert ioc == [f"order {ioc_id}: CANCELLED",
                   f"  {account} BUY 1.00000000 {SYMBOL} @ 0.01 (IOC), filled 0.00000000",
                   "  reason: immediate-or-cancel: the rest of the order was cancelled"]
    before_ms = int(time.time() * 1000)
    gtd = ledger(stack, "order", "place", account, SYMBOL, "buy", "1", "0.01", "--tif", "GTD",
                 "--expires-in-s", "3600", "--id", gtd_id, "--json")
    after_ms = int(time.time() * 1000)
    assert gtd.returncode == 0, gtd.stderr
    placed = json.loads(gtd.stdout)
    assert (placed["status"], placed["time_in_force"]) == ("ACCEPTED", "GTD")
    assert before_ms + 3_600_000 <= placed["expires_at_ms"] <= after_ms + 3_600_000
    assert balance_row(stack, account, "USD") == ["USD", "99.99", "0.01", "100.00"]
    assert ok(stack, "order", "cancel", gtd_id)[0] == f"order {gtd_id}: CANCELLED"
    assert balance_row(stack, account, "USD") == ["USD", "100.00", "0.00", "100.00"]


@pytest.mark.parametrize("args, message", [
    (["--tif", "GTD"], "error: --tif GTD needs --expires-in-s N"),
    (["--expires-in-s", "60"], "error: --expires-in-s is for --tif GTD only"),
])
def test_inconsistent_time_in_force_exits_2_and_sends_nothing(stack, new_id, args, message):
    order_id = new_id("o")
    out = ledger(stack, "order", "place", new_id("acct"), SYMBOL, "buy", "1", "1", "--id", order_id, *args)
    assert (out.returncode, out.stderr.strip()) == (2, message)
    assert "error 404: order" in ledger(stack, "order", "status", order_id).stderr


def test_a_side_is_buy_or_sell():
    out = subprocess.run([LEDGER, "order", "place", "a", SYMBOL, "hold", "1", "1"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "'hold' is not a side (buy or sell)" in out.stderr
