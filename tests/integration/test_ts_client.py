"""The ledger as TypeScript users call it: with the official ingress client,
@restatedev/restate-sdk-clients (pinned in the Makefile, installed in .tools
by `make setup`), from tests/ts_client/calls.mjs.

The point is the calls with no argument, balance(), history() and status():
the client sends them as an empty body with content-type application/json,
which restate-server refuses (400 'Empty body not allowed') for a handler
whose manifest carries an input schema."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from api.client import LedgerClient

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "ts_client" / "calls.mjs"
CLIENT_PACKAGE = ROOT / ".tools" / "node_modules" / "@restatedev" / "restate-sdk-clients"
# Five calls on a warm stack take well under a second; node's own start, a
# fraction of one. Far above both, and below pytest's patience.
NODE_DEADLINE_S = 60.0


def node_executable() -> str:
    # Fail, not skip: CI runs `make setup` first, so a missing node or
    # client means a broken setup, and a skipped test would prove nothing.
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; the TypeScript client test needs node (20 or newer)",
                    pytrace=False)
    if not (CLIENT_PACKAGE / "package.json").is_file():
        pytest.fail(f"@restatedev/restate-sdk-clients is not installed in {CLIENT_PACKAGE.parent}; "
                    "run `make setup`", pytrace=False)
    return node


def run_calls(node: str, ingress_url: str, account: str, transfer: str) -> dict[str, dict]:
    """Runs calls.mjs; answers {call name: its JSON line}."""
    try:
        out = subprocess.run([node, str(SCRIPT), ingress_url, account, transfer], cwd=ROOT,
                             capture_output=True, text=True, timeout=NODE_DEADLINE_S)
    except subprocess.TimeoutExpired as timed_out:
        pytest.fail(f"calls.mjs did not finish within {NODE_DEADLINE_S:g}s; it printed:\n"
                    f"{timed_out.stdout}\n{timed_out.stderr}", pytrace=False)
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    failed = [line for line in lines if "error" in line]
    if out.returncode != 0 or failed:
        pytest.fail(f"calls.mjs exited {out.returncode}; failed calls:\n"
                    + "".join(f"  {line}\n" for line in failed) + f"stderr: {out.stderr}", pytrace=False)
    return {line["call"]: line for line in lines}


def test_the_typescript_client_calls_with_and_without_an_argument(stack, new_id):
    node = node_executable()
    account, source, target, transfer = new_id("ts"), new_id("src"), new_id("dst"), new_id("t")
    with LedgerClient(stack.ingress_url) as client:
        client.open(source)
        client.open(target)
        client.deposit(source, "USD", "5.00")
        client.transfer(transfer, source, target, "USD", "2.50")

    answers = run_calls(node, stack.ingress_url, account, transfer)

    assert list(answers) == ["Account.open", "Account.deposit", "Account.balance", "Account.history",
                             "Transfer.status"]
    opened = answers["Account.open"]["answer"]
    assert (opened["account"], opened["status"], opened["balances"]) == (account, "OPEN", {})
    funded = {"account": account,
              "balances": {"USD": {"available": "10.00", "reserved": "0.00", "total": "10.00"}}}
    assert answers["Account.deposit"]["answer"] == funded
    assert answers["Account.balance"]["answer"] == funded
    history = answers["Account.history"]["answer"]
    assert history["account"] == account and history["next"] is None
    assert [(e["seq"], e["kind"], e.get("amount"), e.get("asset")) for e in history["entries"]] == [
        (2, "deposit", "10.00", "USD"), (1, "open", None, None)]
    assert answers["Transfer.status"]["answer"] == {
        "transfer": transfer, "status": "COMPLETED", "source": source, "target": target,
        "asset": "USD", "amount": "2.50"}
