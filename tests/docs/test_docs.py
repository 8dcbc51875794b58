"""Every example in README.md and docs/*.md, run against a live stack.

The oracle is the docs' text: each example's answer as written is compared
with what a fresh stack (one restate-server, our endpoint, fees 0, as a
first `make serve` gives) answers, so the docs cannot drift from the code.
The pages run in order, README.md first, then docs/*.md by name, each
example in the order written; pages use accounts, ids and symbols of their
own, so each also runs alone on a fresh stack.

How an example is written in the markdown:

- A fenced block ```` ```sh ```` is a script: each line that is not a
  comment is a command (a trailing `\\` joins the next line); the comment
  lines straight after a command are its answer, `# {json}` for a 2xx
  answer, `# 409 {json}` for another status. A command shown with no answer
  must succeed (a 2xx, or exit status 0). `NAME=value` lines
  (`J='content-type: application/json'`) are kept and run before every
  later command of the same page.
- A fenced block ```` ```console ```` is a terminal session: a line
  `$ command` runs, and the lines after it, up to the next `$`, are what it
  prints (standard output and error together). `$ echo $?` prints the
  previous command's exit status.
- A fenced block ```` ```python ```` runs as a script; each `print(...)`
  line ends with a comment giving what it prints (`print(x)  # 100.00`).
- **`skip-doctest`** after the language (```` ```sh skip-doctest ````)
  marks a block that cannot run here (`make serve` itself, docker compose,
  the `restate` CLI, which the project does not install): it is listed as
  a skipped test, with the line it starts on.
- Other blocks (```` ```text ````, tables) are not examples.

How answers are compared: JSON answers as JSON (key order and spacing
aside), text line by line (trailing spaces aside). Timestamps are ignored:
the value of every JSON key ending in `at_ms`, and ISO instants
(`2026-11-22T15:23:30Z`) in text. `localhost:8080`/`127.0.0.1:8080` (the
ingress) and `:9070` (the admin API) are rewritten to the stack's ports;
the `ledger` CLI runs from .venv/bin with LEDGER_URL set to the ingress.
curl runs through a real bash with `-sS` and its status written to
standard error. A query (balance, history, status, book, trades) whose
answer differs is asked again for up to 10 s, since a maker order records
its fill a moment after the taker's `place` answers; nothing that changes
state is ever sent twice.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runtime.poll import polls

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = "skip-doctest"
RUN_LANGUAGES = ("sh", "console", "python")
FEES_OFF = {"LEDGER_MAKER_FEE_BPS": "0", "LEDGER_TAKER_FEE_BPS": "0"}
COMMAND_TIMEOUT_S = 60.0
QUERY_RETRY_S = 10.0
MAX_README_LINES = 300
# curl with its status on standard error, so a pipeline's output stays the body's.
CURL_WRAPPER = "curl() { command curl -sS -w '%{stderr}\\n<<status %{http_code}>>\\n' \"$@\"; }\n"
_STATUS = re.compile(r"<<status (\d{3})>>")
_ASSIGNMENT = re.compile(r"(export\s+)?[A-Za-z_][A-Za-z0-9_]*=('[^']*'|\"[^\"]*\"|\S+)")
_ANSWER_STATUS = re.compile(r"^(\d{3})\s+(.*)$", re.S)
_ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
_QUERY = re.compile(
    r"/(balance|history|status|book|trades|openapi|query)\b|/services\b"
    r"|\bledger\b.*\b(balance|history|transfer-status|status|book|trades)\b"
)
_PRINT_EXPECTS = re.compile(r"^\s*print\(.*\)\s*#\s?(.*)$")


@dataclass
class Example:
    page: Path
    line: int  # where its command starts, 1-based
    kind: str  # "sh", "console" or "python"
    command: str
    expected: str | None  # None: not shown (must succeed)
    skip_reason: str | None = None
    prelude: list[str] = field(default_factory=list)  # assignments run before it

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def is_query(self) -> bool:
        return self.kind != "python" and bool(_QUERY.search(self.command))


# --- reading the examples out of the markdown ----------------------------------


def blocks(page: Path) -> Iterator[tuple[str, list[str], int, list[str]]]:
    """Each fenced block: its language, its flags, the line of its first
    content line (1-based) and its lines."""
    lines = page.read_text().splitlines()
    i = 0
    while i < len(lines):
        fence = lines[i].strip()
        if fence.startswith("```") and len(fence) > 3:
            words = fence[3:].split()
            start, body = i + 2, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            yield words[0], words[1:], start, body
        i += 1


def unclosed_quote(command: str) -> bool:
    """A quoted string runs on to the next line (`python3 -c '...` over lines)."""
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return True
    return False


def sh_examples(page: Path, start: int, body: list[str], prelude: list[str]) -> list[Example]:
    found: list[Example] = []
    current: Example | None = None
    answer: list[str] = []
    i = 0
    while i < len(body):
        line = body[i]
        stripped = line.strip()
        if stripped.startswith("#"):
            if current is not None:
                answer.append(stripped[1:].removeprefix(" "))
            i += 1
            continue
        if current is not None:
            current.expected = "\n".join(answer) if answer else None
            current, answer = None, []
        if not stripped:
            i += 1
            continue
        assert not stripped.startswith("$ "), (
            f"{page.name}:{start + i}: a `$ command` line in a ```sh block; a terminal session is ```console")
        first, command = i, line
        while i + 1 < len(body) and (command.rstrip().endswith("\\") or unclosed_quote(command)):
            i += 1
            command = command + "\n" + body[i]
        i += 1
        if _ASSIGNMENT.fullmatch(command.strip()):
            prelude.append(command.strip())
            continue
        current = Example(page, start + first, "sh", command, None, prelude=list(prelude))
        found.append(current)
    if current is not None:
        current.expected = "\n".join(answer) if answer else None
    return found


def console_examples(page: Path, start: int, body: list[str], prelude: list[str]) -> list[Example]:
    found: list[Example] = []
    for i, line in enumerate(body):
        if line.startswith("$ "):
            found.append(Example(page, start + i, "console", line[2:], "", prelude=list(prelude)))
        elif found:
            found[-1].expected = (found[-1].expected + "\n" + line) if found[-1].expected else line
        elif line.strip():
            raise AssertionError(f"{page.name}:{start + i}: output before any `$ command` line")
    return found


def python_example(page: Path, start: int, body: list[str]) -> Example:
    prints = [m.group(1) for m in map(_PRINT_EXPECTS.match, body) if m]
    unchecked = [n for n, line in enumerate(body) if "print(" in line and not _PRINT_EXPECTS.match(line)]
    assert not unchecked, f"{page.name}:{start + unchecked[0]}: a print(...) without `# what it prints`"
    return Example(page, start, "python", "\n".join(body), "\n".join(prints))


def collect(pages: list[Path]) -> list[Example]:
    examples: list[Example] = []
    for page in pages:
        prelude: list[str] = []
        for language, flags, start, body in blocks(page):
            if language not in RUN_LANGUAGES:
                continue
            if SKIP in flags:
                first = next((n for n, line in enumerate(body) if line.strip()), 0)
                examples.append(Example(page, start + first, language, "\n".join(body), None,
                                        skip_reason=f"{SKIP} at {page.relative_to(ROOT)}:{start + first}: "
                                                    f"{body[first].strip()[:50] if body else ''}"))
            elif language == "sh":
                examples.extend(sh_examples(page, start, body, prelude))
            elif language == "console":
                examples.extend(console_examples(page, start, body, prelude))
            else:
                examples.append(python_example(page, start, body))
    return examples


EXAMPLES = collect(PAGES)


# --- running one --------------------------------------------------------------


@dataclass
class Outcome:
    output: str
    status: int | None  # the HTTP status, when the command ran curl
    exit_status: int
    stderr: str = ""

    def shown(self) -> str:
        return (self.output.strip() + ("\n[stderr] " + self.stderr if self.stderr else "")).strip()


def rewrite(text: str, ingress: str, admin: str) -> str:
    for host in ("localhost", "127.0.0.1"):
        text = text.replace(f"http://{host}:8080", ingress).replace(f"{host}:8080", ingress)
        text = text.replace(f"http://{host}:9070", admin).replace(f"{host}:9070", admin)
    return text


class Runner:
    def __init__(self, ingress_url: str, admin_url: str) -> None:
        self.ingress = ingress_url
        self.admin = admin_url
        self.last_exit = 0
        venv_bin = ROOT / ".venv" / "bin"
        if not venv_bin.is_dir():
            venv_bin = Path(sys.executable).parent
        self.env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
                    "LEDGER_URL": ingress_url}

    def run(self, ex: Example) -> Outcome:
        if ex.kind == "python":
            return self._run([sys.executable, "-c", rewrite(ex.command, self.ingress, self.admin)])
        prelude = "\n".join(ex.prelude)
        command = rewrite(ex.command, self.ingress, self.admin)
        if ex.kind == "console":
            # `$ echo $?` reads the previous command's status, as in a terminal.
            script = f"{prelude}\n(exit {self.last_exit})\n{command} 2>&1"
        else:
            script = f"{CURL_WRAPPER}{prelude}\n{command}"
        outcome = self._run(["bash", "-c", script])
        self.last_exit = outcome.exit_status
        return outcome

    def _run(self, argv: list[str]) -> Outcome:
        done = subprocess.run(argv, cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S)
        statuses = _STATUS.findall(done.stderr)
        return Outcome(done.stdout, int(statuses[-1]) if statuses else None, done.returncode,
                       _STATUS.sub("", done.stderr).strip())


# --- comparing ----------------------------------------------------------------


def without_times(value):
    if isinstance(value, dict):
        return {k: "<time>" if k.endswith("at_ms") else without_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def as_json(text: str):
    try:
        return without_times(json.loads(text))
    except ValueError:
        return None


def as_lines(text: str) -> list[str]:
    lines = [_ISO_INSTANT.sub("<time>", line.rstrip()) for line in text.strip("\n").splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def mismatch(ex: Example, got: Outcome) -> str | None:
    """What is wrong with `got` as the answer to `ex`; None if it is right."""
    if ex.kind == "python" and got.exit_status != 0:
        return f"the script failed (exit status {got.exit_status}): {got.shown()}"
    if ex.expected is None or (ex.kind != "console" and not ex.expected.strip()):
        if got.status is not None and not 200 <= got.status < 300:
            return f"expected success, got status {got.status}: {got.shown()}"
        if got.status is None and got.exit_status != 0:
            return f"expected success, got exit status {got.exit_status}: {got.shown()}"
        return None
    expected = ex.expected
    if ex.kind == "sh":
        wanted_status = 200
        status_match = _ANSWER_STATUS.match(expected.strip())
        if status_match:
            wanted_status, expected = int(status_match.group(1)), status_match.group(2)
        if got.status is not None and got.status != wanted_status:
            return f"expected status {wanted_status}, got {got.status}: {got.shown()}"
        if got.status is None and got.exit_status != 0:
            return f"exit status {got.exit_status}: {got.shown()}"
    wanted_json, got_json = as_json(expected), as_json(got.output)
    if wanted_json is not None and got_json is not None:
        return None if wanted_json == got_json else f"expected {expected.strip()}\n     got {got.shown()}"
    if as_lines(expected) == as_lines(got.output):
        return None
    return "expected:\n" + expected.rstrip() + "\ngot:\n" + got.shown()


# --- the tests ----------------------------------------------------------------


def _param(ex: Example):
    marks = [pytest.mark.skip(reason=ex.skip_reason)] if ex.skip_reason else [pytest.mark.live]
    return pytest.param(ex, id=ex.name, marks=marks)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """A fresh single node with fees 0, as a first `make serve` gives, for this module only."""
    from runtime.stack import start_single_node

    assert shutil.which("curl"), "the docs' examples use curl"
    node = start_single_node(tmp_path_factory.mktemp("docs-stack"), partitions=1, signed=True,
                             endpoint_env=FEES_OFF)
    try:
        yield Runner(node.server.ingress_url, node.server.admin_url)
    finally:
        node.close()


@pytest.mark.parametrize("example", [_param(ex) for ex in EXAMPLES])
def test_example(example: Example, runner: Runner) -> None:
    # A query may show a maker's fill a moment late; anything else runs once.
    for _ in polls(QUERY_RETRY_S if example.is_query else 0, interval_s=0.2):
        problem = mismatch(example, runner.run(example))
        if problem is None:
            break
    assert problem is None, f"{example.name}: {example.command.strip()}\n{problem}"


@pytest.mark.live
def test_a_wrong_answer_in_the_docs_fails(runner: Runner, tmp_path: Path) -> None:
    """The oracle is the text: change an answer and the example fails."""
    page = tmp_path / "wrong.md"
    page.write_text(
        "```sh\n"
        "curl -X POST localhost:8080/Transfer/never-sent-wrong/status\n"
        "# 404 {\"code\": 404, \"message\": \"transfer never-sent-wrong not found\", \"source\": \"invocation\"}\n"
        "curl -X POST localhost:8080/Transfer/never-sent-wrong/status\n"
        "# 404 {\"code\": 404, \"message\": \"transfer never-sent-wrong is missing\", \"source\": \"invocation\"}\n"
        "curl -X POST localhost:8080/Transfer/never-sent-wrong/status\n"
        "# {\"transfer\": \"never-sent-wrong\"}\n"
        "```\n"
        "```console\n"
        "$ ledger transfer-status never-sent-wrong\n"
        "error 404: transfer never-sent-wrong not found\n"
        "$ ledger transfer-status never-sent-wrong\n"
        "error 404: no such transfer\n"
        "```\n"
    )
    right, wrong_message, wrong_status, cli_right, cli_wrong = collect([page])
    assert mismatch(right, runner.run(right)) is None
    assert mismatch(wrong_message, runner.run(wrong_message)) is not None
    assert "expected status 200, got 404" in mismatch(wrong_status, runner.run(wrong_status))
    assert mismatch(cli_right, runner.run(cli_right)) is None
    assert mismatch(cli_wrong, runner.run(cli_wrong)) is not None


def test_the_docs_have_examples_to_check() -> None:
    """A change of format that hid the examples from this test would pass
    it with nothing checked; each page with commands must yield some."""
    run = [ex for ex in EXAMPLES if not ex.skip_reason]
    for page in (ROOT / "README.md", ROOT / "docs" / "api.md", ROOT / "docs" / "cli.md",
                 ROOT / "docs" / "trading.md"):
        assert any(ex.page == page for ex in run), f"{page.name}: no example found to check"


def test_the_readme_links_every_page_and_is_short() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= MAX_README_LINES
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name}" in readme, f"README.md does not link docs/{page.name}"


def test_relative_links_lead_somewhere() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links {target}, which is missing"
