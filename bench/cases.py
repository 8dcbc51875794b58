"""The measured workloads, their set-up, and the invocation counts.

Account keys: `a0..a{N-1}` (the first `keys` funded in USD and EUR, the
rest of the population only opened), `hot0` (the hot key), `fresh{i}` and
`hist{i}` (deposits on fresh accounts vs accounts holding 10,000 history
entries), `mk{c}`/`tk{c}` (each trading client's maker and taker).
Order books: BTC-EUR holds `book_shallow` resting asks, BTC-USD `book_deep`,
far above the measured bids (which never cross them). The level cases'
book, LEVEL_BOOK, holds bids only: `level_shallow` at SHALLOW_LEVEL_PRICE
and `level_deep` at DEEP_LEVEL_PRICE (the level cases rest their bids
there too), so the two cases share a key and an index head and differ in
the level's depth alone. ETH-USD is the trading floor of the
crossing-trade case.

Holds, transactions and batches move USD between the funded accounts
`a0..a{keys - 1}`, distinct accounts picked at random for each operation
(a transaction's fee goes to a third account, not to one house account,
which would make it a hot-key case); a batch's 1,000 transfers run between
100 such accounts.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench import postgres as pg
from bench.app import LEVEL_BOOK as LEVEL_SYMBOL
from bench.http import CallFailed, RawHttp
from bench.load import Op, run_all
from ledger.money import parse_amount
from runtime import invocations
from runtime.poll import polls_async

SHALLOW_BOOK, DEEP_BOOK, TRADE_BOOK = "BTC-EUR", "BTC-USD", "ETH-USD"
SEED_FUNDS = {"USD": "1000000.00", "EUR": "1000000.00"}
SEED_CHUNK = 1_000  # history records or book orders written per set-up call
LEVEL_BOOK = LEVEL_SYMBOL.code
SHALLOW_LEVEL_PRICE, DEEP_LEVEL_PRICE = "50.00", "40.00"
SETUP_CONCURRENCY = 64


@dataclass(frozen=True)
class Sizes:
    clients: int = 32
    keys: int = 10_000  # no-op keys, and the accounts the main workloads spread over
    accounts_small: int = 1_000
    accounts_big: int = 100_000
    history_accounts: int = 64
    history_entries: int = 10_000
    book_shallow: int = 10
    book_deep: int = 10_000
    level_shallow: int = 10  # orders already resting at SHALLOW_LEVEL_PRICE
    level_deep: int = 10_000  # at DEEP_LEVEL_PRICE
    hot_writers: int = 16  # the rest of the clients read the hot key,
    hot_reads_per_s: float = 50.0  # at this rate in all
    count_ops: int = 64  # operations per invocation count
    batch_items: int = 1_000  # transfers per batch
    batch_accounts: int = 100  # the accounts a batch's transfers run between
    # A batch is a thousand transfers and two hundred calls in flight: two
    # clients keep the machine busy (one's phases overlap the other's),
    # where more cost the endpoint more CPU per batch (measured with 1, 2, 4
    # and 8) and 32 would queue 32,000 transfers and time out.
    batch_clients: int = 2
    pg_batch_clients: int = 8  # Postgres's batches take milliseconds: more connections keep it busy
    batch_count_ops: int = 8  # batches per invocation count


FULL = Sizes()
# About three minutes: the account population stays at the main 10,000 (so
# "1,000 vs 10,000 accounts"), and 8 accounts hold 10,000 history entries
# (compared with 8 fresh ones, so both cases queue alike on their keys).
QUICK = Sizes(accounts_big=10_000, history_accounts=8, count_ops=32, batch_count_ops=4)


def _body(value) -> bytes:
    return json.dumps(value).encode()


def batch_items(rng: random.Random, sizes: Sizes, amount_minor: int = 1) -> list[tuple[str, str, str, int]]:
    """A batch's transfers, (id, source, target, amount in cents): each
    between two distinct accounts of `batch_accounts` funded ones, picked at random."""
    accounts = [f"a{k}" for k in rng.sample(range(sizes.keys), sizes.batch_accounts)]
    return [(f"i{i}", *rng.sample(accounts, 2), amount_minor) for i in range(sizes.batch_items)]


def _batch_body(items: list[tuple[str, str, str, int]]) -> bytes:
    return _body({"transfers": [
        {"id": item_id, "source": source, "target": target, "asset": "USD", "amount": f"{cents / 100:.2f}"}
        for item_id, source, target, cents in items]})


class Workloads:
    """Ops (see bench.load) against one stack's ingress, and its set-up."""

    def __init__(self, http: RawHttp, sizes: Sizes, nonce: str) -> None:
        self.post = http.post
        self.sizes = sizes
        self.nonce = nonce  # order and transfer ids are unique across runs
        self.ids = itertools.count()
        self.rng = random.Random(5)

    # --- ops -------------------------------------------------------------

    def noop(self, service: str) -> Op:
        keys = self.sizes.keys

        async def op(c: int, n: int) -> None:
            await self.post(f"/{service}/k{self.rng.randrange(keys)}/call", b"{}")
        return op

    def deposit(self, prefix: str, count: int) -> Op:
        """1.00 USD into one of `{prefix}0..{prefix}{count - 1}`, at random."""
        body = _body({"asset": "USD", "amount": "1.00"})

        async def op(c: int, n: int) -> None:
            await self.post(f"/Account/{prefix}{self.rng.randrange(count)}/deposit", body)
        return op

    def paced_read(self, key: str, handler: str, interval_s: float) -> Op:
        """A read every `interval_s` per client (back to back if it falls
        behind), so shared and exclusive reads face the same write load;
        only the call is timed, not the wait for its turn."""
        due: dict[int, float] = {}

        async def op(c: int, n: int) -> float:
            now = time.perf_counter()
            # Clients start at random points of their interval: no bursts in step.
            due[c] = max(due.get(c, now + self.rng.random() * interval_s), now)
            await asyncio.sleep(due[c] - now)
            due[c] += interval_s
            began = time.perf_counter()
            await self.post(f"/Account/{key}/{handler}", b"{}")
            return (time.perf_counter() - began) * 1000
        return op

    def transfer(self) -> Op:
        async def op(c: int, n: int) -> None:
            source, target = self.rng.sample(range(self.sizes.keys), 2)
            await self.post(f"/Transfer/{self.nonce}t{next(self.ids)}/run", _body({
                "source": f"a{source}", "target": f"a{target}", "asset": "USD", "amount": "0.01"}))
        return op

    def hold(self) -> Op:
        """A hold of 1.00 USD placed, then 0.60 of it captured to its target
        (the rest released): the whole of a hold's shape."""
        async def op(c: int, n: int) -> None:
            source, target = self.rng.sample(range(self.sizes.keys), 2)
            hold_id = f"{self.nonce}h{next(self.ids)}"
            await self.post(f"/Hold/{hold_id}/place", _body(
                {"source": f"a{source}", "target": f"a{target}", "asset": "USD", "amount": "1.00"}))
            answer = json.loads(await self.post(f"/Hold/{hold_id}/capture", _body({"amount": "0.60"})))
            if answer["status"] != "CAPTURED":
                raise CallFailed(f"hold {hold_id}: {answer['status']}, expected CAPTURED")
        return op

    def transaction(self) -> Op:
        """1.01 USD debited from one account, 1.00 credited to a second and
        0.01 (a fee) to a third."""
        async def op(c: int, n: int) -> None:
            debited, credited, fee = (f"a{k}" for k in self.rng.sample(range(self.sizes.keys), 3))
            await self.post(f"/Transaction/{self.nonce}x{next(self.ids)}/post", _body({"legs": [
                {"account": debited, "asset": "USD", "amount": "1.01", "direction": "DEBIT"},
                {"account": credited, "asset": "USD", "amount": "1.00", "direction": "CREDIT"},
                {"account": fee, "asset": "USD", "amount": "0.01", "direction": "CREDIT"}]}))
        return op

    def batch(self, service: str = "Batch", handler: str = "run") -> Op:
        """A batch of `batch_items` transfers of 0.01 USD between
        `batch_accounts` accounts; every item must complete."""
        async def op(c: int, n: int) -> None:
            batch_id = f"{self.nonce}b{next(self.ids)}"
            answer = json.loads(await self.post(f"/{service}/{batch_id}/{handler}",
                                                _batch_body(batch_items(self.rng, self.sizes))))
            failed = [r for r in answer["results"] if r["status"] != "COMPLETED"]
            if len(answer["results"]) != self.sizes.batch_items or failed:
                raise CallFailed(f"batch {batch_id}: {len(failed)} items not completed, first {failed[:1]}")
        return op

    def place(self, symbol: str) -> Op:
        """A buy that rests: 0.01 BTC at 100..199, far below every ask."""

        async def op(c: int, n: int) -> None:
            await self._place(f"a{self.rng.randrange(self.sizes.keys)}", symbol, "BUY",
                              "0.01", f"{100 + self.rng.randrange(100)}.00", "ACCEPTED")
        return op

    def place_at_level(self, price: str) -> Op:
        """A buy that rests on LEVEL_BOOK at `price`, behind every order already there."""

        async def op(c: int, n: int) -> None:
            await self._place(f"a{self.rng.randrange(self.sizes.keys)}", LEVEL_BOOK, "BUY", "0.01",
                              price, "ACCEPTED")
        return op

    def maker(self) -> Op:
        async def op(c: int, n: int) -> None:
            await self._place(f"mk{c}", TRADE_BOOK, "SELL", "0.01", "100.00", "ACCEPTED")
        return op

    def taker(self) -> Op:
        async def op(c: int, n: int) -> None:
            await self._place(f"tk{c}", TRADE_BOOK, "BUY", "0.01", "100.00", "FILLED")
        return op

    def trade(self) -> Op:
        """A maker's sell rests, then a taker's buy crosses a resting sell and
        answers once its trade is settled; the taker's call is what is timed.
        Every taker finds a sell: each client placed one before its buy."""
        maker, taker = self.maker(), self.taker()

        async def op(c: int, n: int) -> float:
            await maker(c, n)
            began = time.perf_counter()
            await taker(c, n)
            return (time.perf_counter() - began) * 1000
        return op

    # --- floors: a ledger operation's journal without its code (bench/floor_app.py)

    def floor_deposit(self) -> Op:
        """A deposit's round trips: a lazy read, the clock, two writes."""
        return self.noop("FloorLazyClockWrite")

    def floor_saga(self, service: str = "FloorSagaTransfer") -> Op:
        """A saga: a coordinator on a fresh key, as a transfer id, calling its
        two steps on distinct keys, as a transfer's source and target."""
        async def op(c: int, n: int) -> None:
            steps = [f"k{k}" for k in self.rng.sample(range(self.sizes.keys), 2)]
            await self.post(f"/{service}/{self.nonce}s{next(self.ids)}/call", _body(steps))
        return op

    def floor_hold(self) -> Op:
        """A hold's journal: its place, then its capture, as `hold` runs them."""
        async def op(c: int, n: int) -> None:
            source, target = self.rng.sample(range(self.sizes.keys), 2)
            hold_id = f"{self.nonce}h{next(self.ids)}"
            await self.post(f"/FloorHold/{hold_id}/place", _body([f"a{source}", f"a{target}"]))
            await self.post(f"/FloorHold/{hold_id}/capture", b"{}")
        return op

    def floor_transaction(self) -> Op:
        """A transaction's journal: one debited account, two credited."""
        async def op(c: int, n: int) -> None:
            debited, credited, fee = (f"a{k}" for k in self.rng.sample(range(self.sizes.keys), 3))
            await self.post(f"/FloorTransaction/{self.nonce}x{next(self.ids)}/call",
                            _body([[debited], [credited, fee]]))
        return op

    def floor_batch(self) -> Op:
        """A batch's journal, on the same body as `batch` sends."""
        return self.batch("FloorBatch", "call")

    def floor_pair(self) -> Op:
        """A settled pair's journal, as `trade` runs it: each client's maker
        order rests, then its taker's takes it, on one book key."""
        async def op(c: int, n: int) -> float:
            maker = f"{self.nonce}f{next(self.ids)}"
            await self.post(f"/FloorOrder/{maker}/call", _body({"account": f"mk{c}", "book": "pairs"}))
            began = time.perf_counter()  # the taker's call is timed, as in `trade`
            await self.post(f"/FloorOrder/{self.nonce}f{next(self.ids)}/call", _body(
                {"account": f"tk{c}", "book": "pairs", "maker": [maker, f"mk{c}"]}))
            return (time.perf_counter() - began) * 1000
        return op

    async def _place(self, account: str, symbol: str, side: str, qty: str, price: str,
                     expect: str) -> None:
        order_id = f"{self.nonce}o{next(self.ids)}"
        answer = json.loads(await self.post(f"/Order/{order_id}/place", _body({
            "account": account, "symbol": symbol, "side": side, "quantity": qty, "price": price})))
        if answer["status"] != expect:
            raise CallFailed(f"order {order_id}: {answer['status']}, expected {expect}")

    # --- set-up ----------------------------------------------------------

    async def setup(self, say: Callable[[str], None]) -> dict[str, float]:
        """Seeds everything the cases need; answers the seconds each step took."""
        s = self.sizes
        took: dict[str, float] = {}

        async def step(name: str, op: Op, count: int, concurrency: int = SETUP_CONCURRENCY) -> None:
            began = time.perf_counter()
            await run_all(op, count, concurrency)
            took[name] = round(time.perf_counter() - began, 1)
            say(f"  set-up {name}: {count:,} calls in {took[name]:.1f} s")

        def seed(key: Callable[[int], str], funds: dict) -> Op:
            body = _body({"deposits": funds})
            return lambda c, n: self.post(f"/Account/{key(n)}/bench_seed", body)

        await step("funded accounts", seed(lambda n: f"a{n}", SEED_FUNDS), s.keys)
        if s.accounts_big > s.keys:
            await step("more accounts", seed(lambda n: f"a{s.keys + n}", {}), s.accounts_big - s.keys)
        await step("traders", seed(
            lambda n: f"mk{n // 2}" if n % 2 == 0 else f"tk{n // 2}",
            {"ETH": "1000", "USD": "1000000.00"}), 2 * s.clients)
        await step("hot and history accounts", seed(
            lambda n: "hot0" if n == 2 * s.history_accounts else
            (f"fresh{n // 2}" if n % 2 == 0 else f"hist{n // 2}"), SEED_FUNDS),
            2 * s.history_accounts + 1)
        chunks = s.history_entries // SEED_CHUNK
        history_body = _body({"records": SEED_CHUNK})
        # One account's chunks run in turn (its key is exclusive), accounts in parallel.
        await step(f"history ({s.history_entries:,} entries each)", lambda c, n: self.post(
            f"/Account/hist{n % s.history_accounts}/bench_history", history_body),
            s.history_accounts * chunks, min(s.history_accounts, 16))
        await self._seed_book(step, SHALLOW_BOOK, s.book_shallow)
        await self._seed_book(step, DEEP_BOOK, s.book_deep)
        await self._seed_book(step, LEVEL_BOOK, s.level_shallow, SHALLOW_LEVEL_PRICE)
        await self._seed_book(step, LEVEL_BOOK, s.level_deep, DEEP_LEVEL_PRICE)
        return took

    async def _seed_book(self, step, symbol: str, orders: int, level_price: str | None = None) -> None:
        """Asks at distinct prices from 1,000,000.00 up (a step of 1.00), or
        bids all at `level_price`."""
        side, what = ("BUY", f"bids at {level_price}") if level_price else ("SELL", "asks")
        level_minor = parse_amount(level_price, LEVEL_SYMBOL.quote) if level_price else None

        def chunk(c: int, n: int):
            first = n * SEED_CHUNK
            return self.post(f"/OrderBook/{symbol}/bench_seed_book", _body({
                "side": side, "orders": min(SEED_CHUNK, orders - first),
                "first_price_minor": level_minor if level_price else 100_000_000 + first * 100,
                "step_minor": 0 if level_price else 100,
                "quantity_minor": 1_000_000, "prefix": f"{self.nonce}seed{symbol}{side}{n}"}))
        await step(f"{symbol} book ({orders:,} {what})", chunk, -(-orders // SEED_CHUNK), 1)

    # --- invocations and journal entries per operation, counted by restate --

    async def count_per_op(self, admin_url: str, op: Op, ops: int | None = None,
                           clients: int | None = None) -> dict[str, float]:
        """Invocations restate ran, and journal entries they wrote, for
        `ops` calls of `op` (default `count_ops`) from `clients` (default
        all), per call: the rows of sys_invocation_status and
        sys_journal (completed invocations keep theirs) before and after,
        each read once nothing is still in flight. Every entry is a record
        appended to restate's log: a call, a state read's answer, a clock
        read, a state write."""
        ops = ops or self.sizes.count_ops
        before = await _settled_counts(admin_url)
        await run_all(op, ops, clients or self.sizes.clients)
        after = await _settled_counts(admin_url)
        return {what: (after[what] - before[what]) / ops for what in after}


async def _settled_counts(admin_url: str, timeout_s: float = 60.0) -> dict[str, int]:
    """Invocations (completed ones too) and journal entries restate holds,
    read once none is in flight (or at the deadline)."""
    async for _ in polls_async(timeout_s, interval_s=0.1):
        counts = await asyncio.to_thread(invocations.counts_by_status, admin_url, completed=True)
        if all(status == "completed" for status in counts):
            break
    entries = await asyncio.to_thread(invocations.query, admin_url, "SELECT count(*) AS n FROM sys_journal")
    return {"invocations": sum(counts.values()), "journal_entries": entries[0]["n"]}


class PostgresWorkloads:
    """The same deposit and transfer on Postgres, one connection per client."""

    def __init__(self, conns: list, sizes: Sizes, nonce: str) -> None:
        self.conns = conns
        self.sizes = sizes
        self.nonce = nonce
        self.ids = itertools.count()
        self.rng = random.Random(7)

    def deposit(self) -> Op:
        async def op(c: int, n: int) -> None:
            await pg.deposit(self.conns[c], f"a{self.rng.randrange(self.sizes.keys)}", 100)
        return op

    def transfer(self) -> Op:
        async def op(c: int, n: int) -> None:
            source, target = self.rng.sample(range(self.sizes.keys), 2)
            await pg.transfer(self.conns[c], f"{self.nonce}t{next(self.ids)}", f"a{source}",
                              f"a{target}", 1)
        return op

    def batch(self) -> Op:
        """The ledger's batch, as one Postgres transaction."""
        async def op(c: int, n: int) -> None:
            await pg.batch(self.conns[c], f"{self.nonce}b{next(self.ids)}", batch_items(self.rng, self.sizes))
        return op
