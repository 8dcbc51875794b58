"""The campaign's audit and fault schedule, without a live stack: the audit
must see a lost, a duplicated or an inconsistent operation when there is
one (a campaign whose audit cannot fail proves nothing), and the schedule
must inject what it is asked, bounded in time and count."""

import threading
import time
from collections import Counter

import pytest

from campaign import expect
from campaign.audit import Findings, _Checker
from campaign.faults import Schedule, parse_kinds, topology_for
from campaign.workload import Item, Leg, Op, Workload, hold_refusal_status
from api.client import ApiError
from api.responses import (
    AssetBalance, BalanceView, BatchResult, BatchView, BookView, HistoryEntry, HoldView, LegView, OrderView,
    TransactionView, TransferView,
)

A, B = "ca-a0", "ca-a1"


def _workload() -> Workload:
    w = Workload(["http://127.0.0.1:1"], run_id="t", clients=1, accounts=2)
    w.accounts, w.frozen, w.house = [A, B], "ca-frozen", "ca-house"
    return w


def _op(w: Workload, kind: str, account: str, outcome: str = "applied", status: int = 200, **fields) -> Op:
    op = w._new(kind, account, **fields)
    op.outcome, op.status_code = outcome, status
    return op


def _balance(account: str, **assets: tuple[str, str]) -> BalanceView:
    return BalanceView(account=account, balances={
        a: AssetBalance(available=av, reserved=rs, total="0") for a, (av, rs) in assets.items()})


def _entries(*specs: tuple[str, str, str, str | None]) -> list[HistoryEntry]:
    return [HistoryEntry(seq=i + 1, kind=k, at_ms=0, asset=a, amount=amt, ref=ref)
            for i, (k, a, amt, ref) in enumerate(specs)]


def _audit(w, balances, histories, transfers=None, orders=None, **records) -> Findings:
    findings = Findings()
    balances = {w.frozen: _balance(w.frozen), w.house: _balance(w.house),
                expect.FEE_ACCOUNT: ApiError(404, "not open"), **balances}
    histories = {w.frozen: [], w.house: [], expect.FEE_ACCOUNT: ApiError(404, "not open"), **histories}
    _Checker(w, findings, balances, histories, transfers or {}, orders or {},
             BookView(symbol="BTC-USD", bids=[], asks=[]), **records).run()
    return findings


def _funded(w: Workload) -> tuple[Op, Op]:
    return (_op(w, "deposit", A, asset="USD", amount_minor=10_000),
            _op(w, "deposit", B, asset="USD", amount_minor=5_000))


def test_a_clean_record_passes():
    w = _workload()
    _funded(w)
    f = _audit(w, {A: _balance(A, USD=("100.00", "0.00")), B: _balance(B, USD=("50.00", "0.00"))},
               {A: _entries(("deposit", "USD", "100.00", None)), B: _entries(("deposit", "USD", "50.00", None))})
    assert (f.lost, f.duplicated, f.violations) == ([], [], []), f.to_json()


def test_an_acknowledged_deposit_missing_from_the_state_is_lost():
    w = _workload()
    _funded(w)
    f = _audit(w, {A: _balance(A, USD=("0.00", "0.00")), B: _balance(B, USD=("50.00", "0.00"))},
               {A: [], B: _entries(("deposit", "USD", "50.00", None))})
    assert len(f.lost) == 1 and not f.duplicated
    assert any("conserved" in v for v in f.violations) and any("add up to" in v for v in f.violations)


def test_a_deposit_applied_twice_is_duplicated():
    w = _workload()
    _funded(w)
    f = _audit(w, {A: _balance(A, USD=("200.00", "0.00")), B: _balance(B, USD=("50.00", "0.00"))},
               {A: _entries(("deposit", "USD", "100.00", None), ("deposit", "USD", "100.00", None)),
                B: _entries(("deposit", "USD", "50.00", None))})
    assert len(f.duplicated) == 1 and not f.lost
    assert f.violations


def test_a_refused_withdrawal_that_applied_is_found():
    w = _workload()
    _funded(w)
    _op(w, "withdraw", A, outcome="refused", status=409, asset="USD", amount_minor=2_500)
    f = _audit(w, {A: _balance(A, USD=("75.00", "0.00")), B: _balance(B, USD=("50.00", "0.00"))},
               {A: _entries(("deposit", "USD", "100.00", None), ("withdraw", "USD", "25.00", None)),
                B: _entries(("deposit", "USD", "50.00", None))})
    assert len(f.duplicated) == 1


def test_a_transfer_credited_twice_or_answered_otherwise_is_found():
    w = _workload()
    _funded(w)
    t = _op(w, "transfer", A, target=B, asset="USD", amount_minor=1_000)
    view = TransferView(transfer=t.key, status="COMPLETED", source=A, target=B, asset="USD", amount="10.00")
    f = _audit(w, {A: _balance(A, USD=("90.00", "0.00")), B: _balance(B, USD=("70.00", "0.00"))},
               {A: _entries(("deposit", "USD", "100.00", None), ("debit", "USD", "10.00", t.key)),
                B: _entries(("deposit", "USD", "50.00", None), ("credit", "USD", "10.00", t.key),
                            ("credit", "USD", "10.00", t.key))},
               transfers={t.key: view})
    assert len(f.duplicated) == 1 and any("ca-a1 USD" in v for v in f.violations)

    w = _workload()
    _funded(w)
    t = _op(w, "transfer", A, outcome="refused", status=409, target=B, asset="USD", amount_minor=1_000)
    t.message = f"transfer {t.key} FAILED: insufficient funds"
    f = _audit(w, {A: _balance(A, USD=("90.00", "0.00")), B: _balance(B, USD=("60.00", "0.00"))},
               {A: _entries(("deposit", "USD", "100.00", None), ("debit", "USD", "10.00", t.key)),
                B: _entries(("deposit", "USD", "50.00", None), ("credit", "USD", "10.00", t.key))},
               transfers={t.key: view.model_copy(update={"transfer": t.key})})
    assert not f.lost and not f.duplicated
    assert any("answered FAILED" in v for v in f.violations)


def test_sagas_left_pending_and_holds_not_matching_are_violations():
    w = _workload()
    _funded(w)
    t = _op(w, "transfer", A, outcome=None, status=None, target=B, asset="USD", amount_minor=1_000)
    o = _op(w, "place", A, side="BUY", quantity_minor=1_000_000, price=1000, tif="GTC")
    pending = TransferView(transfer=t.key, status="PENDING", source=A, target=B, asset="USD", amount="10.00")
    order = OrderView(order=o.key, account=A, symbol="BTC-USD", side="BUY", quantity="0.01", price="1000",
                      time_in_force="GTC", filled="0", status="ACCEPTED", fills=[])
    f = _audit(w, {A: _balance(A, USD=("90.00", "0.00")), B: _balance(B, USD=("50.00", "0.00"))},
               {A: _entries(("deposit", "USD", "100.00", None), ("reserve", "USD", "10.00", o.key)),
                B: _entries(("deposit", "USD", "50.00", None))},
               transfers={t.key: pending}, orders={o.key: order})
    texts = "\n".join(f.violations)
    assert "never answered" in texts and "not terminal: PENDING" in texts
    assert "reserved 0, its live holds (orders' and HELD holds') keep 1000" in texts


# --- holds, transactions and batches ----------------------------------------------


def _hold_view(op: Op, status: str, captured: str = "0.00", expires_at_ms: int | None = None) -> HoldView:
    return HoldView(hold=op.key, source=op.account, target=op.target, asset=op.asset,
                    amount=expect.text(op.amount_minor, op.asset), captured=captured, status=status,
                    expires_at_ms=expires_at_ms)


def _transaction_view(op: Op, status: str) -> TransactionView:
    return TransactionView(transaction=op.key, status=status, legs=[
        LegView(account=leg.account, asset=leg.asset, amount=expect.text(leg.amount_minor, leg.asset),
                direction=leg.direction) for leg in op.legs])


def _primitives() -> dict:
    """A consistent record of holds (captured in part, paid out, still held,
    expired, refused by a frozen target then voided), a fee-style
    transaction POSTED, one REJECTED, and a batch with every item outcome:
    what the audit must pass, and what each test below spoils once."""
    w = _workload()
    _funded(w)  # A 100.00, B 50.00
    partial = _op(w, "hold", A, target=B, asset="USD", amount_minor=1_000)
    capture = _op(w, "capture", A, hold=partial.key, target=B, asset="USD", amount_minor=400)
    payout = _op(w, "hold", A, asset="USD", amount_minor=500)
    full = _op(w, "capture", A, hold=payout.key, asset="USD")
    held = _op(w, "hold", B, target=A, asset="USD", amount_minor=300)
    expiring = _op(w, "hold", A, asset="USD", amount_minor=200, expires_in_s=2)
    stuck = _op(w, "hold", A, target=w.frozen, asset="USD", amount_minor=100)
    refused = _op(w, "capture", A, outcome="refused", status=409, hold=stuck.key, target=w.frozen, asset="USD")
    refused.message = f"hold {stuck.key}: the capture was refused: account {w.frozen} is frozen; the hold is still HELD"
    void = _op(w, "void", A, hold=stuck.key, asset="USD")
    posted = _op(w, "transaction", A, legs=(Leg(A, "USD", 1_000, "DEBIT"), Leg(B, "USD", 997, "CREDIT"),
                                            Leg(w.house, "USD", 3, "CREDIT")))
    rejected = _op(w, "transaction", A, outcome="refused", status=409,
                   legs=(Leg(A, "USD", 2_000, "DEBIT"), Leg(w.frozen, "USD", 2_000, "CREDIT")))
    rejected.message = f"transaction {rejected.key} REJECTED: account {w.frozen} is frozen"
    batch = _op(w, "batch", A, items=(Item("i0", A, B, "USD", 100), Item("i1", B, w.frozen, "USD", 200),
                                      Item("i2", w.frozen, A, "USD", 300)))
    results = [BatchResult(id="i0", status="COMPLETED"), BatchResult(id="i1", status="COMPENSATED", reason="frozen"),
               BatchResult(id="i2", status="FAILED", reason="frozen")]
    holds = {partial.key: _hold_view(partial, "CAPTURED", "4.00"), payout.key: _hold_view(payout, "CAPTURED", "5.00"),
             held.key: _hold_view(held, "HELD"), expiring.key: _hold_view(expiring, "EXPIRED", expires_at_ms=1),
             stuck.key: _hold_view(stuck, "VOIDED")}
    capture.answer, full.answer = holds[partial.key], holds[payout.key]
    void.answer = holds[stuck.key]
    batch.answer = BatchView(batch=batch.key, status="COMPLETED", results=results)
    histories = {
        A: _entries(("deposit", "USD", "100.00", None),
                    ("reserve", "USD", "10.00", partial.key), ("capture", "USD", "4.00", partial.key),
                    ("release", "USD", "6.00", partial.key),
                    ("reserve", "USD", "5.00", payout.key), ("capture", "USD", "5.00", payout.key),
                    ("reserve", "USD", "2.00", expiring.key), ("release", "USD", "2.00", expiring.key),
                    ("reserve", "USD", "1.00", stuck.key), ("capture", "USD", "1.00", stuck.key),
                    ("restore", "USD", "1.00", stuck.key), ("release", "USD", "1.00", stuck.key),
                    ("debit", "USD", "10.00", posted.key),
                    ("debit", "USD", "20.00", rejected.key), ("refund", "USD", "20.00", rejected.key),
                    ("debit", "USD", "1.00", f"{batch.key}:i0")),
        B: _entries(("deposit", "USD", "50.00", None), ("credit", "USD", "4.00", partial.key),
                    ("reserve", "USD", "3.00", held.key), ("credit", "USD", "9.97", posted.key),
                    ("credit", "USD", "1.00", f"{batch.key}:i0"),
                    ("debit", "USD", "2.00", f"{batch.key}:i1"), ("refund", "USD", "2.00", f"{batch.key}:i1")),
        w.house: _entries(("credit", "USD", "0.03", posted.key)),
    }
    # A: 100 - 4 - 5 (paid out) - 10 - 1 = 80.00; B: 50 + 4 + 9.97 + 1 = 64.97, 3.00 of it held
    balances = {A: _balance(A, USD=("80.00", "0.00")), B: _balance(B, USD=("61.97", "3.00")),
                w.house: _balance(w.house, USD=("0.03", "0.00"))}
    records = {"holds": holds,
               "transactions": {posted.key: _transaction_view(posted, "POSTED"),
                                rejected.key: _transaction_view(rejected, "REJECTED")},
               "batches": {batch.key: BatchView(batch=batch.key, status="COMPLETED", results=results)}}
    ops = {"partial": partial, "capture": capture, "payout": payout, "held": held, "expiring": expiring,
           "stuck": stuck, "void": void, "posted": posted, "rejected": rejected, "batch": batch}
    return {"w": w, "balances": balances, "histories": histories, "records": records, "ops": ops}


def _audit_primitives(p: dict) -> Findings:
    return _audit(p["w"], p["balances"], p["histories"], **p["records"])


def _with_entry(p: dict, account: str, spec: tuple[str, str, str, str | None]) -> None:
    """One more history entry on `account` (applied once more than it should)."""
    p["histories"][account] = [*p["histories"].get(account, []), *_entries(spec)]


def test_holds_transactions_and_batches_on_a_clean_record_pass():
    p = _primitives()
    f = _audit_primitives(p)
    assert (f.lost, f.duplicated, f.violations) == ([], [], []), f.to_json()
    assert (f.checked["holds"], f.checked["holds_captured"], f.checked["holds_expired"]) == (5, 2, 1)
    assert (f.checked["transactions_posted"], f.checked["transactions_rejected"]) == (1, 1)
    assert (f.checked["batch_items_completed"], f.checked["batch_items_compensated"],
            f.checked["batch_items_failed"]) == (1, 1, 1)


def test_a_tampered_balance_is_a_violation():
    p = _primitives()
    p["balances"][B] = _balance(B, USD=("62.97", "3.00"))
    f = _audit_primitives(p)
    assert any("ca-a1 USD: holds 6597, the acknowledged operations" in v for v in f.violations), f.violations
    assert any("USD not conserved" in v for v in f.violations)


def test_a_hold_reserved_twice_is_duplicated_and_one_not_reserved_is_a_violation():
    p = _primitives()
    held = p["ops"]["held"].key
    _with_entry(p, B, ("reserve", "USD", "3.00", held))
    f = _audit_primitives(p)
    assert any(f"hold {held} reserve: applied 2 times, expected 1" in d for d in f.duplicated), f.duplicated

    p = _primitives()
    p["balances"][B] = _balance(B, USD=("64.97", "0.00"))  # the HELD hold's 3.00 not reserved
    f = _audit_primitives(p)
    assert any("ca-a1 USD: reserved 0, its live holds" in v and "keep 300" in v for v in f.violations)


def test_a_hold_captured_twice_or_credited_to_no_one_is_found():
    p = _primitives()
    partial = p["ops"]["partial"].key
    _with_entry(p, B, ("credit", "USD", "4.00", partial))
    assert any(f"hold {partial} credit" in d for d in _audit_primitives(p).duplicated)

    p = _primitives()
    p["histories"][B] = [e for e in p["histories"][B] if e.ref != partial]
    p["balances"][B] = _balance(B, USD=("57.97", "3.00"))
    f = _audit_primitives(p)
    assert any(f"hold {partial} credit" in d for d in f.lost) and any("not conserved" in v for v in f.violations)


def test_hold_answers_must_agree_with_the_final_status():
    p = _primitives()
    stuck = p["ops"]["stuck"]
    p["records"]["holds"][stuck.key] = _hold_view(stuck, "EXPIRED")  # the void answered VOIDED
    p["histories"][A] = [e for e in p["histories"][A] if e.ref != stuck.key] + _entries(
        ("reserve", "USD", "1.00", stuck.key), ("release", "USD", "1.00", stuck.key))
    texts = "\n".join(_audit_primitives(p).violations)
    assert f"void {p['ops']['void'].key} of hold {stuck.key} answered VOIDED" in texts
    assert "asked no expiry, is EXPIRED" in texts

    p = _primitives()
    capture = p["ops"]["capture"]
    capture.outcome, capture.status_code = "refused", 409
    capture.message = f"hold {p['ops']['partial'].key} is CAPTURED; only a HELD hold can be captured"
    texts = "\n".join(_audit_primitives(p).violations)
    assert "refused on its first attempt as already CAPTURED" in texts
    capture.attempts = 2  # its own first attempt, whose answer was lost: consistent
    assert not _audit_primitives(p).violations


def test_a_hold_still_held_past_its_expiry_or_captured_to_the_frozen_account_is_a_violation():
    p = _primitives()
    held = p["ops"]["held"]
    held.expires_in_s = 1
    p["records"]["holds"][held.key] = _hold_view(held, "HELD", expires_at_ms=1)
    assert any("still HELD past its expiry" in v for v in _audit_primitives(p).violations)

    p = _primitives()
    stuck = p["ops"]["stuck"]
    p["records"]["holds"][stuck.key] = _hold_view(stuck, "CAPTURED", "1.00")
    texts = "\n".join(_audit_primitives(p).violations)
    assert "captured to the frozen account" in texts and "which no capture of it" in texts


def test_a_transaction_applies_its_legs_iff_posted():
    p = _primitives()
    rejected = p["ops"]["rejected"].key
    _with_entry(p, p["w"].frozen, ("credit", "USD", "20.00", rejected))
    f = _audit_primitives(p)
    assert any(f"transaction {rejected} credit of 2000 USD on ca-frozen" in d for d in f.duplicated), f.duplicated

    p = _primitives()
    posted = p["ops"]["posted"].key
    p["histories"][p["w"].house] = []
    p["balances"][p["w"].house] = _balance(p["w"].house)
    assert any(f"transaction {posted} credit of 3 USD on ca-house" in x for x in _audit_primitives(p).lost)

    p = _primitives()
    p["records"]["transactions"][rejected] = _transaction_view(p["ops"]["rejected"], "POSTED")
    texts = "\n".join(_audit_primitives(p).violations)
    assert "POSTED though a leg names the frozen account" in texts and "answered 409" in texts


def test_a_batch_counts_as_its_items():
    p = _primitives()
    batch = p["ops"]["batch"].key
    _with_entry(p, B, ("credit", "USD", "1.00", f"{batch}:i0"))
    assert any(f"batch item {batch}:i0 credit" in d for d in _audit_primitives(p).duplicated)

    p = _primitives()
    results = [BatchResult(id="i0", status="COMPLETED"), BatchResult(id="i1", status="COMPLETED"),
               BatchResult(id="i2", status="FAILED", reason="frozen")]
    p["records"]["batches"][batch] = BatchView(batch=batch, status="COMPLETED", results=results)
    f = _audit_primitives(p)
    texts = "\n".join(f.violations)
    assert "COMPLETED to the frozen account" in texts and "answered" in texts
    assert any(f"batch item {batch}:i1 credit" in x for x in f.lost)
    assert any(f"batch item {batch}:i1 refund" in d for d in f.duplicated)


def test_hold_refusals_name_the_status():
    assert hold_refusal_status("hold h-1 is EXPIRED; only a HELD hold can be captured") == "EXPIRED"
    assert hold_refusal_status("hold h-1: the capture was refused: account x is frozen; "
                               "the hold is still HELD") == "HELD"
    assert hold_refusal_status("something else") is None


def test_fault_names_and_topologies():
    assert parse_kinds("mixed") == ("endpoint", "server")
    assert parse_kinds("cluster") == ("node",) and topology_for(("node",)) == "cluster"
    assert parse_kinds("cluster,endpoint") == ("node", "endpoint")
    assert topology_for(parse_kinds("endpoint")) == "single"
    with pytest.raises(ValueError):
        parse_kinds("server,cluster")
    with pytest.raises(ValueError):
        parse_kinds("meteor")


class _FakeTarget:
    def __init__(self):
        self.calls = []

    def kill(self, kind, target=None):
        self.calls.append(("kill", kind))
        return kind

    def recover(self, kind, target=None, timeout_s=0):
        self.calls.append(("recover", kind))

    def invocations_in_flight(self):
        return 2


class _Load:
    in_flight, answered = 3, 0


def test_the_schedule_alternates_kinds_and_ends_on_time():
    target = _FakeTarget()
    schedule = Schedule(("endpoint", "server"), interval_s=0.05, first_s=0.0, min_gap_s=0.0, seed=1)
    import campaign.faults as faults
    saved = dict(faults.DOWN_S)
    faults.DOWN_S.update({"endpoint": (0.0, 0.0), "server": (0.0, 0.0)})
    try:
        start = time.monotonic()
        log = schedule.run(target, _Load(), start=start, end=start + 0.5, abort=threading.Event())
    finally:
        faults.DOWN_S.update(saved)
    took = time.monotonic() - start
    assert 0.5 <= took < 1.5
    kinds = [k for what, k in target.calls if what == "kill"]
    assert 4 <= len(kinds) <= 12 and Counter(kinds)["endpoint"] >= 2 and Counter(kinds)["server"] >= 2
    # each pair of consecutive faults holds both kinds: no kind twice before the other
    assert all(set(kinds[i:i + 2]) == {"endpoint", "server"} for i in range(0, len(kinds) - 1, 2))
    assert target.calls[0::2] == [("kill", k) for k in kinds]
    assert log.by_kind() == dict(Counter(kinds)) and all(e.in_flight == 3 for e in log.events)


def test_the_schedule_stops_when_aborted():
    abort = threading.Event()
    abort.set()
    start = time.monotonic()
    log = Schedule(("endpoint",), interval_s=0.01, first_s=0.0).run(
        _FakeTarget(), _Load(), start=start, end=start + 30, abort=abort)
    assert time.monotonic() - start < 1 and not log.events


def test_an_ingress_that_does_not_know_our_service_yet_is_not_an_answer():
    from campaign.workload import ingress_not_ready

    catching_up = ApiError(404, "service 'Order' not found, make sure to register the service "
                                "before calling it.")
    assert ingress_not_ready(catching_up)
    assert not ingress_not_ready(ApiError(404, "order o-1 not found"))
    assert not ingress_not_ready(ApiError(404, "account a is not open"))
    assert not ingress_not_ready(ApiError(409, "service 'Order' not found"))
