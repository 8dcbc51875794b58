"""The `ledger` command as a user runs it, against the live stack."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.live

LEDGER = str(Path(sys.executable).with_name("ledger"))


def ledger(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([LEDGER, *args, "--url", stack.ingress_url],
                          capture_output=True, text=True, timeout=60)


def test_walkthrough_reads_well(stack, new_id):
    alice, bob, tid = new_id("alice"), new_id("bob"), new_id("t")
    opened = ledger(stack, "open", alice, "--owner", "Alice")
    assert opened.returncode == 0 and f"account {alice} (OPEN, owner Alice)" in opened.stdout
    assert ledger(stack, "open", bob).returncode == 0
    deposited = ledger(stack, "deposit", alice, "100", "USD")
    assert deposited.stdout.splitlines()[-1].split() == ["USD", "100.00", "0.00", "100.00"]
    moved = ledger(stack, "transfer", alice, bob, "25", "USD", "--id", tid)
    assert moved.stdout.splitlines() == [f"transfer {tid}: COMPLETED", f"  {alice} -> {bob}  25.00 USD"]
    history = ledger(stack, "history", alice, "--limit", "1")
    lines = history.stdout.splitlines()
    assert lines[2].split() == ["3", "debit", "25.00", "USD", tid]
    assert lines[-1] == "older entries: --before 3"


def test_json_output_is_the_contract_answer(stack, new_id):
    account = new_id()
    ledger(stack, "open", account)
    out = ledger(stack, "deposit", account, "0.5", "BTC", "--json")
    assert json.loads(out.stdout) == {"account": account, "balances": {
        "BTC": {"available": "0.50000000", "reserved": "0.00000000", "total": "0.50000000"}}}


def test_refusals_exit_1_with_the_message(stack, new_id):
    account = new_id()
    ledger(stack, "open", account)
    out = ledger(stack, "withdraw", account, "5", "USD")
    assert out.returncode == 1
    assert out.stderr.strip() == f"error 409: insufficient funds on account {account}: available 0.00 USD, requested 5.00 USD"
    bad = ledger(stack, "deposit", account, "1.234", "USD")
    assert bad.returncode == 1 and "error 400: amount: 1.234 has 3 fraction digits" in bad.stderr


def test_unreachable_ledger_exits_3():
    out = subprocess.run([LEDGER, "balance", "alice", "--url", "http://127.0.0.1:9"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 3 and "cannot reach the ledger" in out.stderr
