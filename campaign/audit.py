"""The audit at quiescence, through the public API alone.

Once no invocation is left in flight (asked of the admin API's SQL
introspection), operations that never got an answer learn their outcome
(deposits and withdrawals are sent again with the same idempotency-key, which
answers the first outcome or applies once now; transfers, orders, holds,
transactions and batches are read back by id), and then every account and
every saga's record is read (a record still PENDING is read again until
final) and checked with the audit's own arithmetic, never the ledger's:

- exactly once, none lost: each deposit and withdrawal (unique amounts) is
  found in its account's history as often as it was acknowledged applied
  (once) or refused (never); each transfer's debit, credit and refund, each
  order's hold, each hold's reserve, capture, restore, release and credit,
  each transaction leg's debit, credit and refund and each batch item's
  debit, credit and refund appear as often as the final status says (a
  hold's and a transaction's by its record's status, a batch item's by its
  result); each trade pays buyer, seller and the fee account once. Fewer
  is `lost`, more `duplicated`.
- invariants (`violations`): every balance equals what the operations'
  final outcomes add up to (deposits, withdrawals, COMPLETED transfers,
  recorded fills and fees, CAPTURED holds, POSTED transactions, COMPLETED
  batch items; a capture without a target pays out of the ledger);
  conservation per asset over all accounts; no negative balance; reserved
  equal to the live holds of every kind (live orders' and HELD holds');
  every saga terminal (no transfer, order, hold, transaction or batch
  PENDING; no HELD hold past its expiry); records echoing what was asked;
  refusals the audit expects (the frozen account, an oversize amount) and
  answers agreeing with the final state; no refusal a kind should never
  get; no invocation stuck or paused.
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
    EXPECTED_REFUSALS, OVERSIZE_MINOR, SYMBOL, Op, Workload, hold_refusal_status, ingress_not_ready,
    parse_refusal_status,
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
# The kinds read back by their own id, and how: the client's status call.
STATUS_CALLS = {"transfer": "transfer_status", "place": "order_status", "hold": "hold_status",
                "transaction": "transaction_status", "batch": "batch_status"}
REFUSED_STATUSES = frozenset({"FAILED", "COMPENSATED", "REJECTED"})
HOLD_FINAL = frozenset({"HELD", "CAPTURED", "VOIDED", "EXPIRED", "REJECTED"})
TRANSACTION_FINAL = frozenset({"POSTED", "REJECTED"})
BATCH_ITEM_STATUSES = frozenset({"COMPLETED", "FAILED", "COMPENSATED"})


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
    idempotency-key; transfers, orders, holds, transactions and batches are
    read back (404: never recorded); cancels, captures and voids are judged
    by the state of what they were for."""
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
            if op.kind in ("cancel", "capture", "void"):
                op.resolved_by = "state"  # the order's or hold's own status is what counts
                return
            view = await _read_final(_status_call(op), clients, give_up_at)
            if isinstance(view, ApiError) and view.status_code == 404:
                op.outcome, op.resolved_by = "never", "state"
            elif _is_view(view) and view.status != "PENDING":
                refused = view.status in REFUSED_STATUSES
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


async def _read_final(call, clients: list[AsyncLedgerClient], give_up_at: float) -> Any:
    """A record's status, read again while it is PENDING, until `give_up_at`
    (then the PENDING view is answered, and found not terminal)."""
    view = None
    async for _ in polls_async(_left_s(give_up_at), _POLL_S):
        view = await _read(call, clients, give_up_at)
        if not (_is_view(view) and view.status == "PENDING"):
            break
    return view


def _status_call(op: Op):
    name = STATUS_CALLS[op.kind]
    return lambda client: getattr(client, name)(op.key)


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

    async def read_final(op: Op):
        async with gate:
            return op.key, await _read_final(_status_call(op), clients, give_up_at)

    try:
        accounts = workload.audited
        balances = dict(zip(accounts, await asyncio.gather(*(read(lambda c, a=a: c.balance(a))
                                                             for a in accounts))))
        histories = dict(zip(accounts, await asyncio.gather(*(_history(read, a) for a in accounts))))
        records = {kind: dict(await asyncio.gather(*(read_final(op) for op in workload.ops
                                                     if op.kind == kind)))
                   for kind in ("transfer", "hold", "transaction", "batch")}
        places = [op for op in workload.ops if op.kind == "place"]
        orders = await _settled_orders(read, places, give_up_at)
        book = await read(lambda c: c.book(SYMBOL, depth=1))
    finally:
        for client in clients:
            await client.aclose()

    _Checker(workload, findings, balances, histories, records["transfer"], orders, book,
             holds=records["hold"], transactions=records["transaction"], batches=records["batch"]).run()
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
                 transfers: dict, orders: dict, book: Any, *, holds: dict | None = None,
                 transactions: dict | None = None, batches: dict | None = None) -> None:
        self.w = workload
        self.f = findings
        self.balances = balances
        self.histories = histories
        self.transfers = transfers
        self.orders = orders
        self.book = book
        self.holds = holds or {}
        self.transactions = transactions or {}
        self.batches = batches or {}
        self.now_ms = int(time.time() * 1000)  # read after quiescence: every due timer has fired
        # expected totals (available + reserved), minor units
        self.expected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.inflow: dict[str, int] = defaultdict(int)
        # what the live holds of every kind (orders', holds') keep: account -> asset -> minor units
        self.live_holds: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        # per account: (kind, asset, amount), (kind, ref, asset) and (kind, ref, asset, amount) -> count
        self.by_amount: dict[str, Counter] = {}
        self.by_ref: dict[str, Counter] = {}
        self.by_entry: dict[str, Counter] = {}

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

    def _found(self, account: str | None, kind: str, ref: str, asset: str, amount_minor: int) -> int:
        """History entries of `kind` for `ref` on `account` moving exactly `amount_minor` of `asset`."""
        return self.by_entry.get(account, Counter())[(kind, ref, asset, amount_minor)]

    def _amounts(self, account: str | None, kind: str, ref: str) -> list[int]:
        """The amounts of `account`'s history entries of `kind` for `ref`, in any asset."""
        return sorted(amount for (k, r, _, amount), n in self.by_entry.get(account, Counter()).items()
                      if k == kind and r == ref for _ in range(n))

    def _must_refuse(self, source: str, amount_minor: int) -> bool:
        """What the audit knows the ledger must refuse to take from `source`:
        anything from the frozen account, or more than any account holds."""
        return source == self.w.frozen or amount_minor >= OVERSIZE_MINOR

    def _record(self, what: str, op: Op, view: Any) -> tuple[bool, Any]:
        """The record read back for `op`: (True, view); (True, None) if it was
        never recorded (lost, if it was answered); (False, None) if it could
        not be read."""
        if isinstance(view, ApiError) and view.status_code == 404:
            if op.outcome in ("applied", "refused"):
                self.f.lost.append(f"{what} {op.key} answered {op.status_code} but is not recorded")
            return True, None
        if _is_view(view):
            return True, view
        self.violation(f"{what} {op.key}: status could not be read: {view}")
        return False, None

    def run(self) -> None:
        self.index_histories()
        self.check_answers()
        self.check_deposits_and_withdrawals()
        self.check_transfers()
        self.check_orders_and_trades()
        self.check_holds()
        self.check_transactions()
        self.check_batches()
        self.check_balances()

    def index_histories(self) -> None:
        for account, entries in self.histories.items():
            amounts, refs, exact = Counter(), Counter(), Counter()
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
                if e.ref is not None and e.asset is not None:
                    exact[(e.kind, e.ref, e.asset, expect.minor(e.amount, e.asset))] += 1
            self.by_amount[account], self.by_ref[account], self.by_entry[account] = amounts, refs, exact
            self.f.checked["history_entries"] += len(entries)

    def check_answers(self) -> None:
        for op in self.w.ops:
            self.f.checked["operations"] += 1
            if op.outcome is None and op.resolved_by != "state":
                # (a cancel, capture or void left unanswered is judged by the state it was for)
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
                self.live_holds[view.account][asset] += held
            for f in view.fills:
                fills_by_trade[f.trade].append((view, f))
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

    # --- holds ------------------------------------------------------------------

    def check_holds(self) -> None:
        endings: dict[str, list[Op]] = defaultdict(list)
        for op in self.w.ops:
            if op.kind in ("capture", "void"):
                endings[op.hold].append(op)
        for op in self.w.ops:
            if op.kind == "hold":
                self.check_hold(op, endings[op.key])

    def check_hold(self, op: Op, endings: list[Op]) -> None:
        """One hold: its record, its entries, the answers of its capture and
        void, and its effect, which its final status alone decides."""
        self.f.checked["holds"] += 1
        readable, view = self._record("hold", op, self.holds.get(op.key))
        if not readable:
            return
        status = "NEVER" if view is None else view.status
        self.f.checked[f"holds_{status.lower()}"] += 1
        captured = expect.minor(view.captured, op.asset) if view is not None else 0
        if view is not None:
            self._check_hold_record(op, view, captured)
        self._check_hold_entries(op, status, captured)
        for ending in endings:
            self._check_hold_ending(op, ending, status, captured)
        self._check_hold_ended_by(op, endings, status, captured)
        if status == "HELD":
            self.live_holds[op.account][op.asset] += op.amount_minor
        elif status == "CAPTURED":
            self.expected[op.account][op.asset] -= captured
            if op.target is None:
                self.inflow[op.asset] -= captured  # a payout: the money leaves the ledger
            else:
                self.expected[op.target][op.asset] += captured

    def _check_hold_record(self, op: Op, view: Any, captured: int) -> None:
        status = view.status
        if status not in HOLD_FINAL:
            self.violation(f"hold {op.key} not terminal: {status}")
        asked = (op.account, op.target, op.asset, op.amount_minor)
        recorded = (view.source, view.target, view.asset, expect.minor(view.amount, view.asset))
        if recorded != asked:
            self.violation(f"hold {op.key} recorded {recorded}, asked {asked}")
        if op.acknowledged and (op.outcome == "refused") != (status == "REJECTED"):
            self.violation(f"hold {op.key} answered {op.status_code} ({op.message}), now {status}")
        if self._must_refuse(op.account, op.amount_minor) and status != "REJECTED":
            self.violation(f"hold {op.key} of {op.amount_minor} on {op.account} should be REJECTED, "
                           f"is {status}")
        if (status == "CAPTURED") != (captured > 0) or captured > op.amount_minor:
            self.violation(f"hold {op.key} is {status} with {captured} of {op.amount_minor} captured")
        if status == "CAPTURED" and op.target == self.w.frozen:
            self.violation(f"hold {op.key} captured to the frozen account {op.target}")
        if op.expires_in_s is None and (view.expires_at_ms is not None or status == "EXPIRED"):
            self.violation(f"hold {op.key} asked no expiry, is {status} expiring at {view.expires_at_ms}")
        if op.expires_in_s is not None and status != "REJECTED" and view.expires_at_ms is None:
            self.violation(f"hold {op.key} asked to expire in {op.expires_in_s}s, has no expiry")
        if status == "HELD" and view.expires_at_ms is not None and view.expires_at_ms <= self.now_ms:
            self.violation(f"hold {op.key} still HELD past its expiry ({view.expires_at_ms} <= {self.now_ms})")

    def _check_hold_entries(self, op: Op, status: str, captured: int) -> None:
        """The source's reserve, captures (each refused one restored), release
        of the rest; the target's credit."""
        key, source, amount = op.key, op.account, op.amount_minor
        reserves = self._amounts(source, "reserve", key)
        self.count(len(reserves), 0 if status in ("REJECTED", "NEVER") else 1, f"hold {key} reserve")
        if set(reserves) - {amount}:
            self.violation(f"hold {key} reserved {reserves}, asked {amount}")
        captures, restores = self._amounts(source, "capture", key), self._amounts(source, "restore", key)
        self.count(len(captures) - len(restores), 1 if status == "CAPTURED" else 0,
                   f"hold {key} capture (captures less restores)")
        if sum(captures) - sum(restores) != captured:
            self.violation(f"hold {key}: captures {captures} less restores {restores} "
                           f"are not the {captured} it captured")
        rest = {"CAPTURED": amount - captured, "VOIDED": amount, "EXPIRED": amount}.get(status, 0)
        releases = self._amounts(source, "release", key)
        self.count(len(releases), 1 if rest else 0, f"hold {key} release")
        if rest and releases and releases != [rest]:
            self.violation(f"hold {key} released {releases}, should give back {rest}")
        if op.target is not None:
            credits = self._amounts(op.target, "credit", key)
            self.count(len(credits), 1 if captured else 0, f"hold {key} credit to {op.target}")
            if captured and credits and credits != [captured]:
                self.violation(f"hold {key} credited {credits}, captured {captured}")

    def _check_hold_ending(self, hold: Op, op: Op, status: str, captured: int) -> None:
        """A capture's or void's answer against the hold's final status."""
        self.f.checked[f"{op.kind}s"] += 1
        own = {"capture": "CAPTURED", "void": "VOIDED"}[op.kind]
        asked = hold.amount_minor if op.amount_minor is None else op.amount_minor
        what = f"{op.kind} {op.key} of hold {hold.key}"
        if not op.acknowledged:
            return  # judged by the hold's final status (_check_hold_ended_by)
        if op.outcome == "applied":
            if status != own or (op.kind == "capture" and captured != asked):
                self.violation(f"{what} answered {own} ({asked}), hold now {status} ({captured} captured)")
            return
        named = hold_refusal_status(op.message)
        self.f.checked[f"{op.kind}s_refused_{(named or 'unnamed').lower()}"] += 1
        if named == "HELD":
            if op.kind != "capture" or hold.target != self.w.frozen:
                self.violation(f"{what} refused by its target {hold.target}, which accepts credits: "
                               f"{op.message}")
        elif named is None or named != status:
            self.violation(f"{what} answered {op.status_code} ({op.message}), hold now {status}")
        elif named == own and op.attempts <= 1:
            self.violation(f"{what} refused on its first attempt as already {own}: {op.message}")
        elif named == own and op.kind == "capture" and captured != asked:
            self.violation(f"{what}: its retry found it CAPTURED, but {captured} captured, asked {asked}")
        elif named not in (own, "EXPIRED"):
            self.violation(f"{what} found it {named}, which none of the campaign's operations made it")

    def _check_hold_ended_by(self, hold: Op, endings: list[Op], status: str, captured: int) -> None:
        """A CAPTURED or VOIDED hold was ended by one of the campaign's
        captures or voids that may have applied, for the amount it asked."""
        kind = {"CAPTURED": "capture", "VOIDED": "void"}.get(status)
        if kind is None:
            return
        candidates = [op for op in endings if op.kind == kind and (
            not op.acknowledged or op.outcome == "applied" or hold_refusal_status(op.message) == status)]
        amounts = {hold.amount_minor if op.amount_minor is None else op.amount_minor for op in candidates}
        if not candidates or (kind == "capture" and captured not in amounts):
            self.violation(f"hold {hold.key} is {status} ({captured} captured), which no {kind} of it "
                           f"that may have applied asked ({sorted(amounts)})")

    # --- transactions ---------------------------------------------------------------

    def check_transactions(self) -> None:
        for op in self.w.ops:
            if op.kind == "transaction":
                self.check_transaction(op)

    def check_transaction(self, op: Op) -> None:
        """Every leg applies iff the transaction is POSTED: a REJECTED one's
        debits that applied are each refunded, and nothing is credited."""
        self.f.checked["transactions"] += 1
        readable, view = self._record("transaction", op, self.transactions.get(op.key))
        if not readable:
            return
        status = "NEVER" if view is None else view.status
        self.f.checked[f"transactions_{status.lower()}"] += 1
        if view is not None:
            self._check_transaction_record(op, view)
        posted = status == "POSTED"
        for (account, asset, amount, direction), n in Counter(op.legs).items():
            what = f"transaction {op.key} {direction.lower()} of {amount} {asset} on {account}"
            if direction == "CREDIT":
                self.count(self._found(account, "credit", op.key, asset, amount), n if posted else 0, what)
                continue
            debits = self._found(account, "debit", op.key, asset, amount)
            refunds = self._found(account, "refund", op.key, asset, amount)
            self.count(debits, n if posted else min(debits, n), what)
            self.count(refunds, 0 if posted else min(debits, n), f"{what}: its refund")
        if posted:
            for account, asset, amount, direction in op.legs:
                self.expected[account][asset] += amount if direction == "CREDIT" else -amount

    def _check_transaction_record(self, op: Op, view: Any) -> None:
        if view.status not in TRANSACTION_FINAL:
            self.violation(f"transaction {op.key} not terminal: {view.status}")
        recorded = [(leg.account, leg.asset, expect.minor(leg.amount, leg.asset), leg.direction)
                    for leg in view.legs]
        if recorded != [tuple(leg) for leg in op.legs]:
            self.violation(f"transaction {op.key} recorded legs {recorded}, asked {list(op.legs)}")
        if op.acknowledged and (op.outcome == "refused") != (view.status == "REJECTED"):
            self.violation(f"transaction {op.key} answered {op.status_code} ({op.message}), now {view.status}")
        names_frozen = any(leg.account == self.w.frozen for leg in op.legs)
        debits_refused = any(self._must_refuse(leg.account, leg.amount_minor)
                             for leg in op.legs if leg.direction == "DEBIT")
        if (names_frozen or debits_refused) and view.status == "POSTED":
            self.violation(f"transaction {op.key} POSTED though a leg names the frozen account or an "
                           f"oversize debit: {list(op.legs)}")

    # --- batches ------------------------------------------------------------------

    def check_batches(self) -> None:
        for op in self.w.ops:
            if op.kind == "batch":
                self.check_batch(op)

    def check_batch(self, op: Op) -> None:
        """A batch counts as its items, each by its own result."""
        self.f.checked["batches"] += 1
        readable, view = self._record("batch", op, self.batches.get(op.key))
        if not readable:
            return
        results: dict[str, str | None] = {}
        if view is not None:
            got = [(r.id, r.status) for r in view.results]
            if view.status != "COMPLETED":
                self.violation(f"batch {op.key} not terminal: {view.status}")
                return
            if [i for i, _ in got] != [item.id for item in op.items]:
                self.violation(f"batch {op.key}: results for {[i for i, _ in got]}, items "
                               f"{[item.id for item in op.items]}")
                return
            if op.acknowledged and op.outcome == "applied" and \
                    [(r.id, r.status) for r in op.answer.results] != got:
                self.violation(f"batch {op.key} answered {op.answer.results}, now {view.results}")
            results = dict(got)
        for item in op.items:
            self.check_batch_item(op.key, item, results.get(item.id))

    def check_batch_item(self, batch: str, item, status: str | None) -> None:
        self.f.checked["batch_items"] += 1
        self.f.checked[f"batch_items_{(status or 'never').lower()}"] += 1
        ref = f"{batch}:{item.id}"
        if status == "COMPLETED" and item.target == self.w.frozen:
            self.violation(f"batch item {ref} COMPLETED to the frozen account")
        if self._must_refuse(item.source, item.amount_minor) and status not in ("FAILED", None):
            self.violation(f"batch item {ref} of {item.amount_minor} from {item.source} should be FAILED, "
                           f"is {status}")
        debits, credits, refunds = {"COMPLETED": (1, 1, 0), "COMPENSATED": (1, 0, 1)}.get(status, (0, 0, 0))
        amount, asset = item.amount_minor, item.asset
        self.count(self._found(item.source, "debit", ref, asset, amount), debits, f"batch item {ref} debit")
        self.count(self._found(item.target, "credit", ref, asset, amount), credits, f"batch item {ref} credit")
        self.count(self._found(item.source, "refund", ref, asset, amount), refunds, f"batch item {ref} refund")
        if status == "COMPLETED":
            self.expected[item.source][asset] -= amount
            self.expected[item.target][asset] += amount

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
                    self.violation(f"{account} {asset}: reserved {reserved}, its live holds (orders' and "
                                   f"HELD holds') keep {holds}")
        for asset in sorted(set(totals) | set(self.inflow)):
            if totals[asset] != self.inflow[asset]:
                self.violation(f"{asset} not conserved: accounts hold {totals[asset]}, "
                               f"net inflow {self.inflow[asset]}")


def check_quiescence(findings: Findings, seen: dict) -> None:
    findings.quiescence = seen
    if not seen.get("quiescent"):
        findings.violations.append(f"invocations still in flight or stuck at the audit: {seen['in_flight']}"
                                   f"{''.join(chr(10) + '  ' + s for s in seen.get('stuck', []))}")
