"""A throwaway single-node stack: restate-server and our endpoint on fresh
loopback ports under one folder, signed as `serve` runs them, registered.
The tests, the fault campaign and the benchmark all start theirs here."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from runtime import paths, signing
from runtime.endpoint import DEFAULT_APP, DEFAULT_SERVER, Endpoint
from runtime.process import PortInUseError, free_port, stop_all
from runtime.registration import register_and_wait
from runtime.restate_server import RestateServer

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
# Another process may take a port between choosing it and binding it.
PORT_ATTEMPTS = 3


@dataclass
class SingleNode:
    server: RestateServer
    endpoint: Endpoint
    deployment: dict[str, Any]
    identity: signing.RequestIdentity | None


def distinct_free_ports(count: int) -> list[int]:
    """`count` different ports that are free right now on HOST."""
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port(HOST))
    return list(ports)


def start_single_node(
    workdir: Path,
    app: str = DEFAULT_APP,
    *,
    partitions: int = 1,
    signed: bool = True,
    endpoint_env: Mapping[str, str] | None = None,
    server: str = DEFAULT_SERVER,
    timeout_s: float = START_TIMEOUT_S,
) -> SingleNode:
    """Starts both on fresh ports and registers; on failure stops what it
    started. The key pair (if signed) lives in `workdir`, like serve's."""
    workdir.mkdir(parents=True, exist_ok=True)
    binary = paths.restate_server_bin()
    identity = signing.load_or_create(signing.keys_dir(workdir)) if signed else None
    for attempt in range(1, PORT_ATTEMPTS + 1):
        ingress_port, admin_port, node_port, endpoint_port = distinct_free_ports(4)
        restate = RestateServer(
            workdir / "restate",
            ingress_port=ingress_port,
            admin_port=admin_port,
            node_port=node_port,
            partitions=partitions,
            host=HOST,
            log_path=workdir / "restate-server.log",
            binary=binary,
            request_identity_key=identity.private_key_path if identity else None,
        )
        endpoint = Endpoint(
            app,
            host=HOST,
            port=endpoint_port,
            server=server,
            log_path=workdir / "endpoint.log",
            cwd=paths.project_root(),  # so apps outside the package (tests.*, bench.*) import
            extra_env=endpoint_env,
            identity_keys=[identity.public_key] if identity else None,
        )
        try:
            restate.start(timeout_s)
            endpoint.start(timeout_s)
            deployment = register_and_wait(
                restate.admin_url, restate.ingress_url, endpoint.url, timeout_s=timeout_s
            )
        except PortInUseError:
            stop_all([restate, endpoint], STOP_TIMEOUT_S)
            if attempt == PORT_ATTEMPTS:
                raise
            # The node recorded its old ports in its data; start afresh.
            shutil.rmtree(restate.base_dir, ignore_errors=True)
            continue
        except BaseException:
            stop_all([restate, endpoint], STOP_TIMEOUT_S)
            raise
        return SingleNode(restate, endpoint, deployment, identity)
    raise AssertionError("unreachable")
