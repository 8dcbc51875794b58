"""The audit at quiescence, through the public API alone.

Once no invocation is left in flight (asked of the admin API's SQL
introspection), operations that never got an answer learn their outcome
(deposits and withdrawals are sent again with the same idempotency-key, which
answers the first outcome or applies once now; transfers and orders are read
back by id), and then every account, transfer and order is read and checked:

- exactly once, none lost: each deposit and withdrawal (unique amounts) is
  found in its account's history as often as it was acknowledged applied
  (once) or refused (never); each transfer's debit, credit and refund and each
  order's hold appear as often as its final status says; each trade pays
  buyer, seller and the fee account once. Fewer is `lost`, more `duplicated`.
- invariants (`violations`): every balance equals what the acknowledged
  operations and recorded fills add up to, fees included; conservation per
  asset over all accounts; no negative balance; reserved equal to the live
  orders' holds; every saga terminal (transfers COMPLETED, FAILED or
  COMPENSATED; no order PENDING, each order's status agreeing with its
  fills, each trade recorded by both its orders); answers agreeing with the
  state; no refusal a kind should never get; no invocation stuck or paused.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from campaign import expect
from campaign.workload import (
    EXPECTED_REFUSALS, SYMBOL, Op, Workload, ingress_not_ready, parse_refusal_status,
)
from api.client import ApiError, AsyncLedgerClient
from runtime import invocations
from runtime.poll import polls, polls_async

QUIESCENCE_TIMEOUT_S = 180.0
RESOLVE_TIMEOUT_S = 60.0
READ_CONCURRENCY = 16
HISTORY_PAGE = 100
MAX_HISTORY_PAGES = 100_000
_POLL_S = 0.2  # each poll's tries are bounded too (runtime.poll)
_DETAILS_KEPT = 50


@dataclass
class Findings:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    checked: Counter = field(default_factory=Counter)
    quiescence: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "violations": len(self.violations),
            "checked": dict(self.checked),
            "quiescence": self.quiescence,
            "details": {
                "lost": self.lost[:_DETAILS_KEPT],
                "duplicated": self.duplicated[:_DETAILS_KEPT],
                "violations": self.violations[:_DETAILS_KEPT],
            },
        }

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.violations)


# --- quiescence ---------------------------------------------------------------


def wait_quiescent(admin_url: str, timeout_s: float = QUIESCENCE_TIMEOUT_S) -> dict:
    """Polls until no invocation is in flight; answers what it saw. Paused
    invocations never finish on their own: stop waiting for those at once."""
    started = time.monotonic()
    last: dict[str, int] | str = "no answer"
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        for _ in polls(timeout_s, _POLL_S):
            try:
                last = invocations.counts_by_status(admin_url, completed=False, client=client)
            except invocations.IntrospectionError as error:
                last = str(error)
                continue
            if not last or set(last) == {"paused"}:
                break
    seen = {"in_flight": last, "waited_s": round(time.monotonic() - started, 2),
            "quiescent": last == {}}
    if last != {}:
        try:
            seen["stuck"] = [s.describe() for s in invocations.stuck_invocations(admin_url)[:20]]
        except invocations.IntrospectionError as error:
            seen["stuck"] = [str(error)]
    return seen


# --- resolving unanswered operations --------------------------------------------


async def resolve_unanswered(workload: Workload, timeout_s: float = RESOLVE_TIMEOUT_S) -> int:
    """Learns the outcome of every operation that never got an answer; answers
    how many there were. Deposits and withdrawals go again with the same
    idempotency-key; transfers and orders are read back (404: never recorded)."""
    pending = [op for op in workload.ops if op.outcome is None]
    if not pending:
        return 0
    clients = [AsyncLedgerClient(url, timeout_s=30.0) for url in workload.ingress_urls]
    give_up_at = time.monotonic() + timeout_s
    gate = asyncio.Semaphore(READ_CONCURRENCY)

    async def resolve(op: Op) -> None:
        async with gate:
            if op.kind in ("deposit", "withdraw", "open", "freeze"):
                await workload.execute(op, clients, op.seq, give_up_at=give_up_at)
                if op.outcome is not None:
                    op.resolved_by = "resend"
                return
            if op.kind == "cancel":
                op.resolved_by = "state"  # the order's own status is what counts
                return
            view = await _read(lambda c: (c.transfer_status if op.kind == "transfer"
                                          else c.order_status)(op.key), clients, give_up_at)
            if isinstance(view, ApiError) and view.status_code == 404:
                op.outcome, op.resolved_by = "never", "state"
            elif view is not None and not isinstance(view, ApiError):
                refused = view.status in ("FAILED", "COMPENSATED", "REJECTED")
                op.outcome, op.answer, op.resolved_by = ("refused" if refused else "applied"), view, "state"

    try:
        await asyncio.gather(*(resolve(op) for op in pending))
    finally:
        for client in clients:
            await client.aclose()
    return len(pending)


async def _read(call, clients: list[AsyncLedgerClient], give_up_at: float) -> Any:
    """A read, retried (on the next ingress) on transport errors, 5xx and an
    ingress that does not know our service yet, until `give_up_at`; a 4xx of
    the ledger is answered as the ApiError; None if no answer came."""
    at = 0
    async for _ in polls_async(_left_s(give_up_at), _POLL_S):
        try:
            return await call(clients[at])
        except ApiError as error:
            if error.status_code < 500 and not ingress_not_ready(error):
                return error
        except httpx.HTTPError:
            pass
        at = (at + 1) % len(clients)
    return None


def _left_s(give_up_at: float) -> float:
    return max(give_up_at - time.monotonic(), 0.0)


# --- the audit ------------------------------------------------------------------


async def audit(workload: Workload, findings: Findings, timeout_s: float = 300.0) -> Findings:
    """Reads everything back and checks it; adds to `findings`."""
    clients = [AsyncLedgerClient(url, timeout_s=30.0) for url in workload.ingress_urls]
    give_up_at = time.monotonic() + timeout_s
    gate = asyncio.Semaphore(READ_CONCURRENCY)

    async def read(call):
        async with gate:
            return await _read(call, clients, give_up_at)

    try:
        accounts = [*workload.accounts, workload.frozen, expect.FEE_ACCOUNT]
        balances = dict(zip(accounts, await asyncio.gather(*(read(lambda c, a=a: c.balance(a))
                                                             for a in accounts))))
        histories = dict(zip(accounts, await asyncio.gather(*(_history(read, a) for a in accounts))))
        transfers = [op for op in workload.ops if op.kind == "transfer"]
        places = [op for op in workload.ops if op.kind == "place"]
        transfer_views = await asyncio.gather(*(read(lambda c, k=op.key: c.transfer_status(k))
                                                for op in transfers))
        orders = await _settled_orders(read, places, give_up_at)
        book = await read(lambda c: c.book(SYMBOL, depth=1))
    finally:
        for client in clients:
            await client.aclose()

    _Checker(workload, findings, balances, histories, dict(zip((op.key for op in transfers), transfer_views)),
             orders, book).run()
    return findings


async def _history(read, account: str) -> list | ApiError | None:
    """Every history entry of `account`, newest first (bounded by page count)."""
    entries: list = []
    before = None
    for _ in range(MAX_HISTORY_PAGES):
        page = await read(lambda c, b=before: c.history(account, limit=HISTORY_PAGE, before=b))
        if page is None or isinstance(page, ApiError):
            return page  # a history read in part would look like lost operations
        entries.extend(page.entries)
        if page.next is None:
            return entries
        before = page.next
    return entries


async def _settled_orders(read, places: list[Op], give_up_at: float) -> dict:
    """Every order's status once each trade is recorded by both its orders (the
    maker's notice is a one-way send, so it may land a moment later)."""
    orders: dict = {}
    async for _ in polls_async(_left_s(give_up_at), _POLL_S):
        views = await asyncio.gather(*(read(lambda c, k=op.key: c.order_status(k)) for op in places))
        orders = dict(zip((op.key for op in places), views))
        legs = Counter(f.trade for v in views if _is_view(v) for f in v.fills)
        if all(n == 2 for n in legs.values()):
            break
    return orders


def _is_view(value: Any) -> bool:
    return value is not None and not isinstance(value, ApiError)


class _Checker:
    """The checks, on what was read; every finding is one line in `findings`."""

    def __init__(self, workload: Workload, findings: Findings, balances: dict, histories: dict,
                 transfers: dict, orders: dict, book: Any) -> None:
        self.w = workload
        self.f = findings
        self.balances = balances
        self.histories = histories
        self.transfers = transfers
        self.orders = orders
        self.book = book
        # expected totals (available + reserved), minor units
        self.expected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.inflow: dict[str, int] = defaultdict(int)
        # (account, kind, asset, amount) and (account, kind, ref, asset) -> count
        self.by_amount: dict[str, Counter] = {}
        self.by_ref: dict[str, Counter] = {}

    def violation(self, text: str) -> None:
        self.f.violations.append(text)

    def count(self, found: int, wanted: int, what: str) -> None:
        if found < wanted:
            self.f.lost.append(f"{what}: applied {found} times, expected {wanted}")
        elif found > wanted:
            self.f.duplicated.append(f"{what}: applied {found} times, expected {wanted}")

    def _refs(self, account: str, kind: str, ref: str) -> int:
        """History entries of `kind` for `ref` on `account`, in any asset."""
        return sum(n for (k, r, _), n in self.by_ref.get(account, Counter()).items()
                   if k == kind and r == ref)

    def run(self) -> None:
        self.index_histories()
        self.check_answers()
        self.check_deposits_and_withdrawals()
        self.check_transfers()
        self.check_orders_and_trades()
        self.check_balances()

    def index_histories(self) -> None:
        for account, entries in self.histories.items():
            amounts, refs = Counter(), Counter()
            if isinstance(entries, ApiError) and entries.status_code == 404 and account == expect.FEE_ACCOUNT:
                entries = []  # no trade paid a fee yet
            if entries is None or isinstance(entries, ApiError):
                self.violation(f"history of {account} could not be read: {entries}")
                entries = []
            for e in entries:
                if e.asset is not None:
                    amounts[(e.kind, e.asset, expect.minor(e.amount, e.asset))] += 1
                if e.ref is not None:
                    refs[(e.kind, e.ref, e.asset)] += 1
            self.by_amount[account], self.by_ref[account] = amounts, refs
            self.f.checked["history_entries"] += len(entries)

    def check_answers(self) -> None:
        for op in self.w.ops:
            self.f.checked["operations"] += 1
            if op.outcome is None:
                self.violation(f"{op.kind} {op.key} never answered, even when asked again: "
                               f"{op.message}")
            elif op.outcome == "refused" and op.status_code not in EXPECTED_REFUSALS[op.kind] \
                    and op.resolved_by != "state":
                self.violation(f"{op.kind} {op.key} answered {op.status_code}: {op.message}")

    def check_deposits_and_withdrawals(self) -> None:
        for op in self.w.ops:
            if op.kind not in ("deposit", "withdraw"):
                continue
            self.f.checked[f"{op.kind}s"] += 1
            if op.outcome is None:
                continue  # its outcome is unknown: already a violation (check_answers)
            found = self.by_amount.get(op.account, Counter())[(op.kind, op.asset, op.amount_minor)]
            wanted = 1 if op.outcome == "applied" else 0
            self.count(found, wanted, f"{op.kind} {op.key} of {op.amount_minor} {op.asset} "
                                      f"on {op.account} ({op.outcome}, {op.resolved_by or 'answered'})")
            if op.outcome == "applied":
                sign = 1 if op.kind == "deposit" else -1
                self.expected[op.account][op.asset] += sign * op.amount_minor
                self.inflow[op.asset] += sign * op.amount_minor

    def check_transfers(self) -> None:
        for op in self.w.ops:
            if op.kind != "transfer":
                continue
            self.f.checked["transfers"] += 1
            view = self.transfers.get(op.key)
            if isinstance(view, ApiError) and view.status_code == 404:
                status = None
            elif _is_view(view):
                status = view.status
            else:
                self.violation(f"transfer {op.key}: status could not be read: {view}")
                continue
            if status is None and op.outcome in ("applied", "refused"):
                self.f.lost.append(f"transfer {op.key} answered {op.status_code} but is not recorded")
            if status is not None and status not in expect.TRANSFER_TERMINAL:
                self.violation(f"transfer {op.key} not terminal: {status}")
            if op.outcome == "applied" and op.resolved_by is None and status != "COMPLETED":
                self.violation(f"transfer {op.key} answered COMPLETED, now {status}")
            if op.outcome == "refused" and op.resolved_by is None:
                named = parse_refusal_status(op.message, expect.TRANSFER_TERMINAL)
                if named != status:
                    self.violation(f"transfer {op.key} answered {named} ({op.message}), now {status}")
            debits, credits, refunds = {
                "COMPLETED": (1, 1, 0), "COMPENSATED": (1, 0, 1),
            }.get(status, (0, 0, 0))
            src, dst = self.by_ref.get(op.account, Counter()), self.by_ref.get(op.target, Counter())
            self.count(src[("debit", op.key, op.asset)], debits, f"transfer {op.key} debit")
            self.count(dst[("credit", op.key, op.asset)], credits, f"transfer {op.key} credit")
            self.count(src[("refund", op.key, op.asset)], refunds, f"transfer {op.key} refund")
            if status == "COMPLETED":
                self.expected[op.account][op.asset] -= op.amount_minor
                self.expected[op.target][op.asset] += op.amount_minor

    def check_orders_and_trades(self) -> None:
        fills_by_trade: dict[str, list] = defaultdict(list)
        live_holds: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for op in self.w.ops:
            if op.kind == "cancel" and op.outcome == "applied" and op.resolved_by is None:
                after = self.orders.get(op.order)
                if _is_view(after) and after.status != "CANCELLED":
                    self.violation(f"cancel {op.key} of {op.order} answered, order now {after.status}")
            if op.kind != "place":
                continue
            self.f.checked["orders"] += 1
            view = self.orders.get(op.key)
            if isinstance(view, ApiError) and view.status_code == 404:
                if op.outcome in ("applied", "refused"):
                    self.f.lost.append(f"order {op.key} answered {op.status_code} but is not recorded")
                self.count(self._refs(op.account, "reserve", op.key), 0, f"order {op.key} hold")
                continue
            if not _is_view(view):
                self.violation(f"order {op.key}: status could not be read: {view}")
                continue
            if view.status not in expect.ORDER_TERMINAL_OR_LIVE:
                self.violation(f"order {op.key} not settled: {view.status}")
            if not expect.status_agrees_with_fills(view):
                self.violation(f"order {op.key}: status {view.status} disagrees with its fills")
            if op.outcome == "refused" and op.resolved_by is None and view.status != "REJECTED":
                self.violation(f"order {op.key} answered REJECTED, now {view.status}")
            if op.outcome == "applied" and op.resolved_by is None and view.status == "REJECTED":
                self.violation(f"order {op.key} answered {op.answer.status}, now REJECTED")
            base, quote = expect.SYMBOL_ASSETS[view.symbol]
            held_asset = quote if view.side == "BUY" else base
            reserves = self.by_ref.get(op.account, Counter())[("reserve", op.key, held_asset)]
            if reserves > 1 or (view.status != "REJECTED" and reserves != 1):
                self.count(reserves, 1, f"order {op.key} hold")
            if view.status in expect.LIVE:
                asset, held = expect.remaining_hold(view)
                live_holds[view.account][asset] += held
            for f in view.fills:
                fills_by_trade[f.trade].append((view, f))
        self.live_holds = live_holds
        for trade, legs in fills_by_trade.items():
            self.check_trade(trade, legs)
        if _is_view(self.book) and self.book.bids and self.book.asks:
            if expect.minor(self.book.bids[0].price, "USD") >= expect.minor(self.book.asks[0].price, "USD"):
                self.violation(f"book crossed: {self.book}")

    def check_trade(self, trade: str, legs: list) -> None:
        self.f.checked["trades"] += 1
        if sorted(f.role for _, f in legs) != ["MAKER", "TAKER"]:
            self.violation(f"trade {trade} recorded by {[(o.order, f.role) for o, f in legs]}")
            return
        (o1, f1), (o2, f2) = legs
        if (f1.price, f1.quantity) != (f2.price, f2.quantity) or o1.side == o2.side:
            self.violation(f"trade {trade}: legs disagree: {legs}")
            return
        buy, sell = (o1, o2) if o1.side == "BUY" else (o2, o1)
        buy_fill = f1 if o1 is buy else f2
        t = expect.trade_legs(buy, sell, buy_fill)
        base, quote = t["base"], t["quote"]
        self.expected[buy.account][quote] -= t["value"]
        self.expected[buy.account][base] += t["qty"] - t["buyer_fee"]
        self.expected[sell.account][base] -= t["qty"]
        self.expected[sell.account][quote] += t["value"] - t["seller_fee"]
        self.expected[expect.FEE_ACCOUNT][base] += t["buyer_fee"]
        self.expected[expect.FEE_ACCOUNT][quote] += t["seller_fee"]
        receipts = (
            (sell.account, quote, t["value"] - t["seller_fee"], "seller"),
            (buy.account, base, t["qty"] - t["buyer_fee"], "buyer"),
            (expect.FEE_ACCOUNT, quote, t["seller_fee"], "seller fee"),
            (expect.FEE_ACCOUNT, base, t["buyer_fee"], "buyer fee"),
        )
        wanted: Counter = Counter()
        for account, asset, amount, _ in receipts:
            if amount > 0:
                wanted[(account, asset)] += 1
        for (account, asset), n in wanted.items():
            found = self.by_ref.get(account, Counter())[("receive", trade, asset)]
            self.count(found, n, f"trade {trade} pays {account} {asset}")

    def check_balances(self) -> None:
        totals: dict[str, int] = defaultdict(int)
        for account, view in self.balances.items():
            if isinstance(view, ApiError) and view.status_code == 404 and account == expect.FEE_ACCOUNT:
                continue
            if not _is_view(view):
                self.violation(f"balance of {account} could not be read: {view}")
                continue
            self.f.checked["accounts"] += 1
            for asset in sorted(set(view.balances) | set(self.expected[account])):
                available, reserved = view.minor(asset), view.minor(asset, "reserved")
                totals[asset] += available + reserved
                if available < 0 or reserved < 0:
                    self.violation(f"{account} {asset}: negative balance {available} / {reserved}")
                want = self.expected[account][asset]
                if available + reserved != want:
                    self.violation(f"{account} {asset}: holds {available + reserved}, the acknowledged "
                                   f"operations and fills add up to {want}")
                holds = self.live_holds.get(account, {}).get(asset, 0)
                if reserved != holds:
                    self.violation(f"{account} {asset}: reserved {reserved}, live orders hold {holds}")
        for asset in sorted(set(totals) | set(self.inflow)):
            if totals[asset] != self.inflow[asset]:
                self.violation(f"{asset} not conserved: accounts hold {totals[asset]}, "
                               f"net inflow {self.inflow[asset]}")


def check_quiescence(findings: Findings, seen: dict) -> None:
    findings.quiescence = seen
    if not seen.get("quiescent"):
        findings.violations.append(f"invocations still in flight or stuck at the audit: {seen['in_flight']}"
                                   f"{''.join(chr(10) + '  ' + s for s in seen.get('stuck', []))}")
