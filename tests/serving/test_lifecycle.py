"""Clean lifecycle: `ledger serve` stopped by SIGTERM or Ctrl-C leaves no process
behind and no half-written state, and serves the same balances when started
again; a stuck or paused invocation is visible through the admin API."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import httpx
import pytest

from runtime import invocations
from runtime.poll import poll_until
from runtime.process import port_is_free
from runtime.registration import wait_until_ok
from tests.harness import HOST, ServeProcess, alive, cmdline, start_stack

PROBE_APP = "tests.serving.probe_app:app"
DEADLINE_S = 30.0
pytestmark = pytest.mark.live


def _post(base_url: str, path: str, body: object, **headers: str) -> httpx.Response:
    """One call that must go through (the first after a start may take a moment)."""
    return wait_until_ok(base_url, path, json=body, headers=headers, timeout_s=DEADLINE_S)


def _stop_and_check_clean(serve: ServeProcess, sig: int) -> None:
    assert len(serve.children()) == 2, serve.children()  # restate-server and the endpoint
    everything = serve.descendants()
    assert serve.stop(sig, timeout_s=DEADLINE_S) == 0, serve.output
    assert "exited unexpectedly" not in serve.output
    assert not [pid for pid in everything if alive(pid)]
    assert all(port_is_free(HOST, port) for port in serve.ports)


def test_sigterm_then_restart_on_the_other_asgi_server_serves_the_same_balances(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    account = f"life-{uuid.uuid4().hex[:8]}"
    first = ServeProcess(data_dir)  # the real app, actors.app:app
    try:
        first.start()
        assert any(b"runtime.granian_main" in cmdline(pid) for pid in first.children())  # the default
        _post(first.ingress_url, f"/Account/{account}/open", {})
        _post(
            first.ingress_url,
            f"/Account/{account}/deposit",
            {"asset": "USD", "amount": "12.50"},
            **{"idempotency-key": f"{account}-deposit"},
        )
        before = _post(first.ingress_url, f"/Account/{account}/balance", {}).json()
        assert before["balances"]["USD"]["total"] == "12.50", before
        history_before = _post(first.ingress_url, f"/Account/{account}/history", {}).json()
        _stop_and_check_clean(first, signal.SIGTERM)
    finally:
        first.kill()

    # Same data, same ports (the node keeps its address in its data), and the
    # endpoint on the other ASGI server `serve` offers.
    second = ServeProcess(data_dir, ports=first.ports, args=("--asgi-server", "hypercorn"))
    try:
        second.start()
        assert any(b"runtime.endpoint_main" in cmdline(pid) for pid in second.children())
        after = _post(second.ingress_url, f"/Account/{account}/balance", {}).json()
        assert after == before
        history = _post(second.ingress_url, f"/Account/{account}/history", {}).json()
        assert history == history_before
        assert [e["kind"] for e in history["entries"]] == ["deposit", "open"]  # each once
        assert invocations.wait_until_none_stuck(second.admin_url, settle_s=DEADLINE_S) == []
        _stop_and_check_clean(second, signal.SIGINT)  # Ctrl-C
    finally:
        second.kill()


def test_a_stop_during_startup_leaves_nothing_behind(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = ServeProcess(data_dir, app=PROBE_APP)
    try:
        first.spawn()
        # Stop it while restate-server is starting, before the endpoint exists.
        poll_until(
            lambda: any(b"restate-server" in cmdline(pid) for pid in first.children()),
            DEADLINE_S,
            "serve to start restate-server",
        )
        children = first.descendants()
        assert first.stop(signal.SIGTERM, timeout_s=DEADLINE_S) == 0, first.output
        assert "restate-ledger is serving" not in first.output
        assert not [pid for pid in children if alive(pid)]
    finally:
        first.kill()

    # Whatever the interrupted start wrote is whole: the next start serves.
    second = ServeProcess(data_dir, app=PROBE_APP, ports=first.ports)
    try:
        second.start()
        assert _post(second.ingress_url, "/Probe/after-interrupt/add", 3).json() == 3
        _stop_and_check_clean(second, signal.SIGTERM)
    finally:
        second.kill()


def _status_of(admin_url: str, invocation_id: str) -> str | None:
    stuck = invocations.stuck_invocations(admin_url)
    return next((i.status for i in stuck if i.id == invocation_id), None)


def test_a_stuck_then_paused_invocation_is_found_and_clears(tmp_path: Path) -> None:
    with start_stack(tmp_path / "stack", PROBE_APP) as stack:
        admin = stack.admin_url
        assert _post(stack.ingress_url, "/Probe/stuck/add", 1).json() == 1
        assert invocations.stuck_invocations(admin) == []

        # The endpoint is gone: an accepted invocation backs off, and is listed.
        stack.kill_endpoint()
        with httpx.Client(base_url=stack.ingress_url, trust_env=False, timeout=10) as client:
            accepted = client.post("/Probe/stuck/add/send", json=10)
        assert accepted.status_code == 202, accepted.text
        invocation_id = accepted.json()["invocationId"]
        poll_until(
            lambda: _status_of(admin, invocation_id) == "backing-off",
            DEADLINE_S,
            "the invocation to be listed as backing-off",
        )
        [listed] = invocations.stuck_invocations(admin)
        assert listed.target == "Probe/stuck/add" and listed.last_failure, listed

        # An operator pauses it: still listed, now as paused, until resumed.
        with httpx.Client(base_url=admin, trust_env=False, timeout=10) as client:
            assert client.patch(f"/invocations/{invocation_id}/pause").is_success
            poll_until(
                lambda: _status_of(admin, invocation_id) == "paused",
                DEADLINE_S,
                "the invocation to be listed as paused",
            )
            stack.restart_endpoint()
            assert _post(stack.ingress_url, "/Probe/other/add", 1).json() == 1
            # The endpoint serves again, yet a paused invocation is not retried.
            assert _status_of(admin, invocation_id) == "paused"

            assert client.patch(f"/invocations/{invocation_id}/resume").is_success
        assert invocations.wait_until_none_stuck(admin, settle_s=DEADLINE_S) == []
        assert _post(stack.ingress_url, "/Probe/stuck/add", 0).json() == 11
