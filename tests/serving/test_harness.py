"""The runtime and the test harness, proven against a stand-in app (probe_app.py),
so they are tested without depending on `actors`."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime import paths
from runtime.endpoint import SERVERS, Endpoint
from runtime.poll import poll_until
from runtime.process import StartupError, free_port
from runtime.registration import wait_until_ok
from tests.harness import ServeProcess, Stack, alive, cmdline, distinct_free_ports, start_stack

PROBE_APP = "tests.serving.probe_app:app"
DEADLINE_S = 30.0
live = pytest.mark.live


def test_project_root_and_binaries_are_found() -> None:
    root = paths.project_root()
    assert (root / "pyproject.toml").is_file()
    assert paths.restate_server_bin().is_file()
    assert paths.restatectl_bin().is_file()
    assert paths.default_data_dir() == root / ".data"


def test_a_missing_binary_says_to_run_make_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(paths.RESTATE_SERVER_ENV, str(tmp_path / "restate-server"))
    with pytest.raises(paths.SetupError, match="make setup"):
        paths.restate_server_bin()


# Every ASGI server `serve` offers goes through the same crashes and stops.
@pytest.fixture(scope="module", params=sorted(SERVERS))
def probe_stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with start_stack(tmp_path_factory.mktemp("probe-stack"), PROBE_APP, server=request.param) as stack:
        yield stack


def add(stack: Stack, key: str, by: int) -> int:
    """Adds through the ingress, retrying until it goes through; answers the total."""
    response = wait_until_ok(stack.ingress_url, f"/Probe/{key}/add", json=by, timeout_s=DEADLINE_S)
    return response.json()


@live
def test_server_answers_health(probe_stack: Stack) -> None:
    assert probe_stack.server.running and probe_stack.endpoint.running
    with httpx.Client(trust_env=False, timeout=5) as client:
        assert client.get(f"{probe_stack.admin_url}/health").status_code == 200
        assert client.get(f"{probe_stack.ingress_url}/restate/health").status_code == 200
    assert [s["name"] for s in probe_stack.deployment["services"]] == ["Probe"]


@live
def test_call_goes_through_after_endpoint_kill_and_restart(probe_stack: Stack) -> None:
    assert add(probe_stack, "endpoint-crash", 1) == 1
    probe_stack.kill_endpoint()
    assert not probe_stack.endpoint.running

    # Accepted while the endpoint is down; restate delivers it once it is back.
    with httpx.Client(base_url=probe_stack.ingress_url, trust_env=False, timeout=5) as client:
        accepted = client.post("/Probe/endpoint-crash/add/send", json=10)
    assert accepted.status_code == 202, accepted.text

    probe_stack.restart_endpoint()
    wait_until_ok(
        probe_stack.ingress_url,
        "/Probe/endpoint-crash/add",
        json=0,
        timeout_s=DEADLINE_S,
        ok=lambda response: response.is_success and response.json() == 11,
    )
    assert add(probe_stack, "endpoint-crash", 1) == 12


@live
def test_state_survives_server_kill_and_restart(probe_stack: Stack) -> None:
    assert add(probe_stack, "server-crash", 7) == 7
    probe_stack.kill_server()
    assert probe_stack.server.returncode == -signal.SIGKILL

    probe_stack.restart_server()
    assert add(probe_stack, "server-crash", 0) == 7


@live
def test_graceful_stops_are_prompt_and_clean(probe_stack: Stack) -> None:
    assert add(probe_stack, "graceful", 1) == 1  # the server holds a connection to the endpoint
    for process in (probe_stack.endpoint, probe_stack.server):
        started = time.monotonic()
        process.stop(timeout_s=DEADLINE_S)
        # Exited on SIGTERM by itself, not by the SIGKILL that follows a timeout.
        assert process.returncode == 0, process.log_tail()
        assert time.monotonic() - started < 5
    probe_stack.restart_server()
    probe_stack.restart_endpoint()
    assert add(probe_stack, "graceful", 1) == 2


@live
def test_reregister_keeps_serving(probe_stack: Stack) -> None:
    deployment = probe_stack.reregister()
    assert [s["name"] for s in deployment["services"]] == ["Probe"]
    assert add(probe_stack, "reregistered", 2) == 2


@live
def test_endpoint_that_cannot_import_fails_fast_with_its_log(tmp_path: Path) -> None:
    endpoint = Endpoint(
        "tests.serving.no_such_module:app",
        port=free_port(),
        log_path=tmp_path / "endpoint.log",
        cwd=paths.project_root(),
    )
    started = time.monotonic()
    with pytest.raises(StartupError, match="exited early") as raised:
        endpoint.start(timeout_s=DEADLINE_S)
    assert time.monotonic() - started < 10
    assert "No module named 'tests.serving.no_such_module'" in str(raised.value)
    assert not endpoint.running


# --- `ledger serve`, end to end in a subprocess ---


def _start_serve(data_dir: Path, **options) -> ServeProcess:
    """`ledger serve` of the probe app on free ports, once it printed its banner."""
    serve = ServeProcess(data_dir, app=PROBE_APP, **options)
    output = serve.start(DEADLINE_S)
    try:
        assert f"ingress:  {serve.ingress_url}" in output
        assert len(serve.children()) == 2, serve.children()  # restate-server and the endpoint
    except BaseException:
        serve.kill()
        raise
    return serve


@live
def test_serve_runs_in_the_foreground_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    serve = _start_serve(tmp_path / "data")
    try:
        everything = serve.descendants()
        response = wait_until_ok(serve.ingress_url, "/Probe/serve/add", json=3, timeout_s=DEADLINE_S)
        assert response.json() == 3
        assert (tmp_path / "data" / "restate").is_dir()

        assert serve.stop(signal.SIGINT, timeout_s=DEADLINE_S) == 0
        assert not [pid for pid in everything if alive(pid)]
    finally:
        serve.kill()


@live
def test_serve_stops_everything_when_a_child_dies(tmp_path: Path) -> None:
    serve = _start_serve(tmp_path / "data")
    try:
        everything = serve.descendants()
        endpoint_pid = next(pid for pid in serve.children() if b"runtime.granian_main" in cmdline(pid))
        os.kill(endpoint_pid, signal.SIGKILL)
        assert serve.wait(timeout_s=DEADLINE_S) == 1
        poll_until(lambda: not any(alive(pid) for pid in everything), DEADLINE_S, "children to exit")
        assert "exited unexpectedly" in serve.output
    finally:
        serve.kill()


@live
def test_serve_fails_fast_naming_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy_port = taken.getsockname()[1]
        admin_port, endpoint_port, node_port = distinct_free_ports(3)
        serve = ServeProcess(tmp_path / "data", app=PROBE_APP,
                             ports=(busy_port, admin_port, endpoint_port, node_port))
        try:
            serve.spawn()
            assert serve.wait(timeout_s=DEADLINE_S) == 1
        finally:
            serve.kill()
    assert f"{busy_port} (ingress, --ingress-port)" in serve.output
    assert not (tmp_path / "data").exists()  # checked before anything was created
