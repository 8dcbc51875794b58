"""The campaign's clients: concurrent, careful, and keeping a record of every
operation they send.

Every operation carries its own identity: deposits and withdrawals an
`idempotency-key`, transfers, orders, holds, transactions and batches their
own id. A careful client sends it again, with the same identity, after a
timeout, a connection error or a 5xx, for as long as it may (backing off
between attempts, and moving to another ingress of a cluster on a
connection error); a 4xx is an answer and is never retried.

A hold's capture and void are keyed by the hold: sent again after a lost
answer, they may meet their own first attempt's outcome (409 naming the
hold's status), which the audit tells from the hold's final state. Each
hold gets one capture or void at a time: another only after a capture its
target refused (the hold is still HELD). Expiring holds expire within
seconds, so their timers fire during the load, under faults, and before
the audit's quiescence (a timer not yet due is an invocation in flight).

Deposits and withdrawals carry amounts unique in the run (a counter in the
last minor digits), so the audit can find each one in an account's history
and count how often it applied.

The workers run in an asyncio loop in a thread of their own (`run_in_thread`),
so the main thread is free to kill and restart processes meanwhile.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx

from campaign import expect
from api.client import ApiError, AsyncLedgerClient

ATTEMPT_TIMEOUT_S = 10.0
BACKOFF_FIRST_S = 0.05
BACKOFF_MAX_S = 1.0
# Bounds besides time: attempts per operation, operations per run.
MAX_ATTEMPTS = 10_000
MAX_OPERATIONS = 1_000_000
SYMBOL = "BTC-USD"
BASE, QUOTE = expect.SYMBOL_ASSETS[SYMBOL]
PRICE_FLOOR = 1000  # whole USD; the stack is fresh, so the band is ours alone
BAND_TICKS = 6
LOT_MINOR = 1_000_000  # 0.01 BTC
ASSETS = ("USD", "BTC")
# Amounts in minor units; each deposit and withdrawal adds the run's counter.
DEPOSIT_BASE = {"USD": 1_000_00, "BTC": 50_000_000}
WITHDRAW_BASE = {"USD": 50_00, "BTC": 1_000_000}
# Transfers, holds, transactions' legs and batch items.
TRANSFER_RANGE = {"USD": (10_00, 60_00), "BTC": (100_000, 3_000_000)}
INITIAL = {"USD": 10_000_00, "BTC": 300_000_000}
# The house: the other side of exchanges, the payee of transactions' fees.
HOUSE_INITIAL = {"USD": 100_000_00, "BTC": 3_000_000_000}
FEE_BPS = 30  # a fee-style transaction's fee, at least one minor unit
# A share of withdrawals, transfers, orders, holds, transactions and batch
# items asks for more than any account holds, so the refusal paths (409,
# FAILED, REJECTED) run under faults too.
OVERSIZE_MINOR = 10**14
OVERSIZE_SHARE = 0.05
# Shares that name the frozen account: as a target (a transfer or batch
# item COMPENSATED, a transaction REJECTED, a hold's capture refused) or as
# a source (a hold REJECTED, a batch item FAILED).
TO_FROZEN_SHARE = 0.05
FROM_FROZEN_SHARE = 0.03
# Holds: how many expire (and how soon), and where a capture sends the money.
EXPIRING_SHARE = 0.4
EXPIRES_IN_S = (1, 6)
HOLD_TARGETS = (("account", 45), ("payout", 45), ("frozen", 10))
BATCH_ITEMS = (20, 40)

# Which 4xx answers each kind may legitimately get; anything else is a finding.
EXPECTED_REFUSALS = {
    "open": frozenset(), "freeze": frozenset(), "deposit": frozenset(),
    "withdraw": frozenset({409}), "transfer": frozenset({409}), "place": frozenset({409}),
    "cancel": frozenset({404, 409}), "hold": frozenset({409}), "capture": frozenset({409}),
    "void": frozenset({409}), "transaction": frozenset({409}), "batch": frozenset(),
}
# restate's ingress answers this itself, without making an invocation, for a
# service it does not know. A cluster node that has just come back does so
# for a moment for our registered services, until it has caught up with the
# deployment: not an answer of the ledger, so sent again (to another node).
_UNKNOWN_SERVICE = re.compile(r"service '[^']*' not found")


def ingress_not_ready(error: ApiError) -> bool:
    return error.status_code == 404 and bool(_UNKNOWN_SERVICE.search(error.message))


# Relative weights of the operation kinds the workers send.
MIX = (("deposit", 16), ("withdraw", 12), ("transfer", 18), ("place", 24), ("cancel", 8),
       ("hold", 10), ("capture", 6), ("void", 3), ("transaction", 8), ("batch", 2))
LETTERS = {"open": "n", "freeze": "z", "deposit": "d", "withdraw": "w", "transfer": "t", "place": "o",
           "cancel": "x", "hold": "h", "capture": "k", "void": "v", "transaction": "p", "batch": "b"}


class Leg(NamedTuple):
    """A transaction's leg, as the campaign sent it."""

    account: str
    asset: str
    amount_minor: int
    direction: str  # "DEBIT" or "CREDIT"


class Item(NamedTuple):
    """A batch's transfer, as the campaign sent it."""

    id: str
    source: str
    target: str
    asset: str
    amount_minor: int


@dataclass
class Op:
    """One operation as its client saw it; `key` is its identity (the
    idempotency-key, or the transfer, order, hold, transaction or batch id;
    a capture's or void's own key names the operation only, the request
    names its `hold`)."""

    seq: int
    kind: str
    key: str
    account: str
    phase: str = "load"
    asset: str | None = None
    amount_minor: int | None = None
    target: str | None = None
    side: str | None = None
    quantity_minor: int | None = None
    price: int | None = None  # whole quote units
    tif: str | None = None
    order: str | None = None  # the order a cancel is for
    hold: str | None = None  # the hold a capture or void is for
    expires_in_s: int | None = None
    legs: tuple[Leg, ...] = ()
    items: tuple[Item, ...] = ()
    sent_at: float = 0.0
    answered_at: float | None = None
    attempts: int = 0
    transport_errors: int = 0
    server_errors: int = 0
    not_ready_answers: int = 0  # "service not found" from an ingress still catching up
    outcome: str | None = None  # "applied" (2xx), "refused" (4xx), None (no answer yet)
    status_code: int | None = None
    message: str | None = None
    answer: Any = None
    resolved_by: str | None = None  # how the audit learned the outcome of an unanswered one

    @property
    def acknowledged(self) -> bool:
        return self.outcome is not None and self.resolved_by is None

    def summary(self) -> dict:
        return {k: v for k, v in (
            ("seq", self.seq), ("kind", self.kind), ("key", self.key), ("account", self.account),
            ("target", self.target), ("asset", self.asset), ("amount_minor", self.amount_minor),
            ("order", self.order), ("hold", self.hold), ("expires_in_s", self.expires_in_s),
            ("legs", len(self.legs) or None), ("items", len(self.items) or None),
            ("outcome", self.outcome), ("status_code", self.status_code),
            ("message", self.message), ("attempts", self.attempts), ("resolved_by", self.resolved_by),
        ) if v is not None}


class Workload:
    """`clients` workers sending a random mix of operations on a pool of accounts."""

    def __init__(self, ingress_urls: list[str], *, run_id: str, clients: int = 12,
                 accounts: int = 8, seed: int = 0, attempt_timeout_s: float = ATTEMPT_TIMEOUT_S) -> None:
        if not ingress_urls:
            raise ValueError("no ingress to talk to")
        self.ingress_urls = list(ingress_urls)
        self.run_id = run_id
        self.clients = clients
        self.accounts = [f"c{run_id}-a{i}" for i in range(accounts)]
        self.frozen = f"c{run_id}-frozen"  # transfers to it are compensated
        self.house = f"c{run_id}-house"
        self.rng = random.Random(seed)
        self.attempt_timeout_s = attempt_timeout_s
        self.ops: list[Op] = []
        self.in_flight = 0
        self.answered = 0
        # Set by the main thread: stop sending new operations; give up retrying at.
        self.stop = threading.Event()
        self.give_up_at = math.inf
        self.loaded = threading.Event()  # the accounts are open and funded
        self.finished = threading.Event()
        self.error: BaseException | None = None
        self._seq = 0
        self._live_orders: dict[int, list[str]] = {}
        self._live_holds: dict[int, list[Op]] = {}  # placed HELD, neither captured nor voided yet
        self._holds: dict[str, Op] = {}

    @property
    def audited(self) -> list[str]:
        """Every account the campaign's operations touch, the trading fee account included."""
        return [*self.accounts, self.frozen, self.house, expect.FEE_ACCOUNT]

    # --- running ---------------------------------------------------------------

    def run_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._thread_main, name="campaign-workload", daemon=True)
        thread.start()
        return thread

    def _thread_main(self) -> None:
        try:
            asyncio.run(self.main())
        except BaseException as error:  # noqa: BLE001 - reported to the main thread
            self.error = error
        finally:
            self.finished.set()

    async def main(self) -> None:
        clients = [AsyncLedgerClient(url, timeout_s=self.attempt_timeout_s,
                                     max_connections=max(self.clients, 8))
                   for url in self.ingress_urls]
        try:
            await self.setup(clients)
            self.loaded.set()
            await asyncio.gather(*(self._worker(w, clients) for w in range(self.clients)))
        finally:
            for client in clients:
                await client.aclose()

    async def setup(self, clients: list[AsyncLedgerClient]) -> None:
        """Opens every account (and freezes one), funds each: these deposits
        are operations like any other and are audited."""
        setup_ops = [self._new("open", name, phase="setup")
                     for name in (*self.accounts, self.frozen, self.house)]
        await asyncio.gather(*(self.execute(op, clients, 0) for op in setup_ops))
        freeze = self._new("freeze", self.frozen, phase="setup")
        await self.execute(freeze, clients, 0)
        deposits = [self._deposit(name, asset, INITIAL[asset], phase="setup")
                    for name in self.accounts for asset in ASSETS]
        deposits += [self._deposit(self.house, asset, HOUSE_INITIAL[asset], phase="setup") for asset in ASSETS]
        await asyncio.gather(*(self.execute(op, clients, i) for i, op in enumerate(deposits)))
        unanswered = [op.summary() for op in (*setup_ops, freeze, *deposits)
                      if op.outcome != "applied"]
        if unanswered:
            raise RuntimeError(f"the campaign's set-up did not go through: {unanswered[:5]}")

    async def _worker(self, worker: int, clients: list[AsyncLedgerClient]) -> None:
        rng = random.Random(self.rng.random())
        self._live_orders[worker], self._live_holds[worker] = [], []
        while not self.stop.is_set() and self._seq < MAX_OPERATIONS:
            op = self._choose(worker, rng)
            await self.execute(op, clients, worker)
            if op.kind == "place" and op.outcome == "applied" and op.answer.status in expect.LIVE:
                self._live_orders[worker].append(op.key)
            if op.kind == "hold" and op.outcome == "applied" and op.answer.status == "HELD":
                self._live_holds[worker].append(op)
            if op.kind == "capture" and op.outcome == "refused" and target_refused_capture(op.message):
                self._live_holds[worker].append(self._holds[op.hold])  # still HELD: void it later

    # --- operations --------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _new(self, kind: str, account: str, *, phase: str = "load", **fields: Any) -> Op:
        seq = self._next_seq()
        op = Op(seq=seq, kind=kind, key=f"c{self.run_id}-{LETTERS[kind]}{seq}", account=account,
                phase=phase, **fields)
        self.ops.append(op)
        return op

    def _deposit(self, account: str, asset: str, base_minor: int, phase: str = "load") -> Op:
        op = self._new("deposit", account, phase=phase, asset=asset)
        op.amount_minor = base_minor + op.seq  # unique in the run: findable in the history
        return op

    def _choose(self, worker: int, rng: random.Random) -> Op:
        kind = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX])[0]
        account = rng.choice(self.accounts)
        asset = rng.choice(ASSETS)
        if kind == "cancel":
            live = self._live_orders[worker]
            if live:
                return self._new("cancel", account, order=live.pop(rng.randrange(len(live))))
            kind = "deposit"
        if kind in ("capture", "void"):
            held = self._live_holds[worker]
            if held:
                return self._end_hold(kind, held.pop(rng.randrange(len(held))), rng)
            kind = "hold"
        if kind == "deposit":
            return self._deposit(account, asset, DEPOSIT_BASE[asset])
        oversize = rng.random() < OVERSIZE_SHARE
        if kind == "withdraw":
            op = self._new("withdraw", account, asset=asset)
            op.amount_minor = (OVERSIZE_MINOR if oversize else WITHDRAW_BASE[asset]) + op.seq
            return op
        if kind == "transfer":
            # To the frozen account: debited, refused, refunded (COMPENSATED).
            target = self.frozen if rng.random() < TO_FROZEN_SHARE else self._other(account, rng)
            return self._new("transfer", account, target=target, asset=asset,
                             amount_minor=OVERSIZE_MINOR if oversize else _amount(asset, rng))
        if kind == "hold":
            return self._hold(account, asset, oversize, rng)
        if kind == "transaction":
            return self._transaction(account, oversize, rng)
        if kind == "batch":
            return self._batch(rng)
        lots = OVERSIZE_MINOR // LOT_MINOR if oversize else rng.randint(1, 5)
        return self._new("place", account, side=rng.choice(("BUY", "SELL")),
                         quantity_minor=LOT_MINOR * lots,
                         price=PRICE_FLOOR + rng.randint(0, BAND_TICKS),
                         tif=rng.choice(("GTC", "GTC", "GTC", "IOC")))

    def _other(self, account: str, rng: random.Random) -> str:
        return rng.choice([a for a in self.accounts if a != account])

    def _hold(self, source: str, asset: str, oversize: bool, rng: random.Random) -> Op:
        """A hold: REJECTED when oversize or on the frozen source; captured to
        another account, paid out (no target) or refused by the frozen target."""
        if rng.random() < FROM_FROZEN_SHARE:
            source = self.frozen
        where = rng.choices([w for w, _ in HOLD_TARGETS], weights=[n for _, n in HOLD_TARGETS])[0]
        target = {"account": self._other(source, rng), "payout": None,
                  "frozen": self.frozen if source != self.frozen else None}[where]  # never the source
        expires_in_s = rng.randint(*EXPIRES_IN_S) if rng.random() < EXPIRING_SHARE else None
        op = self._new("hold", source, target=target, asset=asset, expires_in_s=expires_in_s,
                       amount_minor=OVERSIZE_MINOR if oversize else _amount(asset, rng))
        self._holds[op.key] = op
        return op

    def _end_hold(self, kind: str, hold: Op, rng: random.Random) -> Op:
        """A capture (all by default, all named, or a part) or a void of `hold`."""
        amount_minor = None
        if kind == "capture":
            part = rng.randint(1, hold.amount_minor - 1) if hold.amount_minor > 1 else None
            amount_minor = rng.choice((None, hold.amount_minor, part))
        return self._new(kind, hold.account, hold=hold.key, target=hold.target, asset=hold.asset,
                         amount_minor=amount_minor)

    def _transaction(self, payer: str, oversize: bool, rng: random.Random) -> Op:
        """Fee-style (payer to payee, a fee to the house) or exchange-style
        (payer and house swap assets); REJECTED when the payer is short or a
        leg names the frozen account."""
        if rng.random() < 0.5:
            asset = rng.choice(ASSETS)
            amount = OVERSIZE_MINOR if oversize else _amount(asset, rng)
            fee = max(1, amount * FEE_BPS // 10_000)
            payee = self.frozen if rng.random() < TO_FROZEN_SHARE else self._other(payer, rng)
            legs = (Leg(payer, asset, amount, "DEBIT"), Leg(payee, asset, amount - fee, "CREDIT"),
                    Leg(self.house, asset, fee, "CREDIT"))
        else:
            gives, gets = rng.sample(ASSETS, 2)
            given = OVERSIZE_MINOR if oversize else _amount(gives, rng)
            got = _amount(gets, rng)
            receiver = self.frozen if rng.random() < TO_FROZEN_SHARE else payer
            legs = (Leg(payer, gives, given, "DEBIT"), Leg(self.house, gives, given, "CREDIT"),
                    Leg(self.house, gets, got, "DEBIT"), Leg(receiver, gets, got, "CREDIT"))
        return self._new("transaction", payer, legs=legs)

    def _batch(self, rng: random.Random) -> Op:
        """A few dozen transfers among the accounts; some FAILED (oversize, or
        from the frozen account), some COMPENSATED (to the frozen account)."""
        items = []
        for i in range(rng.randint(*BATCH_ITEMS)):
            source, asset = rng.choice(self.accounts), rng.choice(ASSETS)
            target = self._other(source, rng)
            draw = rng.random()
            if draw < FROM_FROZEN_SHARE:
                source = self.frozen
            elif draw < FROM_FROZEN_SHARE + TO_FROZEN_SHARE:
                target = self.frozen
            amount = OVERSIZE_MINOR if rng.random() < OVERSIZE_SHARE else _amount(asset, rng)
            items.append(Item(f"i{i}", source, target, asset, amount))
        return self._new("batch", items[0].source, items=tuple(items))

    def request(self, op: Op, ledger: AsyncLedgerClient):
        """The call `op` makes; the same request, with the same identity, on every attempt."""
        if op.kind == "open":
            return ledger.open(op.account)
        if op.kind == "freeze":
            return ledger.freeze(op.account, idempotency_key=op.key)
        if op.kind in ("deposit", "withdraw"):
            call = ledger.deposit if op.kind == "deposit" else ledger.withdraw
            return call(op.account, op.asset, expect.text(op.amount_minor, op.asset),
                        idempotency_key=op.key)
        if op.kind == "transfer":
            return ledger.transfer(op.key, op.account, op.target, op.asset,
                                   expect.text(op.amount_minor, op.asset))
        if op.kind == "place":
            return ledger.place_order(op.key, op.account, SYMBOL, op.side,
                                      expect.text(op.quantity_minor, BASE), str(op.price), op.tif)
        if op.kind == "cancel":
            return ledger.cancel_order(op.order)
        return self._request_new_kinds(op, ledger)

    @staticmethod
    def _request_new_kinds(op: Op, ledger: AsyncLedgerClient):
        if op.kind == "hold":
            return ledger.place_hold(op.key, op.account, op.asset, expect.text(op.amount_minor, op.asset),
                                     target=op.target, expires_in_s=op.expires_in_s)
        if op.kind == "capture":
            return ledger.capture_hold(op.hold, None if op.amount_minor is None
                                       else expect.text(op.amount_minor, op.asset))
        if op.kind == "void":
            return ledger.void_hold(op.hold)
        if op.kind == "transaction":
            return ledger.post_transaction(op.key, [
                {"account": leg.account, "asset": leg.asset, "direction": leg.direction,
                 "amount": expect.text(leg.amount_minor, leg.asset)} for leg in op.legs])
        if op.kind == "batch":
            return ledger.run_batch(op.key, [
                {"id": item.id, "source": item.source, "target": item.target, "asset": item.asset,
                 "amount": expect.text(item.amount_minor, item.asset)} for item in op.items])
        raise ValueError(op.kind)

    async def execute(self, op: Op, clients: list[AsyncLedgerClient], preferred: int,
                      give_up_at: float | None = None) -> None:
        """Sends `op` until it is answered (2xx or 4xx) or retrying must stop.
        Sent again, with the same identity: after a timeout or a connection
        error, a 5xx, or an ingress saying it does not know our service yet."""
        self.in_flight += 1
        op.sent_at = op.sent_at or time.monotonic()
        at = preferred % len(clients)
        backoff = BACKOFF_FIRST_S
        try:
            for _ in range(MAX_ATTEMPTS):
                op.attempts += 1
                try:
                    answer = await self.request(op, clients[at])
                except ApiError as error:
                    op.message = f"{error.status_code}: {error.message}"
                    if ingress_not_ready(error):
                        op.not_ready_answers += 1
                        at = (at + 1) % len(clients)
                    elif error.status_code < 500:
                        self._answered(op, "refused", error.status_code, error.message, None)
                        return
                    else:
                        op.server_errors += 1
                except httpx.HTTPError as error:
                    op.transport_errors += 1
                    op.message = f"{type(error).__name__}: {error}"
                    at = (at + 1) % len(clients)  # a cluster: try another node's ingress
                else:
                    self._answered(op, "applied", 200, None, answer)
                    return
                limit = self.give_up_at if give_up_at is None else give_up_at
                if time.monotonic() >= limit:
                    return  # unanswered: the audit learns its outcome from the state
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, BACKOFF_MAX_S)
        finally:
            self.in_flight -= 1

    def _answered(self, op: Op, outcome: str, status: int, message: str | None, answer: Any) -> None:
        op.outcome, op.status_code, op.message, op.answer = outcome, status, message, answer
        op.answered_at = time.monotonic()
        self.answered += 1


def _amount(asset: str, rng: random.Random) -> int:
    low, high = TRANSFER_RANGE[asset]
    return rng.randint(low, high)


# `hold h-1 is EXPIRED; only a HELD hold can be captured`
_HOLD_IS = re.compile(r"\bhold \S+ is ([A-Z]+);")
# `hold h-1: the capture was refused: account b is frozen; the hold is still HELD`
_STILL_HELD = "the hold is still HELD"


def target_refused_capture(message: str | None) -> bool:
    return _STILL_HELD in (message or "")


def hold_refusal_status(message: str | None) -> str | None:
    """The hold status a capture's or void's refusal names: HELD when the
    target refused the capture, else the status that forbade it."""
    if target_refused_capture(message):
        return "HELD"
    found = _HOLD_IS.search(message or "")
    return found.group(1) if found else None


def parse_refusal_status(message: str | None, statuses: frozenset[str]) -> str | None:
    """The status a refusal's message names (`transfer t-1 FAILED: ...`)."""
    for word in (message or "").replace(":", " ").split():
        if word in statuses:
            return word
    return None

