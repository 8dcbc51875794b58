"""Fixtures shared by every test folder: the live stack and a client of its ingress."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from runtime import invocations
from tests import harness

# How long the teardown lets retries that follow a fault land before it calls
# what is left stuck.
_STUCK_SETTLE_S = 30.0

_LIVE_FIXTURES = {"stack", "ingress"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that talks to the live stack is `live`, so `-m "not live"` runs
    # the pure tests alone.
    for item in items:
        if _LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.live)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Stack]:
    """restate-server and our endpoint (tests.apps.ledger_app:app), registered; once per session."""
    try:
        running = harness.session_stack(tmp_path_factory.mktemp("stack"))
    except harness.AppImportError as error:
        failure = str(error)
    else:
        failure = None
    if failure is not None:
        # Not a skip: a live suite that silently skips proves nothing.
        pytest.fail(failure, pytrace=False)
    try:
        yield running
        _assert_none_stuck(running)
    finally:
        harness.close_session_stack()


def _assert_none_stuck(stack: harness.Stack) -> None:
    """No invocation the suite started may be left paused, backing off or
    failing (runtime/invocations.py says what counts as stuck)."""
    if not stack.server.running:
        # A test killed it and failed before restarting it; that test's
        # failure is the report.
        return
    stuck = invocations.wait_until_none_stuck(stack.admin_url, settle_s=_STUCK_SETTLE_S)
    if stuck:
        pytest.fail(
            f"{len(stuck)} invocation(s) left stuck after the suite's runs "
            f"(waited {_STUCK_SETTLE_S:g}s for them to settle):\n"
            f"{invocations.describe_all(stuck)}\n"
            f"server log: {stack.server.log_path}; endpoint log: {stack.endpoint.log_path}",
            pytrace=False,
        )


@pytest.fixture
def ingress(stack: harness.Stack) -> Iterator[httpx.Client]:
    """An HTTP client of the stack's ingress."""
    with httpx.Client(base_url=stack.ingress_url, timeout=30.0, trust_env=False) as client:
        yield client
