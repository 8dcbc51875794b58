"""The `ledger` command as a user runs it: against the live stack, and, for
what needs no ledger (the command line), in-process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.cli import main

LEDGER = str(Path(sys.executable).with_name("ledger"))
UNREACHABLE_URL = "http://127.0.0.1:9"
CLIENT_COMMANDS = ["open", "deposit", "withdraw", "balance", "history", "freeze", "unfreeze",
                   "transfer", "transfer-status", "order place", "order cancel", "order status",
                   "book", "trades"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`ledger` with exactly these arguments (no --url added)."""
    return subprocess.run([LEDGER, *args], capture_output=True, text=True, timeout=60,
                          env=None if env is None else {**os.environ, **env})


def ledger(stack, *args: str) -> subprocess.CompletedProcess:
    return run(*args, "--url", stack.ingress_url)


def status_of(argv: list[str]) -> int:
    """main()'s exit status, whether it returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


# --- against the live stack ---------------------------------------------------


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


@pytest.mark.parametrize("where", [
    lambda url: ["--url", url, "--json", "balance", "{account}"],
    lambda url: ["balance", "{account}", "--url", url, "--json"],
    lambda url: ["--json", "balance", "{account}", "--url", url],
    lambda url: ["--url", url, "balance", "--json", "{account}"],
], ids=["both-before", "both-after", "json-before-url-after", "url-before-json-after"])
def test_url_and_json_go_before_or_after_the_command(stack, new_id, where):
    account = new_id()
    assert ledger(stack, "open", account).returncode == 0
    out = run(*(arg.format(account=account) for arg in where(stack.ingress_url)))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"account": account, "balances": {}}


def test_the_url_after_the_command_wins(stack, new_id):
    account = new_id()
    assert ledger(stack, "open", account).returncode == 0
    good = run("--url", UNREACHABLE_URL, "balance", account, "--url", stack.ingress_url)
    assert good.returncode == 0, good.stderr
    bad = run("--url", stack.ingress_url, "balance", account, "--url", UNREACHABLE_URL)
    assert bad.returncode == 3 and f"cannot reach the ledger at {UNREACHABLE_URL}" in bad.stderr


def test_ledger_url_is_the_default_and_url_overrides_it(stack, new_id):
    account = new_id()
    assert ledger(stack, "open", account).returncode == 0
    from_env = run("balance", account, env={"LEDGER_URL": stack.ingress_url})
    assert from_env.returncode == 0 and from_env.stdout == f"account {account}\n  no balances yet\n"
    overridden = run("--url", stack.ingress_url, "balance", account, env={"LEDGER_URL": UNREACHABLE_URL})
    assert overridden.returncode == 0, overridden.stderr


def test_unreachable_ledger_exits_3():
    out = run("balance", "alice", "--url", UNREACHABLE_URL)
    assert out.returncode == 3 and "cannot reach the ledger" in out.stderr


# --- the command line, with no ledger -----------------------------------------


def test_help_says_where_the_options_go_and_what_each_exit_status_means(capsys):
    assert status_of(["--help"]) == 0
    text = capsys.readouterr().out
    assert "before or after the command" in text and "the one after the command wins" in text
    assert "$LEDGER_URL" in text
    statuses = text[text.index("exit status:"):].splitlines()[1:]
    assert [line.split()[0] for line in statuses if line.startswith("  ") and line.split()[0].isdigit()] == [
        "0", "1", "2", "3"]
    assert "refused by the ledger" in text and "usage error" in text and "could not be reached" in text


@pytest.mark.parametrize("command", CLIENT_COMMANDS)
def test_each_command_has_help(capsys, command):
    assert status_of([*command.split(), "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: ledger {command} ")
    assert "--url URL" in text and "--json" in text and "exit status:" in text


@pytest.mark.parametrize("argv", [
    [],
    ["nope"],
    ["balance"],
    ["balance", "a", "extra"],
    ["history", "a", "--limit", "many"],
    ["balance", "a", "--url", "ftp://127.0.0.1:8080"],
    ["--url", "127.0.0.1:8080", "balance", "a"],
    ["order"],
    ["order", "place", "a", "BTC-USD", "hold", "1", "1"],
    ["order", "place", "a", "BTC-USD", "buy", "1", "1", "--tif", "FOK"],
    ["order", "place", "a", "BTC-USD", "buy", "1", "1", "--tif", "GTD"],
    ["order", "place", "a", "BTC-USD", "buy", "1", "1", "--expires-in-s", "60"],
    ["--json", "serve"],
    ["--url", "http://127.0.0.1:8080", "serve"],
], ids=lambda argv: " ".join(argv) or "nothing")
def test_usage_errors_exit_2(capsys, monkeypatch, argv):
    # Found before any call: were one made, this unreachable URL would exit 3.
    monkeypatch.setenv("LEDGER_URL", UNREACHABLE_URL)
    assert status_of(argv) == 2
    assert "error" in capsys.readouterr().err


def test_the_command_exits_2_on_a_usage_error():
    out = run("balance")
    assert out.returncode == 2 and "the following arguments are required: ACCOUNT" in out.stderr


def test_a_bad_ledger_url_in_the_environment_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setenv("LEDGER_URL", "localhost:8080")
    assert status_of(["balance", "a"]) == 2
    assert capsys.readouterr().err == "error: $LEDGER_URL: 'localhost:8080' is not an http:// or https:// URL\n"
