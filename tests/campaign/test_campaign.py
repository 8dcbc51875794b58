"""The fault campaign's short runs: careful clients against a throwaway ledger
while its processes are SIGKILLed and brought back; the audit at quiescence
finds nothing lost, nothing applied twice and every invariant holding.

Each test starts its own stack (not the session's): it kills processes.
A long run is `make campaign` (docs/operations.md).
"""

import asyncio
import time
import uuid

import pytest

from campaign.audit import Findings, audit, check_quiescence, resolve_unanswered, wait_quiescent
from campaign.runner import CampaignConfig, run_campaign
from campaign.stacks import SingleNodeStack
from campaign.workload import Item, Leg, Workload
from api.client import AsyncLedgerClient

pytestmark = pytest.mark.live


def _run(tmp_path, **settings) -> dict:
    config = CampaignConfig(workdir=tmp_path / "campaign", out=tmp_path / "campaign.json",
                            clients=10, first_fault_s=2.0, **settings)
    return run_campaign(config)


def _assert_clean(result: dict) -> None:
    assert "error" not in result, result["error"]
    assert result["audited"], "the audit did not run"
    assert (result["lost"], result["duplicated"], result["violations"]) == (0, 0, 0), \
        result["audit"]["details"]
    assert result["ok"]
    ops = result["operations"]
    assert ops["acknowledged"] > 50, ops
    # Every kind of operation was sent and answered.
    for kind in ("deposit", "withdraw", "transfer", "place", "cancel", "hold", "capture", "void",
                 "transaction", "batch"):
        assert ops["by_kind"].get(kind, {}).get("acknowledged", 0) > 0, (kind, ops["by_kind"])
    checked = result["audit"]["checked"]
    assert checked.get("trades", 0) > 0, "no order ever filled"
    # The audit judged each outcome of the new primitives: holds captured and
    # expired (their timers fired under the faults), transactions posted,
    # batch items completed and refused.
    for outcome in ("holds_captured", "holds_expired", "transactions_posted", "batch_items_completed"):
        assert checked.get(outcome, 0) > 0, (outcome, checked)
    assert checked.get("batch_items_failed", 0) + checked.get("batch_items_compensated", 0) > 0, checked


def _assert_faults_hit_load(result: dict, kinds: set[str]) -> None:
    faults = result["faults"]
    assert set(faults["by_kind"]) == kinds and all(n >= 1 for n in faults["by_kind"].values()), faults
    assert faults["failed_recoveries"] == 0
    # Each kill found operations waiting for their answer, and each kind of
    # kill found invocations restate had in flight: the faults hit work
    # under way, not an idle stack.
    assert all(e["in_flight"] > 0 for e in faults["events"]), faults["events"]
    for kind in kinds:
        assert sum(e["invocations"] or 0 for e in faults["events"] if e["kind"] == kind) > 0, \
            (kind, faults["events"])


def test_single_node_survives_endpoint_and_server_kills(tmp_path):
    result = _run(tmp_path, duration_s=15, faults="mixed", fault_interval_s=4)
    _assert_clean(result)
    _assert_faults_hit_load(result, {"endpoint", "server"})
    # A server kill cuts the clients' connections: answers were lost and
    # the operations sent again with the same id or key.
    assert result["operations"]["retried_operations"] > 0, result["operations"]


def test_cluster_survives_the_loss_and_return_of_a_node(tmp_path):
    result = _run(tmp_path, duration_s=15, faults="cluster", fault_interval_s=6)
    _assert_clean(result)
    _assert_faults_hit_load(result, {"node"})
    assert result["campaign"]["topology"] == "cluster"


def test_operations_left_unanswered_learn_their_outcome_from_the_state(tmp_path):
    """Operations whose every attempt timed out (the endpoint was dead) are
    'unacknowledged'; once the stack is back the audit learns what became of
    them: deposits and withdrawals by sending them again with the same key
    (answered once, applied once), transfers, orders, holds, transactions and
    batches by reading them, a capture by its hold's final status."""
    stack = SingleNodeStack.start(tmp_path / "stack")
    try:
        workload = Workload(stack.ingress_urls, run_id="u" + uuid.uuid4().hex[:5], clients=1,
                            accounts=2, attempt_timeout_s=1.0)
        a, b = workload.accounts
        held = workload._new("hold", b, asset="USD", amount_minor=700)
        ops = [
            workload._deposit(a, "USD", 12_345),
            workload._new("withdraw", a, asset="USD", amount_minor=2_000),
            workload._new("transfer", a, target=b, asset="USD", amount_minor=3_000),
            workload._new("place", b, side="BUY", quantity_minor=1_000_000, price=1000, tif="GTC"),
            workload._new("hold", a, target=b, asset="USD", amount_minor=1_500),
            workload._new("transaction", a, legs=(Leg(a, "USD", 2_000, "DEBIT"), Leg(b, "USD", 1_990, "CREDIT"),
                                                  Leg(workload.house, "USD", 10, "CREDIT"))),
            workload._new("batch", a, items=(Item("i0", a, b, "USD", 1_000),
                                             Item("i1", b, workload.frozen, "USD", 500))),
        ]
        capture = workload._new("capture", b, hold=held.key, asset="USD", amount_minor=300)

        async def send_while_endpoint_is_dead():
            clients = [AsyncLedgerClient(url, timeout_s=1.0) for url in workload.ingress_urls]
            try:
                await workload.setup(clients)
                await workload.execute(held, clients, 0)
                assert held.outcome == "applied", held.summary()
                stack.kill("endpoint")
                give_up_at = time.monotonic() + 1.5
                await asyncio.gather(*(workload.execute(op, clients, 0, give_up_at=give_up_at)
                                       for op in (*ops, capture)))
            finally:
                for client in clients:
                    await client.aclose()

        asyncio.run(send_while_endpoint_is_dead())
        assert [op.outcome for op in (*ops, capture)] == [None] * 8, [op.summary() for op in ops]
        stack.recover("endpoint")
        findings = Findings()
        check_quiescence(findings, wait_quiescent(stack.admin_url, timeout_s=60))
        assert asyncio.run(resolve_unanswered(workload)) == 8
        assert [op.resolved_by for op in (*ops, capture)] == ["resend", "resend"] + ["state"] * 6
        assert all(op.outcome == "applied" for op in ops), [op.summary() for op in ops]
        asyncio.run(audit(workload, findings))
        assert (findings.lost, findings.duplicated, findings.violations) == ([], [], [])
        # the set-up funds each account and the house in two assets
        assert findings.checked["deposits"] == 1 + 3 * 2
        assert (findings.checked["holds_captured"], findings.checked["holds_held"]) == (1, 1)
        assert findings.checked["transactions_posted"] == 1
        assert (findings.checked["batch_items_completed"], findings.checked["batch_items_compensated"]) == (1, 1)
    finally:
        stack.close()
