"""Throwaway stacks: restate (one server, or a three-node cluster) and our
endpoint on fresh loopback ports under one folder, signed as `serve` runs
them, registered. The tests, the fault campaign and the benchmark all start
theirs here, and `serve` builds its two processes with the same recipe
(`node_processes`).

Processes are tied to the thread that spawns them (runtime.process): start
and restart a stack from one thread, the main one.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime import paths, process, signing
from runtime.cluster import Cluster, start_cluster
from runtime.endpoint import DEFAULT_APP, DEFAULT_SERVER, Endpoint
from runtime.poll import Deadline
from runtime.process import Supervised, free_port, on_fresh_ports, stop_all
from runtime.registration import register_and_wait
from runtime.restate_server import RestateServer

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
ENDPOINT, SERVER = "endpoint", "server"  # what a fault test may crash


def distinct_free_ports(count: int) -> list[int]:
    """`count` different ports that are free right now on HOST."""
    return process.distinct_free_ports(count, HOST)


def identity_in(workdir: Path, signed: bool = True) -> signing.RequestIdentity | None:
    """The key pair restate signs with and the endpoint checks, kept in
    `workdir` as serve keeps it in its data folder; None when unsigned."""
    return signing.load_or_create(signing.keys_dir(workdir)) if signed else None


def endpoint_process(
    app: str,
    port: int,
    log_path: Path,
    identity: signing.RequestIdentity | None,
    *,
    host: str = HOST,
    server: str = DEFAULT_SERVER,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Endpoint:
    """Our endpoint serving `app`, accepting only requests signed by
    `identity` (any, when None); not started. It runs in `cwd`, by default
    the project root, so that apps outside the packages (tests.*, bench.*)
    import."""
    return Endpoint(
        app,
        host=host,
        port=port,
        server=server,
        log_path=log_path,
        cwd=cwd or paths.project_root(),
        extra_env=env,
        identity_keys=[identity.public_key] if identity else None,
    )


def node_processes(
    restate_dir: Path,
    logs_dir: Path,
    ports: tuple[int, int, int, int],
    identity: signing.RequestIdentity | None,
    *,
    app: str = DEFAULT_APP,
    host: str = HOST,
    partitions: int = 1,
    server: str = DEFAULT_SERVER,
    endpoint_env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[RestateServer, Endpoint]:
    """restate-server (its data in `restate_dir`) and our endpoint, logging
    into `logs_dir`, on `ports` (ingress, admin, node, endpoint); not started.
    The server signs with `identity` and the endpoint checks it."""
    ingress_port, admin_port, node_port, endpoint_port = ports
    restate = RestateServer(
        restate_dir,
        ingress_port=ingress_port,
        admin_port=admin_port,
        node_port=node_port,
        partitions=partitions,
        host=host,
        log_path=logs_dir / "restate-server.log",
        binary=paths.restate_server_bin(),
        request_identity_key=identity.private_key_path if identity else None,
    )
    endpoint = endpoint_process(app, endpoint_port, logs_dir / "endpoint.log", identity,
                                host=host, server=server, env=endpoint_env, cwd=cwd)
    return restate, endpoint


@dataclass
class SingleNode:
    """A running restate-server and our endpoint, registered. `identity`: the
    key pair the server signs with and the endpoint verifies with, or None
    when the stack runs unsigned. `extra`: endpoints added to it."""

    server: RestateServer
    endpoint: Endpoint
    deployment: dict[str, Any]
    identity: signing.RequestIdentity | None
    workdir: Path
    extra: list[Endpoint] = field(default_factory=list)

    @property
    def ingress_url(self) -> str:
        return self.server.ingress_url

    @property
    def admin_url(self) -> str:
        return self.server.admin_url

    def process(self, victim: str) -> Supervised:
        """The endpoint or the server, by name (ENDPOINT, SERVER)."""
        if victim not in (ENDPOINT, SERVER):
            raise ValueError(f"victim: {ENDPOINT} or {SERVER}, not {victim!r}")
        return self.endpoint if victim == ENDPOINT else self.server

    def kill_endpoint(self) -> None:
        """SIGKILL the endpoint; restate keeps retrying its invocations."""
        self.endpoint.kill()

    def restart_endpoint(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Stops the endpoint if it still runs, then serves again on the same port."""
        self.endpoint.restart(timeout_s)

    def kill_server(self) -> None:
        """SIGKILL restate-server; its data dir stays."""
        self.server.kill()

    def restart_server(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Stops the server if it still runs, then starts it on the same data and ports.
        The deployment is part of that data: no need to register again."""
        self.server.restart(timeout_s)

    def crash(self, victim: str, timeout_s: float = START_TIMEOUT_S) -> None:
        """SIGKILL the `victim` (ENDPOINT or SERVER) and start it again, as
        the fault tests do while operations are in flight."""
        target = self.process(victim)
        target.kill()
        target.restart(timeout_s)

    def reregister(self, timeout_s: float = 30.0) -> dict[str, Any]:
        """Registers the endpoint again (forced) and waits until its services are routable."""
        self.deployment = register_and_wait(
            self.admin_url, self.ingress_url, self.endpoint.url, timeout_s=timeout_s
        )
        return self.deployment

    def add_endpoint(
        self,
        app: str,
        name: str,
        *,
        server: str = DEFAULT_SERVER,
        env: Mapping[str, str] | None = None,
        timeout_s: float = START_TIMEOUT_S,
    ) -> Endpoint:
        """Another endpoint serving `app` on a fresh port, signed like the
        first, registered; its log `endpoint-{name}.log`. Stopped by `close`."""
        endpoint = endpoint_process(app, free_port(HOST), self.workdir / f"endpoint-{name}.log",
                                    self.identity, server=server, env=env)
        self.extra.append(endpoint)
        endpoint.start(timeout_s)
        register_and_wait(self.admin_url, self.ingress_url, endpoint.url, timeout_s=timeout_s)
        return endpoint

    def close(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stops everything; safe to call more than once and after kills."""
        stop_all([self.server, self.endpoint, *self.extra], timeout_s)

    def __enter__(self) -> SingleNode:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.server!r}, {self.endpoint!r})"


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
    identity = identity_in(workdir, signed)

    def attempt(number: int) -> SingleNode:
        if number > 1:  # the node recorded the ports it lost in its data: start afresh
            shutil.rmtree(workdir / "restate", ignore_errors=True)
        restate, endpoint = node_processes(
            workdir / "restate", workdir, tuple(distinct_free_ports(4)), identity,
            app=app, partitions=partitions, server=server, endpoint_env=endpoint_env)
        return SingleNode(restate, endpoint, start_and_register(restate, endpoint, timeout_s), identity, workdir)

    return on_fresh_ports(attempt)


def start_and_register(restate: RestateServer, endpoint: Endpoint, timeout_s: float) -> dict[str, Any]:
    """Starts the server, then the endpoint, and registers the endpoint;
    answers the deployment. Stops both if any step fails."""
    deadline = Deadline(timeout_s)
    try:
        restate.start(deadline.remaining_s(at_least_s=1.0))
        endpoint.start(deadline.remaining_s(at_least_s=1.0))
        return register_and_wait(restate.admin_url, restate.ingress_url, endpoint.url,
                                 timeout_s=deadline.remaining_s(at_least_s=1.0))
    except BaseException:
        stop_all([restate, endpoint], STOP_TIMEOUT_S)
        raise


@dataclass
class ClusterStack:
    """A running cluster and our endpoint, registered once with node 1's
    admin (the deployment lives in the replicated metadata)."""

    cluster: Cluster
    endpoint: Endpoint
    deployment: dict[str, Any]
    identity: signing.RequestIdentity

    def close(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        stop_all([self.endpoint, self.cluster], timeout_s)


def start_cluster_stack(
    workdir: Path,
    app: str = DEFAULT_APP,
    *,
    partitions: int = 4,
    endpoint_env: Mapping[str, str] | None = None,
    serves: Callable[[str], bool] | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> ClusterStack:
    """A three-node cluster (runtime.cluster) and our endpoint, signed,
    registered; ready once `serves(ingress_url)` answers True through every
    node (default: partitions have leaders). On failure stops what it started."""
    workdir.mkdir(parents=True, exist_ok=True)
    identity = identity_in(workdir)
    cluster = start_cluster(workdir / "cluster", partitions=partitions, host=HOST,
                            timeout_s=timeout_s, request_identity_key=identity.private_key_path)
    endpoint = None
    try:
        endpoint = _start_endpoint(workdir, app, identity, endpoint_env, timeout_s)
        cluster.wait_ready(timeout_s=timeout_s)  # partitions have leaders
        deployment = register_and_wait(cluster.admin_url, cluster.ingress_url, endpoint.url,
                                       timeout_s=timeout_s)
        cluster.wait_ready(serves, timeout_s=timeout_s)
    except BaseException:
        stop_all([s for s in (endpoint, cluster) if s is not None], STOP_TIMEOUT_S)
        raise
    return ClusterStack(cluster, endpoint, deployment, identity)


def _start_endpoint(workdir: Path, app: str, identity: signing.RequestIdentity,
                    env: Mapping[str, str] | None, timeout_s: float) -> Endpoint:
    """Our endpoint on a fresh port, started."""

    def attempt(number: int) -> Endpoint:
        endpoint = endpoint_process(app, free_port(HOST), workdir / "endpoint.log", identity, env=env)
        endpoint.start(timeout_s)
        return endpoint

    return on_fresh_ports(attempt)
