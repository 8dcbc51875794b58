"""The `ledger` commands of holds, transactions, batches and statements, as
a user runs them against the live stack: readable output, `--json` for
scripts, exit statuses. Expected amounts are written here."""

import json
import subprocess
import sys
from pathlib import Path

LEDGER = str(Path(sys.executable).with_name("ledger"))


def ledger(stack, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([LEDGER, *args, "--url", stack.ingress_url], capture_output=True, text=True,
                          timeout=60, input=stdin)


def as_json(stack, *args: str) -> dict:
    done = ledger(stack, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def opened(stack, new_id, *prefixes: str) -> list[str]:
    ids = [new_id(p) for p in prefixes]
    for account in ids:
        assert ledger(stack, "open", account).returncode == 0
    return ids


def test_hold_place_capture_void_status(stack, new_id):
    carol, dave = opened(stack, new_id, "carol", "dave")
    ledger(stack, "deposit", carol, "100", "USD")
    hold, other = new_id("h"), new_id("h")
    placed = ledger(stack, "hold", "place", carol, "40", "USD", "--target", dave, "--id", hold,
                    "--reference", "card-1", "--meta", "mcc=5812")
    assert placed.returncode == 0, placed.stderr
    assert placed.stdout.splitlines()[:2] == [f"hold {hold}: HELD", f"  {carol} -> {dave}  40.00 USD, captured 0.00"]
    assert "  reference: card-1" in placed.stdout.splitlines() and "  metadata: mcc=5812" in placed.stdout
    captured = ledger(stack, "hold", "capture", hold, "30")
    assert captured.stdout.splitlines()[:2] == [f"hold {hold}: CAPTURED",
                                                f"  {carol} -> {dave}  40.00 USD, captured 30.00"]
    assert as_json(stack, "hold", "status", hold)["captured"] == "30.00"
    refused = ledger(stack, "hold", "void", hold)
    assert (refused.returncode, refused.stderr.strip()) == (
        1, f"error 409: hold {hold} is CAPTURED; only a HELD hold can be voided")
    assert as_json(stack, "hold", "place", carol, "5", "USD", "--id", other)["status"] == "HELD"
    assert as_json(stack, "hold", "void", other)["status"] == "VOIDED"
    missing = ledger(stack, "hold", "status", new_id("h"))
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_transaction_post_and_status(stack, new_id):
    carol, dave, fees = opened(stack, new_id, "carol", "dave", "fees")
    ledger(stack, "deposit", carol, "100", "USD")
    tx = new_id("tx")
    posted = ledger(stack, "transaction", "post", "--id", tx, "--debit", carol, "20", "USD",
                    "--credit", dave, "19.80", "USD", "--credit", fees, "0.20", "USD", "--reference", "order-9")
    assert posted.returncode == 0, posted.stderr
    lines = posted.stdout.splitlines()
    assert lines[0] == f"transaction {tx}: POSTED" and lines[-1] == "  reference: order-9"
    assert [line.split()[:3] for line in lines[2:5]] == [
        [carol, "DEBIT", "20.00"], [dave, "CREDIT", "19.80"], [fees, "CREDIT", "0.20"]]
    shown = as_json(stack, "transaction", "status", tx)
    assert shown["status"] == "POSTED" and [leg["direction"] for leg in shown["legs"]] == ["DEBIT", "CREDIT", "CREDIT"]
    unbalanced = ledger(stack, "transaction", "post", "--debit", carol, "1", "USD", "--credit", dave, "2", "USD")
    assert unbalanced.returncode == 1 and "USD debits 1.00 but credits 2.00" in unbalanced.stderr
    one_leg = ledger(stack, "transaction", "post", "--debit", carol, "1", "USD")
    assert one_leg.returncode == 2 and "at least two legs" in one_leg.stderr


def test_batch_run_from_csv_and_json_and_status(stack, new_id, tmp_path):
    carol, dave = opened(stack, new_id, "carol", "dave")
    ledger(stack, "deposit", carol, "100", "USD")
    csv_file = tmp_path / "payroll.csv"
    csv_file.write_text(f"id,source,target,asset,amount,reference\n"
                        f"p1,{carol},{dave},USD,10.00,slip-1\np2,{carol},{dave},USD,500.00,\n")
    batch = new_id("b")
    ran = ledger(stack, "batch", "run", str(csv_file), "--id", batch)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == f"batch {batch}: COMPLETED, 1 COMPLETED, 1 FAILED, 0 COMPENSATED"
    assert lines[2].split() == ["p1", "COMPLETED"] and lines[3].split()[:3] == ["p2", "FAILED", "insufficient"]
    assert [r["status"] for r in as_json(stack, "batch", "status", batch)["results"]] == ["COMPLETED", "FAILED"]
    from_stdin = ledger(stack, "batch", "run", "-", "--json", stdin=json.dumps(
        [{"id": "x", "source": carol, "target": dave, "asset": "USD", "amount": "1"}]))
    assert json.loads(from_stdin.stdout)["results"] == [{"id": "x", "status": "COMPLETED"}]
    missing = ledger(stack, "batch", "run", str(tmp_path / "none.json"))
    assert missing.returncode == 2 and "none.json" in missing.stderr


def test_statement_opening_entries_closing(stack, new_id):
    [carol] = opened(stack, new_id, "carol")
    ledger(stack, "deposit", carol, "100", "USD", "--reference", "inv-1")
    ledger(stack, "deposit", carol, "1", "EUR")
    ledger(stack, "withdraw", carol, "30", "USD")
    first = as_json(stack, "history", carol, "--limit", "3")["entries"][-1]  # the USD deposit
    shown = as_json(stack, "statement", carol, "--asset", "USD")
    assert (shown["opening"], shown["closing"]) == ({"available": "0.00", "reserved": "0.00"},
                                                    {"available": "70.00", "reserved": "0.00"})
    assert [(e["kind"], e["amount"]) for e in shown["entries"]] == [("deposit", "100.00"), ("withdraw", "30.00")]
    later = as_json(stack, "statement", carol, "--asset", "USD", "--since", str(first["at_ms"] + 1))
    if later["entries"]:  # the withdrawal came a millisecond or more after the deposit
        assert later["opening"]["available"] == "100.00" and later["closing"]["available"] == "70.00"
    text = ledger(stack, "statement", carol, "--asset", "USD").stdout.splitlines()
    assert text[0] == f"statement {carol} USD, the start to now"
    assert text[2].split() == ["opening", "0.00", "0.00"] and text[-1].split() == ["closing", "70.00", "0.00"]
    assert "inv-1" in text[3]
    bad = ledger(stack, "statement", carol, "--asset", "XYZ")
    assert bad.returncode == 2 and "not an asset" in bad.stderr


def test_tags_on_deposit_and_transfer(stack, new_id):
    carol, dave = opened(stack, new_id, "carol", "dave")
    ledger(stack, "deposit", carol, "10", "USD", "--reference", "wire-5", "--meta", "bank=acme", "--meta", "n=1")
    entry = as_json(stack, "history", carol, "--limit", "1")["entries"][0]
    assert (entry["reference"], entry["metadata"]) == ("wire-5", {"bank": "acme", "n": "1"})
    moved = as_json(stack, "transfer", carol, dave, "1", "USD", "--reference", "rent")
    assert moved["reference"] == "rent"
    bad = ledger(stack, "deposit", carol, "1", "USD", "--meta", "novalue")
    assert bad.returncode == 2 and "KEY=VALUE" in bad.stderr
