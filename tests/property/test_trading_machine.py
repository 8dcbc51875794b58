"""A stateful machine over the pure trading model.

Four traders and a fee account (ledger/account.py), one BTC-USD book kept
as a full in-memory Slice (every level loaded), fees of 10 bps (maker) and
20 bps (taker). Orders are placed and cancelled the way actors/order.py
and actors/book.py compose the pure pieces:

place:  new() -> reserve the hold (refused: REJECTED, nothing held) ->
        submit -> settle the fills by ledger/settlement.py's plan, each
        account's steps in order (capture the seller's base, the buyer's
        quote unless 0, receive each side less its fee, fees to the fee
        account, release the maker's hold when the fill ends it, release
        what the book says the taker gives back), then the plan again (a
        replay: nothing applies twice) -> record the makers' fills ->
        placed();
cancel: require_cancellable -> cancel on the book -> release -> cancelled().

A shadow of plain ints, updated only from its own predictions, says what
each step must do: which makers fill, in which order, at which price and
value (a naive price-time matcher over the live orders), what each side
receives and pays in fees, what each order holds and gives back, and each
order's status. After every step the ledger's invariants must hold and
the real state must equal the shadow.
"""

from collections import defaultdict

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ledger import account as acc
from ledger import book as pure
from ledger import order as lc
from ledger import settlement, steps
from ledger.account import Account, hold_key
from ledger.book import Fees, Resting, Slice, check_slice
from ledger.errors import InvalidInput, Refused
from ledger.invariants import (
    InvariantViolation, check_account, check_accounts_conserve, check_conservation,
)
from ledger.money import ASSETS
from ledger.order import Order, OrderFill, Status, TimeInForce
from ledger.symbols import SYMBOLS, Side

SYM = SYMBOLS["BTC-USD"]
BUY, SELL = Side.BUY, Side.SELL
SCALE = 10**8  # satoshi per BTC
MAKER_BPS, TAKER_BPS = 10, 20
FEES = Fees(maker_bps=MAKER_BPS, taker_bps=TAKER_BPS)
TRADERS = ["a0", "a1", "a2", "a3"]
FEE_ACCOUNT = "fees"
NOW = 1_700_000_000_000
IOC_REASON = "immediate-or-cancel: the rest of the order was cancelled"
STP_REASON = "self-trade prevented: the rest of the order was cancelled"
CANCEL_REASON = "cancelled by request"

# Few prices, several of them odd, so levels are shared and values round.
PRICES = [2_999_000, 2_999_999, 3_000_000, 3_000_001, 3_000_500, 3_001_003]
quantities = st.one_of(
    st.integers(1, 200),  # below one cent (refused) up to a few cents
    st.integers(1, 60_000_000),
    st.integers(60_000_000, 250_000_000),  # large: funds run out now and then
    st.sampled_from([10_000_000, 25_000_000, 50_000_000]),
    st.sampled_from([10_000_000, 25_000_000, 50_000_000]).flatmap(lambda q: st.integers(q - 40, q + 40)),
)
deposits = {
    "USD": st.integers(1, 20_000_000),  # up to 200,000.00 USD
    "BTC": st.integers(1, 300_000_000),  # up to 3 BTC
}


def value_down(qty: int, price: int) -> int:
    return qty * price // SCALE


def value_up(qty: int, price: int) -> int:
    return (qty * price + SCALE - 1) // SCALE


def fee(amount: int, bps: int) -> int:
    return amount * bps // 10_000


class TradingMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.accounts: dict[str, Account] = {
            a: acc.open_account(None, a, None).account for a in [*TRADERS, FEE_ACCOUNT]
        }
        # Index pages of 2 prices and level pages of 2 orders: matching crosses both.
        self.book = Slice.whole(SYM, [], [], page_max=2, level_page_max=2)
        self.orders: dict[str, Order] = {}
        self.deposited: dict[str, int] = defaultdict(int)
        # --- the shadow ---
        self.available: dict[tuple[str, str], int] = defaultdict(int)
        self.seq = 0
        self.live: dict[str, int] = {}  # order -> arrival number, while it rests
        self.hold: dict[str, int] = {}  # what each placed order reserved
        self.captured: dict[str, int] = defaultdict(int)  # what its fills paid from that
        self.filled: dict[str, int] = defaultdict(int)
        self.end_reason: dict[str, str | None] = {}  # finished orders: why (None: filled)
        self.trades = 0
        self.ops: dict[tuple[str, str], object] = {}  # (account, op id) -> its record

    # --- helpers ---------------------------------------------------------------

    def apply(self, account_id: str, change) -> None:
        assert change.account.account_id == account_id
        self.accounts[account_id] = change.account

    def release(self, account_id: str, order_id: str, amount: int) -> None:
        self.apply(account_id, acc.release(self.accounts[account_id], hold_key("order", order_id), amount))
        self.available[account_id, self.hold_asset(order_id)] += amount

    def hold_asset(self, order_id: str) -> str:
        return "USD" if self.orders[order_id].side is BUY else "BTC"

    def left_in_hold(self, order_id: str) -> int:
        return self.hold[order_id] - self.captured[order_id]

    def predict_fills(self, account, side, qty, price) -> tuple[list[tuple[str, int, int]], bool]:
        """(maker, quantity, price) per fill by price-time priority over the
        live orders, and whether self-trade prevention stopped the order."""
        def crosses(o: Order) -> bool:
            return o.side is not side and (o.price_minor <= price if side is BUY else o.price_minor >= price)

        makers = sorted(
            (self.orders[oid] for oid in self.live if crosses(self.orders[oid])),
            key=lambda o: (o.price_minor if side is BUY else -o.price_minor, self.live[o.order_id]),
        )
        fills, left = [], qty
        for maker in makers:
            if not left:
                break
            if maker.account == account:
                return fills, True
            n = min(left, maker.quantity_minor - self.filled[maker.order_id])
            fills.append((maker.order_id, n, maker.price_minor))
            left -= n
        return fills, False

    # --- rules -----------------------------------------------------------------

    @initialize()
    def fund_everyone(self):
        for a in TRADERS:
            self.deposit(a, "USD", 5_000_000)  # 50,000.00 USD
            self.deposit(a, "BTC", 150_000_000)  # 1.5 BTC

    @rule(account=st.sampled_from(TRADERS), code=st.sampled_from(["USD", "BTC"]), data=st.data())
    def deposit_some(self, account, code, data):
        self.deposit(account, code, data.draw(deposits[code]))

    def deposit(self, account, code, amount):
        self.apply(account, acc.deposit(self.accounts[account], ASSETS[code], amount))
        self.available[account, code] += amount
        self.deposited[code] += amount

    @rule(account=st.sampled_from(TRADERS), side=st.sampled_from([BUY, SELL]), qty=quantities,
          price=st.sampled_from(PRICES), ioc=st.booleans())
    def place(self, account, side, qty, price, ioc):
        oid = f"o{len(self.orders)}"
        tif = TimeInForce.IOC if ioc else TimeInForce.GTC
        if qty * price < SCALE:  # worth less than one cent
            with pytest.raises(InvalidInput):
                lc.new(oid, account, SYM, side, qty, price, tif, None, NOW)
            event("refused: below one cent")
            return
        o = lc.new(oid, account, SYM, side, qty, price, tif, None, NOW)
        code, held = ("USD", value_up(qty, price)) if side is BUY else ("BTC", qty)
        assert o.hold == (code, held) and o.status is Status.PENDING
        self.orders[oid] = o

        # reserve the hold, or be rejected with nothing held
        before = self.accounts[account]
        if self.available[account, code] < held:
            with pytest.raises(Refused) as caught:
                acc.reserve(before, hold_key("order", oid), ASSETS[code], held)
            assert self.accounts[account] is before
            self.orders[oid] = lc.rejected(o, caught.value.message)
            self.end_reason[oid] = caught.value.message
            event("rejected: insufficient funds")
            return
        self.apply(account, acc.reserve(before, hold_key("order", oid), ASSETS[code], held))
        self.available[account, code] -= held
        self.hold[oid] = held

        # match
        want_fills, want_stp = self.predict_fills(account, side, qty, price)
        outcome = pure.submit(self.book, Resting(oid, account, side, price, qty, qty), not ioc, FEES)
        assert [(f.maker_order, f.quantity_minor, f.price_minor) for f in outcome.fills] == want_fills
        want_filled = sum(n for _, n, _ in want_fills)
        want_rested = want_filled < qty and not ioc and not want_stp
        assert outcome.filled_minor == want_filled
        assert outcome.rested == want_rested
        event(f"fills at once: {min(len(want_fills), 3)}")

        # each fill, in the shadow
        for f in outcome.fills:
            self.settle(f, o)

        # the taker's end
        if want_rested:
            assert outcome.release_minor is None and outcome.cancel_reason is None
            self.live[oid] = self.seq
            self.seq += 1
        else:
            expected_reason = (None if want_filled == qty else STP_REASON if want_stp else IOC_REASON)
            assert outcome.cancel_reason == expected_reason
            assert outcome.release_minor == self.left_in_hold(oid)
            self.available[account, code] += outcome.release_minor
            self.end_reason[oid] = expected_reason
            event(f"taker ended: {expected_reason or 'filled'}")
        # settle them on the accounts as actors/order.py does: the plan, step by step
        plan = settlement.steps_by_account(SYM, list(outcome.fills), FEE_ACCOUNT, (account, oid),
                                           outcome.release_minor)
        assert FEE_ACCOUNT not in plan or any(f.buyer_fee_minor or f.seller_fee_minor for f in outcome.fills)
        self.apply_plan(plan)
        accounts_after = dict(self.accounts)
        self.apply_plan(plan)  # a replay or a retry: every step was applied, none applies again
        assert self.accounts == accounts_after
        taker_fills = tuple(OrderFill(f.trade_id, f.price_minor, f.quantity_minor, "TAKER") for f in outcome.fills)
        self.orders[oid] = lc.placed(o, taker_fills, outcome.rested, outcome.cancel_reason)

    def apply_plan(self, plan) -> None:
        for account_id, account_steps in plan.items():
            for step in account_steps:
                made = steps.apply_step(self.accounts[account_id], step, self.ops.get((account_id, step.op)))
                if made is not None:
                    change, op = made
                    self.apply(account_id, change)
                    self.ops[account_id, step.op] = op

    # Leaves a resting order with a few satoshi, so that the next fill on it
    # is worth less than one cent (the buyer's capture is skipped).
    @rule(data=st.data(), dust=st.integers(1, 33), ioc=st.booleans())
    def take_all_but_dust(self, data, dust, ioc):
        if not self.live:
            return
        maker = self.orders[data.draw(st.sampled_from(sorted(self.live)))]
        account = data.draw(st.sampled_from([a for a in TRADERS if a != maker.account]))
        qty = maker.quantity_minor - self.filled[maker.order_id] - dust
        if qty > 0:
            self.place(account, maker.side.opposite, qty, maker.price_minor, ioc)

    def settle(self, f, taker: Order) -> None:
        """One fill: checked, and what it must move applied to the shadow."""
        maker = self.orders[f.maker_order]
        buyer, seller = (taker, maker) if taker.side is BUY else (maker, taker)
        self.trades += 1
        assert f.trade_id == f"BTC-USD-{self.trades}" and f.symbol == "BTC-USD"
        assert f.taker_side is taker.side
        assert (f.buyer, f.buyer_order, f.seller, f.seller_order) == (
            buyer.account, buyer.order_id, seller.account, seller.order_id)
        assert f.buyer != f.seller  # self-trade prevention
        qty, value = f.quantity_minor, value_down(f.quantity_minor, f.price_minor)
        assert f.quote_minor == value
        buyer_bps, seller_bps = (TAKER_BPS, MAKER_BPS) if taker.side is BUY else (MAKER_BPS, TAKER_BPS)
        assert (f.buyer_fee_minor, f.seller_fee_minor) == (fee(qty, buyer_bps), fee(value, seller_bps))

        # captures from the holds
        if not value:
            event("a fill worth less than one cent")
        self.captured[f.seller_order] += qty
        self.captured[f.buyer_order] += value
        self.filled[f.seller_order] += qty
        self.filled[f.buyer_order] += qty

        # what each side receives, and the fees
        legs = [
            (f.seller, "USD", value - f.seller_fee_minor),
            (f.buyer, "BTC", qty - f.buyer_fee_minor),
            (FEE_ACCOUNT, "USD", f.seller_fee_minor),
            (FEE_ACCOUNT, "BTC", f.buyer_fee_minor),
        ]
        for who, code, amount in legs:
            if amount > 0:
                self.available[who, code] += amount

        # the maker's end
        if self.filled[maker.order_id] == maker.quantity_minor:
            assert f.maker_release_minor == self.left_in_hold(maker.order_id)
            if f.maker_release_minor:
                self.available[maker.account, self.hold_asset(maker.order_id)] += f.maker_release_minor
                event("maker released rounding slack")
            del self.live[maker.order_id]
            self.end_reason[maker.order_id] = None
        else:
            assert f.maker_release_minor is None
        updated = lc.maker_fill(maker, OrderFill(f.trade_id, f.price_minor, qty, "MAKER"))
        assert updated is not None
        assert lc.maker_fill(updated, OrderFill(f.trade_id, f.price_minor, qty, "MAKER")) is None
        self.orders[maker.order_id] = updated

    @rule(data=st.data())
    def cancel(self, data):
        if not self.live:
            return
        oid = data.draw(st.sampled_from(sorted(self.live)))
        o = self.orders[oid]
        lc.require_cancellable(o)
        removed = pure.cancel(self.book, o.side, o.price_minor, oid)
        assert removed is not None and removed.order_id == oid
        assert removed.remaining_minor == o.quantity_minor - self.filled[oid]
        released = pure.release_minor(SYM, removed)
        assert released == self.left_in_hold(oid)
        if released:
            self.release(o.account, oid, released)
        self.orders[oid] = lc.cancelled(o, CANCEL_REASON)
        del self.live[oid]
        self.end_reason[oid] = CANCEL_REASON
        event("cancelled a live order")

    @rule(data=st.data())
    def cancel_a_finished_order(self, data):
        if not self.end_reason:
            return
        oid = data.draw(st.sampled_from(sorted(self.end_reason)))
        o = self.orders[oid]
        with pytest.raises(Refused) as caught:
            lc.require_cancellable(o)
        assert caught.value.status_code == 409
        bids, asks = self.book.bids.prices(), self.book.asks.prices()
        assert pure.cancel(self.book, o.side, o.price_minor, oid) is None
        assert (self.book.bids.prices(), self.book.asks.prices()) == (bids, asks)

    # --- invariants --------------------------------------------------------------

    @invariant()
    def money_is_conserved_with_the_fee_account(self):
        check_accounts_conserve(self.accounts.values(), self.deposited)

    @invariant()
    def every_account_is_consistent(self):
        for account in self.accounts.values():
            check_account(account)
            assert Account.from_record(account.account_id, account.to_record()) == account

    @invariant()
    def reserved_is_what_live_orders_still_hold(self):
        for account_id, account in self.accounts.items():
            mine = [oid for oid in self.live if self.orders[oid].account == account_id]
            want_holds = {hold_key("order", oid): (self.hold_asset(oid), self.left_in_hold(oid)) for oid in mine}
            want_holds = {k: v for k, v in want_holds.items() if v[1] > 0}
            assert {h.hold_id: (h.asset, h.amount_minor) for h in account.holds.values()} == want_holds
            for code in ("USD", "BTC"):
                reserved = sum(self.left_in_hold(oid) for oid in mine if self.hold_asset(oid) == code)
                assert account.balance(code).reserved_minor == reserved, (account_id, code)

    @invariant()
    def available_matches_the_shadow(self):
        for account_id, account in self.accounts.items():
            for code in ("USD", "BTC"):
                assert account.balance(code).available_minor == self.available[account_id, code], (
                    account_id, code)

    @invariant()
    def the_book_is_uncrossed_and_holds_exactly_the_live_orders(self):
        check_slice(self.book)
        if self.book.bids and self.book.asks:
            assert self.book.bids.prices()[0] < self.book.asks.prices()[0]
        resting = {r.order_id: r for level in self.book.levels.values() for r in level.orders()}
        assert set(resting) == set(self.live)
        for oid, r in resting.items():
            o = self.orders[oid]
            assert (r.account, r.side, r.price_minor, r.quantity_minor) == (
                o.account, o.side, o.price_minor, o.quantity_minor)
            assert r.remaining_minor == o.quantity_minor - self.filled[oid]
            assert r.captured_minor == self.captured[oid]
        for side in (BUY, SELL):
            for price in self.book.index(side).prices():
                queue = list(self.book.levels[(side, price)].orders())
                assert queue, (side, price)
                arrivals = [self.live[r.order_id] for r in queue]
                assert arrivals == sorted(arrivals)  # time priority within a level

    @invariant()
    def every_status_agrees_with_its_fills(self):
        for oid, o in self.orders.items():
            lc.check_order(o)
            assert o.filled_minor == self.filled[oid] <= o.quantity_minor
            if oid in self.live:
                want = Status.PARTIALLY_FILLED if self.filled[oid] else Status.ACCEPTED
                assert (o.status, o.reason) == (want, None), o
            elif oid not in self.hold:
                assert o.status is Status.REJECTED and o.fills == () and o.reason == self.end_reason[oid]
            elif self.end_reason[oid] is None:
                assert o.status is Status.FILLED and o.reason is None, o
                assert self.filled[oid] == o.quantity_minor
            else:
                assert (o.status, o.reason) == (Status.CANCELLED, self.end_reason[oid]), o
                assert self.filled[oid] < o.quantity_minor


TradingMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=50, deadline=None)
TestTradingMachine = TradingMachine.TestCase


def test_the_checks_the_machine_relies_on_do_reject_violations():
    with pytest.raises(InvariantViolation):
        check_slice(Slice.whole(SYM, [3_000_001], [3_000_000]))
    with pytest.raises(InvariantViolation):
        check_conservation({"USD": 10, "BTC": 5}, {"USD": 10, "BTC": 6})
    with pytest.raises(InvariantViolation):
        lc.check_order(Order("o", "a", SYM, BUY, 10, 3_000_000, status=Status.FILLED))
