"""Structure of docker-compose.yml: the three-node Restate cluster, the ledger
endpoint and the one-shot registration.

No Docker engine is needed: the file is parsed as YAML (anchors and merge
keys resolved) and checked against what a working cluster requires.
"""

import json
import signal
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
NODES = ("restate-1", "restate-2", "restate-3")


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def env(service: dict) -> dict[str, str]:
    """A service's environment as strings, in either compose syntax."""
    raw = service.get("environment", {})
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in raw.items()}


def published(service: dict) -> dict[int, int]:
    """Container port -> host port, from short ("127.0.0.1:8080:8080") or long syntax."""
    result = {}
    for port in service.get("ports", []):
        if isinstance(port, dict):
            result[int(port["target"])] = int(port["published"])
        else:
            *host, container = str(port).split(":")
            result[int(container)] = int(host[-1])
    return result


def command(service: dict) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def depends_on(service: dict) -> dict[str, str]:
    """Dependency -> condition (the short list syntax means service_started)."""
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def test_three_nodes_run_the_pinned_restate_image(services):
    for node in NODES:
        assert services[node]["image"] == "docker.restate.dev/restatedev/restate:1.7.12", node


def test_nodes_share_a_cluster_name_but_each_has_its_own_identity(services):
    envs = [env(services[node]) for node in NODES]
    cluster_names = {e["RESTATE_CLUSTER_NAME"] for e in envs}
    assert len(cluster_names) == 1 and "" not in cluster_names
    assert len({e["RESTATE_NODE_NAME"] for e in envs}) == 3
    # Each node advertises an address the others can reach: its own service
    # name on the compose network.
    for node, e in zip(NODES, envs):
        assert urlsplit(e["RESTATE_ADVERTISED_ADDRESS"]).hostname == node


def test_exactly_one_node_auto_provisions(services):
    flags = [env(services[node])["RESTATE_AUTO_PROVISION"] for node in NODES]
    assert set(flags) <= {"true", "false"}, flags
    assert flags.count("true") == 1, flags


def test_log_and_partitions_are_replicated(services):
    for node in NODES:
        e = env(services[node])
        assert e["RESTATE_DEFAULT_REPLICATION"] == "2", node
        assert e["RESTATE_BIFROST__DEFAULT_PROVIDER"] == "replicated", node


def test_metadata_client_addresses_name_every_node(services):
    advertised = {env(services[node])["RESTATE_ADVERTISED_ADDRESS"] for node in NODES}
    for node in NODES:
        addresses = json.loads(env(services[node])["RESTATE_METADATA_CLIENT__ADDRESSES"])
        assert set(addresses) == advertised, node


def test_node_1_publishes_ingress_8080_and_admin_9070(services):
    ports = published(services["restate-1"])
    assert ports.get(8080) == 8080
    assert ports.get(9070) == 9070


def test_no_two_services_claim_the_same_host_port(services):
    host_ports = [p for s in services.values() for p in published(s).values()]
    assert len(host_ports) == len(set(host_ports)), sorted(host_ports)


def test_ledger_is_built_from_the_repo_and_serves_the_app_on_9080(services):
    ledger = services["ledger"]
    build = ledger["build"]
    assert (build if isinstance(build, str) else build["context"]) == "."
    assert (ROOT / "Dockerfile").is_file()
    exposed = {str(p) for p in ledger.get("expose", [])} | {str(p) for p in published(ledger)}
    assert "9080" in exposed
    cmd = command(ledger)
    assert "actors.app:app" in cmd
    assert "--port 9080" in cmd


def test_ledger_runs_the_default_asgi_server_and_stops_it_as_serve_does(services):
    from runtime.endpoint import DEFAULT_SERVER, SERVERS

    ledger = services["ledger"]
    kind = SERVERS[DEFAULT_SERVER]
    argv = kind.argv("actors.app:app", "0.0.0.0", 9080)[1:]  # past the interpreter's path
    assert command(ledger).split()[1:] == argv
    assert signal.Signals[ledger["stop_signal"]] == kind.stop_signal
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"STOPSIGNAL {signal.Signals(kind.stop_signal).name}" in dockerfile
    assert ", ".join(f'"{arg}"' for arg in argv) in dockerfile


def test_the_image_ships_no_test_doubles_or_tools():
    # The tests' app and its fault-injecting venue live under tests/; the
    # bench's objects under bench/: neither is copied into the image.
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"tests", "bench"} <= set(ignored)


def test_register_posts_the_ledger_uri_to_an_admin_api(services):
    script = command(services["register"])
    assert re.search(r"http://restate-[123]:9070/deployments", script)
    bodies = [json.loads(b) for b in re.findall(r"\{[^{}]*\"uri\"[^{}]*\}", script)]
    assert bodies == [{"uri": "http://ledger:9080"}]


def test_register_waits_for_the_nodes_and_the_ledger(services):
    deps = depends_on(services["register"])
    for name in (*NODES, "ledger"):
        assert deps.get(name) == "service_healthy", name


def test_every_awaited_health_has_a_healthcheck(services):
    for name, service in services.items():
        for dep, condition in depends_on(service).items():
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits on {dep}"
