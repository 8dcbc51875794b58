"""Kill our endpoint (SIGKILL) or restate-server in the middle of concurrent
hold captures, multi-leg transactions and batches: after restarts every
operation ends with exactly one outcome, and its effect applied once.

What each account should hold is the test's own sum over the final
statuses (not the ledger's arithmetic); each account's history, replayed,
must add up to the same, operation by operation."""

import asyncio
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

import pytest

from api.client import ApiError, AsyncLedgerClient
from campaign.expect import minor, text
from runtime.poll import polls_async
from tests.integration.helpers import answered_carefully, check_accounts

pytestmark = pytest.mark.live

VICTIMS = ["endpoint", "server"]
SEND_TIMEOUT_S = 170.0  # an operation's retries, across the crash and the restart
SETTLE_TIMEOUT_S = 60.0  # for the holds' expiry timers, after the restart
ANSWERED_BEFORE_CRASH = 5


@pytest.mark.parametrize("victim", VICTIMS)
def test_hold_captures_survive_a_crash_and_apply_once(stack, victim):
    asyncio.run(_crash_during_holds(stack, victim))


@pytest.mark.parametrize("victim", VICTIMS)
def test_transactions_survive_a_crash_and_apply_once(stack, victim):
    asyncio.run(_crash_during_transactions(stack, victim))


@pytest.mark.parametrize("victim", VICTIMS)
def test_batches_survive_a_crash_and_apply_once(stack, victim):
    asyncio.run(_crash_during_batches(stack, victim))


# --- shared ---------------------------------------------------------------------


def _sums():
    """Per account, per asset, in minor units."""
    return defaultdict(lambda: defaultdict(int))


async def _open_funded(ledger, funds: dict[str, dict[str, str]], inflow: dict, total) -> None:
    """Opens each account and deposits its funds, counting each deposit once acknowledged."""
    for name, amounts in funds.items():
        await ledger.open(name)
        for code, amount in amounts.items():
            await ledger.deposit(name, code, amount)
            inflow[code] += minor(amount, code)
            total[name][code] += minor(amount, code)


async def _crash_amid(stack, victim: str, tasks: list[asyncio.Task], under_way) -> None:
    """Crash `victim` once `under_way()` (awaited) says the work has begun,
    then wait for every task: each retries its operation until answered."""
    await _until(under_way, "the work gets under way")
    in_flight = sum(not t.done() for t in tasks)
    stack.crash(victim)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=SEND_TIMEOUT_S + 10)
    # The crash must have hit operations in flight, or it proves nothing.
    assert in_flight > 0, f"every operation had answered before the {victim} crash"
    print(f"{victim} killed with {in_flight} of {len(tasks)} operations in flight")


async def _until(check, what: str) -> None:
    async for _ in polls_async(SEND_TIMEOUT_S, interval_s=0.01):
        if await check():
            return
    raise AssertionError(f"timed out waiting until {what}")


def _some_answered(tasks: list[asyncio.Task]):
    async def check() -> bool:
        return sum(t.done() for t in tasks) >= ANSWERED_BEFORE_CRASH
    return check


# --- holds ----------------------------------------------------------------------

SOURCES, TARGETS = 4, 3
HOLDS = 48
HOLD_FUNDS = {"USD": "1000.00"}
TOO_MUCH_MINOR = 10**7  # 100,000.00 USD: more than a source has


@dataclass(frozen=True)
class PlannedHold:
    hold_id: str
    source: str
    target: str | None
    amount_minor: int
    expires_in_s: int | None
    actions: tuple[str, ...]  # sent at once once placed: capture, capture-part, void
    outcomes: frozenset[str]  # the final statuses it may end in

    @property
    def capture_minor(self) -> int:
        return self.amount_minor // 3 if "capture-part" in self.actions else self.amount_minor


# (target, expires_in_s, actions, outcomes), in turn: "frozen" is a frozen
# target (its capture is refused and the amount restored under the hold),
# None a payout (a capture takes the money out of the ledger).
HOLD_SHAPES = [
    ("open", None, ("capture",), {"CAPTURED"}),
    ("open", 1, ("capture-part",), {"CAPTURED", "EXPIRED"}),  # the capture races the timer
    ("frozen", None, ("capture",), {"HELD"}),  # refused, restored, still held
    ("frozen", 1, ("capture",), {"EXPIRED"}),  # refused, then the timer voids it
    (None, None, ("capture", "void"), {"CAPTURED", "VOIDED"}),  # a payout racing a void
    ("open", 1, ("capture", "void"), {"CAPTURED", "VOIDED", "EXPIRED"}),
    (None, 1, ("capture-part",), {"CAPTURED", "EXPIRED"}),
    ("open", None, ("capture",), {"REJECTED"}),  # more than the source has
]


def _hold_plan(run: str, sources: list[str], targets: list[str], frozen: str) -> list[PlannedHold]:
    plan = []
    for i in range(HOLDS):
        target, expires_in_s, actions, outcomes = HOLD_SHAPES[i % len(HOLD_SHAPES)]
        target = {"open": targets[i % len(targets)], "frozen": frozen}.get(target)
        amount_minor = TOO_MUCH_MINOR if outcomes == {"REJECTED"} else 100 + i
        plan.append(PlannedHold(f"h{run}-{i}", sources[i % len(sources)], target, amount_minor,
                                expires_in_s, actions, frozenset(outcomes)))
    return plan


async def _crash_during_holds(stack, victim: str) -> None:
    run = uuid.uuid4().hex[:8]
    sources = [f"hs{run}-{i}" for i in range(SOURCES)]
    targets = [f"ht{run}-{i}" for i in range(TARGETS)]
    frozen = f"hf{run}"
    names = [*sources, *targets, frozen]
    inflow, total, reserved = defaultdict(int), _sums(), _sums()
    async with AsyncLedgerClient(stack.ingress_url, timeout_s=120) as ledger:
        await _open_funded(ledger, {n: HOLD_FUNDS if n in sources else {} for n in names}, inflow, total)
        await ledger.freeze(frozen)
        plan = _hold_plan(run, sources, targets, frozen)
        answers: dict[str, list] = {}
        tasks = [asyncio.create_task(_hold_life(ledger, h, answers)) for h in plan]
        await _crash_amid(stack, victim, tasks, _some_answered(tasks))

        final = await _settled_holds(ledger, plan)
        for h in plan:
            _check_hold_answers(h, final[h.hold_id], answers[h.hold_id])
            _add_hold(h, final[h.hold_id], total, reserved, inflow)
        replays = await check_accounts(ledger, names, total, reserved, inflow)
        for h in plan:
            _check_hold_history(h, final[h.hold_id], replays)
        print(f"holds: {dict(Counter(f.status for f in final.values()))}")

        # What is still HELD is a real hold: voided, it gives everything back.
        for h in plan:
            if final[h.hold_id].status == "HELD":
                assert (await ledger.void_hold(h.hold_id)).status == "VOIDED"
                reserved[h.source]["USD"] -= h.amount_minor
        await check_accounts(ledger, names, total, reserved, inflow)
    assert all(r == 0 for by_code in reserved.values() for r in by_code.values())


async def _hold_life(ledger, h: PlannedHold, answers: dict) -> None:
    """Place the hold, then send its actions at once; each retried after a crash."""
    placed = await answered_carefully(lambda: ledger.place_hold(
        h.hold_id, h.source, "USD", text(h.amount_minor, "USD"), target=h.target, expires_in_s=h.expires_in_s))
    acted = await asyncio.gather(*(answered_carefully(_hold_action(ledger, h, a)) for a in h.actions))
    answers[h.hold_id] = [placed, *acted]


def _hold_action(ledger, h: PlannedHold, action: str):
    if action == "void":
        return lambda: ledger.void_hold(h.hold_id)
    return lambda: ledger.capture_hold(h.hold_id, text(h.capture_minor, "USD") if action == "capture-part" else None)


async def _settled_holds(ledger, plan: list[PlannedHold]) -> dict:
    """Every hold's status once no timer can change one any more."""
    async for _ in polls_async(SETTLE_TIMEOUT_S, interval_s=0.2):
        final = {h.hold_id: await ledger.hold_status(h.hold_id) for h in plan}
        if not any(final[h.hold_id].status in ("PENDING", "HELD") and h.expires_in_s for h in plan):
            return final
    raise AssertionError(f"holds with expiries still live after {SETTLE_TIMEOUT_S:g}s")


def _check_hold_answers(h: PlannedHold, final, answers: list) -> None:
    """One outcome: the final status is one the hold may end in, and every
    answer the client got agrees with it."""
    placed, *acted = answers
    assert final.status in h.outcomes, (h, final)
    assert isinstance(placed, ApiError) == (final.status == "REJECTED"), (h, placed)
    if final.status == "REJECTED":
        assert placed.message.startswith(f"hold {h.hold_id} REJECTED: insufficient funds"), placed
    won = [a for a in acted if not isinstance(a, ApiError)]
    assert len(won) <= 1 and all(w.status == final.status for w in won), (h, acted, final)
    for refusal in acted:
        if isinstance(refusal, ApiError):
            # A capture the frozen target refused, or one that found the hold final.
            restored = h.target is not None and "frozen" in refusal.message \
                and refusal.message.endswith("; the hold is still HELD")
            assert restored or refusal.message.startswith(f"hold {h.hold_id} is {final.status}; "), \
                (h, refusal, final)
    if final.status == "CAPTURED":
        assert final.captured == text(h.capture_minor, "USD"), (h, final)


def _add_hold(h: PlannedHold, final, total, reserved, inflow: dict) -> None:
    if final.status == "CAPTURED":
        total[h.source]["USD"] -= h.capture_minor
        if h.target is None:
            inflow["USD"] -= h.capture_minor  # a payout leaves the ledger
        else:
            total[h.target]["USD"] += h.capture_minor
    elif final.status == "HELD":
        reserved[h.source]["USD"] += h.amount_minor


def _check_hold_history(h: PlannedHold, final, replays: dict) -> None:
    """The hold's entries, replayed: reserved once (unless rejected), each
    refused capture restored, and what moved is what the status says."""
    source = replays[h.source]
    captured = h.capture_minor if final.status == "CAPTURED" else 0
    held = h.amount_minor if final.status == "HELD" else 0
    assert source.net[h.hold_id, "USD"] == (-captured, held), (h, final)
    assert source.kinds[h.hold_id, "reserve"] == (final.status != "REJECTED"), h
    assert source.kinds[h.hold_id, "capture"] == source.kinds[h.hold_id, "restore"] + bool(captured), h
    if h.target is not None and h.target in replays:
        assert replays[h.target].net[h.hold_id, "USD"] == (captured, 0), (h, final)
    if final.status == "HELD":
        assert source.kinds[h.hold_id, "restore"] >= 1, h  # its capture was refused and undone


# --- transactions ---------------------------------------------------------------

TRANSACTIONS = 40
PAYERS = 6
TX_FUNDS = {"USD": "500.00", "BTC": "1"}


@dataclass(frozen=True)
class PlannedTransaction:
    transaction_id: str
    legs: tuple[tuple[str, str, int, str], ...]  # account, asset, amount_minor, direction
    outcome: str


def _transaction_plan(run: str, payers: list[str], house: str, frozen: str, poor: str,
                      nobody: str) -> list[PlannedTransaction]:
    plan = []
    for i in range(TRANSACTIONS):
        a, b = payers[i % PAYERS], payers[(i + 1 + i % 5) % PAYERS]
        x = 1000 + 7 * i
        shape = i % 5
        if shape == 0:  # a payment with a fee
            legs, outcome = [(a, "USD", x, "DEBIT"), (b, "USD", x - x // 100, "CREDIT"),
                             (house, "USD", x // 100, "CREDIT")], "POSTED"
        elif shape == 1:  # a sells BTC to the house
            legs, outcome = [(a, "BTC", 1_000_000 + i, "DEBIT"), (house, "BTC", 1_000_000 + i, "CREDIT"),
                             (house, "USD", 500 + i, "DEBIT"), (a, "USD", 500 + i, "CREDIT")], "POSTED"
        elif shape == 2:  # a frozen credit: both debits refunded
            legs, outcome = [(a, "USD", x, "DEBIT"), (b, "USD", 300, "DEBIT"),
                             (frozen, "USD", x + 300, "CREDIT")], "REJECTED"
        elif shape == 3:  # a short debit: the other refunded
            legs, outcome = [(a, "USD", x, "DEBIT"), (poor, "USD", 5000, "DEBIT"),
                             (b, "USD", x + 5000, "CREDIT")], "REJECTED"
        else:  # an account never opened
            legs, outcome = [(a, "USD", x, "DEBIT"), (nobody, "USD", x, "CREDIT")], "REJECTED"
        plan.append(PlannedTransaction(f"tx{run}-{i}", tuple(legs), outcome))
    return plan


async def _crash_during_transactions(stack, victim: str) -> None:
    run = uuid.uuid4().hex[:8]
    payers = [f"tp{run}-{i}" for i in range(PAYERS)]
    house, frozen, poor, nobody = (f"t{role}{run}" for role in ("house", "frozen", "poor", "nobody"))
    funds = {**{n: TX_FUNDS for n in (*payers, house, frozen)}, poor: {"USD": "1.00"}}
    names = list(funds)
    inflow, total = defaultdict(int), _sums()
    async with AsyncLedgerClient(stack.ingress_url, timeout_s=120) as ledger:
        await _open_funded(ledger, funds, inflow, total)
        await ledger.freeze(frozen)
        plan = _transaction_plan(run, payers, house, frozen, poor, nobody)
        answers: dict[str, object] = {}

        async def post(t: PlannedTransaction) -> None:
            legs = [{"account": who, "asset": code, "amount": text(amount, code), "direction": direction}
                    for who, code, amount, direction in t.legs]
            answers[t.transaction_id] = await answered_carefully(
                lambda: ledger.post_transaction(t.transaction_id, legs))

        tasks = [asyncio.create_task(post(t)) for t in plan]
        await _crash_amid(stack, victim, tasks, _some_answered(tasks))

        final = {t.transaction_id: (await ledger.transaction_status(t.transaction_id)).status for t in plan}
        for t in plan:
            # The same id asked again after a crash answers the first outcome:
            # every answer is the final one.
            answer, status = answers[t.transaction_id], final[t.transaction_id]
            assert status == t.outcome, (t, status)
            if status == "POSTED":
                assert not isinstance(answer, ApiError) and answer.status == "POSTED", (t, answer)
                for who, code, amount, direction in t.legs:
                    total[who][code] += amount if direction == "CREDIT" else -amount
            else:
                assert isinstance(answer, ApiError), (t, answer)
                assert answer.message.startswith(f"transaction {t.transaction_id} REJECTED: "), answer
        replays = await check_accounts(ledger, names, total, _sums(), inflow)
        for t in plan:
            _check_transaction_history(t, final[t.transaction_id], replays)


def _check_transaction_history(t: PlannedTransaction, status: str, replays: dict) -> None:
    """Each account's entries naming the transaction: its legs once if
    POSTED; if REJECTED, nothing in the end and never a credit, every debit
    that applied refunded."""
    net = defaultdict(int)
    for who, code, amount, direction in t.legs:
        if status == "POSTED":
            net[who, code] += amount if direction == "CREDIT" else -amount
    for who, code, _, direction in t.legs:
        replay = replays.get(who)
        if replay is None:
            continue  # never opened
        assert replay.net[t.transaction_id, code] == (net[who, code], 0), (t, status, who)
        legs_of = sum(1 for w, _, _, d in t.legs if w == who and d == direction)
        if status == "POSTED":
            assert replay.kinds[t.transaction_id, direction.lower()] == legs_of, (t, who)
        else:
            assert replay.kinds[t.transaction_id, "credit"] == 0, (t, who)
            assert replay.kinds[t.transaction_id, "debit"] == replay.kinds[t.transaction_id, "refund"], (t, who)


# --- batches --------------------------------------------------------------------

BATCHES, ITEMS = 4, 300
MEMBERS = 10
BATCH_FUNDS = {"USD": "100.00"}


@dataclass(frozen=True)
class PlannedItem:
    item_id: str
    source: str
    target: str
    amount_minor: int
    outcomes: frozenset[str]

    def as_body(self) -> dict:
        return {"id": self.item_id, "source": self.source, "target": self.target, "asset": "USD",
                "amount": text(self.amount_minor, "USD")}


def _batch_items(b: int, members: list[str], frozen: str, nobody: str) -> list[PlannedItem]:
    """Items over the members, some from or to the frozen account or one
    never opened; sources run short as the batches go on."""
    accounts = [*members, frozen, nobody]
    items = []
    for k in range(ITEMS):
        src = len(accounts) - 1 if k % 50 == 49 else (7 * k + b) % (MEMBERS + 1)
        dst = (3 * k + 5 * b + 1) % len(accounts)
        dst = (dst + 1) % len(accounts) if dst == src else dst
        if src >= MEMBERS:
            outcomes = {"FAILED"}  # the source refuses the debit
        elif dst >= MEMBERS:
            outcomes = {"COMPENSATED", "FAILED"}  # the target refuses, unless the source was short
        else:
            outcomes = {"COMPLETED", "FAILED"}
        items.append(PlannedItem(f"i{k}", accounts[src], accounts[dst], 1 + (37 * k + 101 * b) % 250,
                                 frozenset(outcomes)))
    return items


async def _crash_during_batches(stack, victim: str) -> None:
    run = uuid.uuid4().hex[:8]
    members = [f"bm{run}-{i}" for i in range(MEMBERS)]
    frozen, nobody = f"bfrozen{run}", f"bnobody{run}"
    names = [*members, frozen]
    inflow, total = defaultdict(int), _sums()
    async with AsyncLedgerClient(stack.ingress_url, timeout_s=120) as ledger:
        await _open_funded(ledger, {n: BATCH_FUNDS for n in names}, inflow, total)
        await ledger.freeze(frozen)
        plan = {f"b{run}-{b}": _batch_items(b, members, frozen, nobody) for b in range(BATCHES)}
        answers: dict[str, object] = {}

        async def run_batch(batch_id: str, items: list[PlannedItem]) -> None:
            body = [item.as_body() for item in items]
            answers[batch_id] = await answered_carefully(lambda: ledger.run_batch(batch_id, body), refusals=())

        async def pending() -> bool:
            """A batch has recorded itself and is moving money."""
            for batch_id in plan:
                try:
                    if (await ledger.batch_status(batch_id)).status == "PENDING":
                        return True
                except ApiError as err:
                    assert err.status_code == 404, err  # not begun yet
            return False

        tasks = [asyncio.create_task(run_batch(b, items)) for b, items in plan.items()]
        await _crash_amid(stack, victim, tasks, pending)

        outcomes = defaultdict(int)
        for batch_id, items in plan.items():
            final = await ledger.batch_status(batch_id)
            assert answers[batch_id] == final and final.status == "COMPLETED", (batch_id, final)
            assert [r.id for r in final.results] == [item.item_id for item in items]
            for item, result in zip(items, final.results):
                assert result.status in item.outcomes, (batch_id, item, result)
                outcomes[result.status] += 1
                if result.status == "COMPLETED":
                    total[item.source]["USD"] -= item.amount_minor
                    total[item.target]["USD"] += item.amount_minor
        replays = await check_accounts(ledger, names, total, _sums(), inflow)
        for batch_id, items in plan.items():
            for item, result in zip(items, (await ledger.batch_status(batch_id)).results):
                _check_item_history(f"{batch_id}:{item.item_id}", item, result.status, replays)
    assert all(outcomes[s] for s in ("COMPLETED", "FAILED", "COMPENSATED")), outcomes
    print(f"batch items: {dict(outcomes)}")


def _check_item_history(ref: str, item: PlannedItem, status: str, replays: dict) -> None:
    """An item's entries: moved once if COMPLETED, debited and refunded if
    COMPENSATED, none at all if FAILED."""
    source, target = replays.get(item.source), replays.get(item.target)
    moved = item.amount_minor if status == "COMPLETED" else 0
    if source is not None:
        assert source.net[ref, "USD"] == (-moved, 0), (ref, item, status)
        debits = source.kinds[ref, "debit"]
        assert (debits, source.kinds[ref, "refund"]) == \
            {"COMPLETED": (1, 0), "COMPENSATED": (1, 1), "FAILED": (0, 0)}[status], (ref, item, status)
    if target is not None:
        assert target.net[ref, "USD"] == (moved, 0), (ref, item, status)
        assert target.kinds[ref, "credit"] == (status == "COMPLETED"), (ref, item, status)
