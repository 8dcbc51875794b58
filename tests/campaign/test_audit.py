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
from campaign.workload import Op, Workload
from api.client import ApiError
from api.responses import AssetBalance, BalanceView, BookView, HistoryEntry, OrderView, TransferView

A, B = "ca-a0", "ca-a1"


def _workload() -> Workload:
    w = Workload(["http://127.0.0.1:1"], run_id="t", clients=1, accounts=2)
    w.accounts, w.frozen = [A, B], "ca-frozen"
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


def _audit(w, balances, histories, transfers=None, orders=None) -> Findings:
    findings = Findings()
    balances = {w.frozen: _balance(w.frozen), expect.FEE_ACCOUNT: ApiError(404, "not open"), **balances}
    histories = {w.frozen: [], expect.FEE_ACCOUNT: ApiError(404, "not open"), **histories}
    _Checker(w, findings, balances, histories, transfers or {}, orders or {},
             BookView(symbol="BTC-USD", bids=[], asks=[])).run()
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
    assert "reserved 0, live orders hold 1000" in texts


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
