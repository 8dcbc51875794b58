"""What settling a submit's fills asks of each account, decided in one
place: the steps, grouped per account, so that the saga makes one call per
account however many fills the submit made.

Every fill moves both legs out of holds placed when the orders were
accepted: the seller's held base goes to the buyer, the buyer's held quote
pays the seller, fees are kept from what each receives and paid to the fee
account. A maker order the fill ends gives back the rest of its hold; the
taker gives back what the book says its hold no longer needs. Operation ids
are made of the trade id (or order id) and the step, so a retry or a replay
never applies a step twice, whichever call carries it.

No step can be refused: holds cover every fill by construction (the book
tracks what each order's hold has paid), and receiving is never refused.
"""

from __future__ import annotations

from collections import defaultdict

from ledger import account as acct
from ledger.book import Fill
from ledger.operations import op_id
from ledger.steps import Step
from ledger.symbols import Side, Symbol


def order_hold(order_id: str) -> str:
    """The key of an order's hold in its account."""
    return acct.hold_key("order", order_id)


def final_release_op(order_id: str) -> str:
    # One id for every path that ends an order: at most one final release.
    return op_id("order", order_id, "final-release")


def steps_by_account(sym: Symbol, fills: list[Fill], fee_account: str,
                     taker: tuple[str, str], taker_release_minor: int | None) -> dict[str, list[Step]]:
    """Each account's steps, in the order they apply. `taker` is (account,
    order id); `taker_release_minor` is what its hold gives back, if the
    submit ended it."""
    steps: dict[str, list[Step]] = defaultdict(list)
    for f in fills:
        assert f.symbol == sym.code and f.buyer != f.seller, f
        step = lambda name: op_id("trade", f.trade_id, name)  # noqa: E731
        steps[f.seller].append(Step(step("seller-capture"), "capture", f.quantity_minor, hold=order_hold(f.seller_order)))
        if f.quote_minor:  # a fill worth less than one minor unit of quote moves no quote
            steps[f.buyer].append(Step(step("buyer-capture"), "capture", f.quote_minor, hold=order_hold(f.buyer_order)))
        for who, asset, amount, name in (
            (f.seller, sym.quote.code, f.quote_minor - f.seller_fee_minor, "seller-receive"),
            (f.buyer, sym.base.code, f.quantity_minor - f.buyer_fee_minor, "buyer-receive"),
            (fee_account, sym.quote.code, f.seller_fee_minor, "seller-fee"),
            (fee_account, sym.base.code, f.buyer_fee_minor, "buyer-fee"),
        ):
            if amount > 0:
                steps[who].append(Step(step(name), "receive", amount, asset=asset, ref=f.trade_id))
        if f.maker_release_minor:
            maker, maker_order = ((f.buyer, f.buyer_order) if f.taker_side is Side.SELL
                                  else (f.seller, f.seller_order))
            steps[maker].append(Step(final_release_op(maker_order), "release", f.maker_release_minor,
                                     hold=order_hold(maker_order)))
    if taker_release_minor:
        account, order_id = taker
        steps[account].append(Step(final_release_op(order_id), "release", taker_release_minor,
                                   hold=order_hold(order_id)))
    return dict(steps)
