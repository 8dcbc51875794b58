"""The `ledger` command as a user runs it: against the live stack, and, for
what needs no ledger (the command line, the output's escaping), in-process or
against a stub ingress."""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from api.responses import (
    AccountView, BookView, HistoryPage, OrderView, TradesPage, TransferView,
)
from runtime.cli import main
from runtime.commands import render, visible

LEDGER = str(Path(sys.executable).with_name("ledger"))
UNREACHABLE_URL = "http://127.0.0.1:9"
CLIENT_COMMANDS = ["open", "deposit", "withdraw", "balance", "history", "statement", "freeze", "unfreeze",
                   "transfer", "transfer-status", "hold place", "hold capture", "hold void", "hold status",
                   "transaction post", "transaction status", "batch run", "batch status",
                   "order place", "order cancel", "order status", "book", "trades"]
# What a terminal may act on: C0, DEL and C1.
CONTROL = {chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))}


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
    assert lines[2].split() == ["3", "debit", "25.00", "USD", "75.00", tid]
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


def test_a_refused_control_character_is_reported_escaped(stack, new_id):
    # The ledger refuses a control character in any string; whatever its
    # message quotes reaches the terminal escaped.
    out = ledger(stack, "open", new_id(), "--owner", "a\x1b[31mred")
    assert out.returncode == 1 and out.stderr.startswith("error 400: "), out.stderr
    assert not CONTROL & set(out.stderr.rstrip("\n")), repr(out.stderr)


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


def test_a_bad_ledger_url_in_the_environment_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setenv("LEDGER_URL", "localhost:8080")
    assert status_of(["balance", "a"]) == 2
    assert capsys.readouterr().err == "error: $LEDGER_URL: 'localhost:8080' is not an http:// or https:// URL\n"


def test_the_command_exits_2_on_a_usage_error():
    out = run("balance")
    assert out.returncode == 2 and "the following arguments are required: ACCOUNT" in out.stderr


def test_a_usage_error_escapes_what_it_quotes():
    out = run("balance", "a", "b\x1b]0;title\x07")
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1] == r"ledger: error: unrecognized arguments: b\x1b]0;title\x07"


# --- control characters from the ledger ---------------------------------------

HOSTILE = "a\u0000b\u001b[31m\u009b2J\u007f\n"
HOSTILE_SHOWN = r"a\x00b\x1b[31m\x9b2J\x7f\x0a"


def test_visible_escapes_every_control_character_and_nothing_else():
    assert visible(HOSTILE) == HOSTILE_SHOWN
    assert visible("".join(sorted(CONTROL))) == "".join(f"\\x{ord(c):02x}" for c in sorted(CONTROL))
    plain = "".join(chr(c) for c in range(0x20, 0x7F)) + "\u00a0é€😀"
    assert visible(plain) == plain


def assert_printable(text: str) -> None:
    """Nothing a terminal acts on, but the newlines render() writes itself."""
    assert not CONTROL & set(text.replace("\n", "")), repr(text)


def test_render_escapes_an_account_owner_and_every_other_string():
    view = AccountView.model_validate({
        "account": "acc\x1b", "owner": HOSTILE, "status": "OPEN",
        "balances": {"US\x07D": {"available": "1.00\x9b", "reserved": "0.00", "total": "1.00"}}})
    text = render(view)
    assert_printable(text)
    assert text.splitlines() == [
        rf"account acc\x1b (OPEN, owner {HOSTILE_SHOWN})",
        r"  asset    available  reserved  total",
        r"  US\x07D   1.00\x9b      0.00   1.00",
    ]


@pytest.mark.parametrize("answer, shown", [
    (TransferView(transfer="t\x1b", status="COMPENSATED", source="s\x00", target="t\x9b", asset="USD",
                  amount="1.00", reason=HOSTILE),
     [r"transfer t\x1b: COMPENSATED", r"  s\x00 -> t\x9b  1.00 USD", f"  reason: {HOSTILE_SHOWN}"]),
    (HistoryPage(account="a\x1b", next=None, entries=[
        {"seq": 1, "kind": "open\x1b", "at_ms": 0, "ref": "r\x07"}]),
     [r"account a\x1b", "  seq  kind      amount  asset  available  ref    reference",
      r"  1    open\x1b                            r\x07"]),
    (OrderView(order="o\x1b", account="a", symbol="BTC-USD", side="BUY", quantity="1", price="2",
               time_in_force="GTC", filled="0", status="CANCELLED", fills=[], reason=HOSTILE),
     [r"order o\x1b: CANCELLED", "  a BUY 1 BTC-USD @ 2 (GTC), filled 0", f"  reason: {HOSTILE_SHOWN}"]),
    (BookView(symbol="X\x1b", bids=[{"price": "1\x9b", "quantity": "2"}], asks=[]),
     [r"book X\x1b", "  bid price  quantity  |  ask price  quantity", r"      1\x9b         2  |"]),
    (TradesPage(symbol="X", next=None, trades=[
        {"seq": 1, "trade": "t\x00", "price": "1", "quantity": "2", "taker_side": "BUY"}]),
     ["trades X", "  seq  trade  taker  price  quantity", r"    1  t\x00  BUY        1         2"]),
], ids=["transfer", "history", "order", "book", "trades"])
def test_render_escapes_every_answer(answer, shown):
    text = render(answer)
    assert_printable(text)
    assert text.splitlines() == shown


# --- against a stub ingress that answers control characters -------------------


class _Stub(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        status, body = self.answers.get(self.path, (404, b'{"message": "no such handler"}'))
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture
def stub_url() -> Iterator[str]:
    """An ingress on a free port answering _Stub.answers, path by path."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        _Stub.answers = {}


STORED = {"account": "a", "owner": HOSTILE, "status": "OPEN", "balances": {}}


def test_an_error_message_goes_to_stderr_escaped(stub_url, capsys):
    _Stub.answers = {"/Account/a/withdraw": (409, json.dumps({"message": f"frozen by {HOSTILE}"}).encode())}
    assert main(["withdraw", "a", "1", "USD", "--url", stub_url]) == 1
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", f"error 409: frozen by {HOSTILE_SHOWN}\n")


def test_an_owner_stored_with_control_characters_prints_escaped(stub_url, capsys):
    _Stub.answers = {"/Account/a/open": (200, json.dumps(STORED).encode())}
    assert main(["open", "a", "--url", stub_url]) == 0
    assert capsys.readouterr().out == f"account a (OPEN, owner {HOSTILE_SHOWN})\n  no balances yet\n"


def test_json_output_escapes_control_characters_as_json_does(stub_url, capsys):
    _Stub.answers = {"/Account/a/open": (200, json.dumps(STORED).encode())}
    assert main(["--json", "open", "a", "--url", stub_url]) == 0
    printed = capsys.readouterr().out
    assert printed.isascii() and not CONTROL & set(printed.rstrip("\n"))
    assert json.loads(printed) == {k: v for k, v in STORED.items()}
