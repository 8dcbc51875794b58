"""A three-node restate cluster on loopback (no Docker), for the fault campaign.

The recipe of docs/design.md ("The restate-server recipe") and docker-compose.yml, as processes:
every node names the same cluster, has its own node name, base dir and
ports, lists every node's advertised address in
RESTATE_METADATA_CLIENT__ADDRESSES, replicates logs and partitions to two
nodes over the replicated log provider, and exactly one node (node 1)
provisions the cluster on its first start.

Health is not readiness. Before the cluster is provisioned a node's ports
accept connections but do not answer, and after provisioning its health
endpoints answer before partitions have leaders. So the cluster is ready
when every node answers health on admin and ingress AND a call through
each node's ingress goes through (`wait_ready`: by default a lookup only a
partition leader answers; once a deployment is registered, a probe the
caller supplies that calls a real handler).

    cluster = start_cluster(workdir)   # all three nodes, until each is healthy
    cluster.wait_ready()               # partitions have leaders
    register_and_wait(cluster.admin_url, cluster.ingress_url, endpoint.url)
    cluster.kill_node(2)         # SIGKILL, as in a crash; its data stays
    cluster.restart_node(2)      # back on the same data and ports
    cluster.stop()
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from runtime import paths
from runtime.poll import Deadline, polls
from runtime.process import (
    PORT_WAIT_S, StartupError, distinct_free_ports, http_url, on_fresh_ports, stop_all, wait_ports_free,
)
from runtime.restate_server import RestateServer

DEFAULT_CLUSTER_NAME = "ledger-cluster"
DEFAULT_NODES = 3
DEFAULT_REPLICATION = 2
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
_HEALTH_TIMEOUT_S = 1.0


class ClusterNode(RestateServer):
    """One node of the cluster: a RestateServer with the cluster's settings in
    its environment (`extra_env`), which can also be spawned without waiting
    for health: nodes 2 and 3 answer no health check until node 1 has
    provisioned the cluster and they have joined it, so the cluster spawns all
    three first and then waits on them together."""

    def __init__(self, index: int, base_dir: Path, **kwargs) -> None:
        super().__init__(base_dir, **kwargs)
        self.index = index

    def spawn(self, timeout_s: float = PORT_WAIT_S) -> None:
        """Starts the process once its ports are free; does not wait for health."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        wait_ports_free(self.host, self.ports, timeout_s)
        self._process.spawn()

    def healthy(self, client: httpx.Client) -> bool:
        return self._healthy(client)

    def describe_failure(self, problem: str) -> str:
        return self._process.describe_failure(problem)

    @property
    def advertised_address(self) -> str:
        return f"{http_url(self.host, self.node_port)}/"

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"ClusterNode({self.index} {self.node_name}, ingress {self.ingress_url}, {state})"


def cluster_env(
    *,
    cluster_name: str,
    index: int,
    metadata_addresses: Sequence[str],
    replication: int = DEFAULT_REPLICATION,
) -> dict[str, str]:
    """The cluster settings of node `index` (1-based), as RESTATE_* variables
    (the same keys as docker-compose.yml, verified against restate 1.7.12)."""
    return {
        "RESTATE_CLUSTER_NAME": cluster_name,
        "RESTATE_FORCE_NODE_ID": str(index),
        "RESTATE_DEFAULT_REPLICATION": str(replication),
        "RESTATE_BIFROST__DEFAULT_PROVIDER": "replicated",
        "RESTATE_METADATA_CLIENT__ADDRESSES": json.dumps(list(metadata_addresses)),
        # Exactly one node provisions the new cluster on its first start.
        "RESTATE_AUTO_PROVISION": "true" if index == 1 else "false",
    }


class Cluster:
    """`nodes` restate-server processes on loopback forming one cluster."""

    def __init__(
        self,
        workdir: Path | str,
        *,
        nodes: int = DEFAULT_NODES,
        partitions: int = 4,
        replication: int = DEFAULT_REPLICATION,
        cluster_name: str = DEFAULT_CLUSTER_NAME,
        host: str = "127.0.0.1",
        ports: Sequence[tuple[int, int, int]] | None = None,
        binary: Path | str | None = None,
        request_identity_key: Path | str | None = None,
    ) -> None:
        """`ports`, one (ingress, admin, node) triple per node; free ones by
        default. With `request_identity_key` (an ed25519 private key in PEM,
        see runtime.signing) every node signs its requests to deployments."""
        if nodes < replication:
            raise ValueError(f"{nodes} nodes cannot replicate to {replication}")
        self.workdir = Path(workdir).resolve()
        self.host = host
        self.cluster_name = cluster_name
        self.partitions = partitions
        self.replication = replication
        self.binary = Path(binary) if binary else paths.restate_server_bin()
        self.request_identity_key = request_identity_key
        triples = list(ports) if ports is not None else _free_triples(host, nodes)
        if len(triples) != nodes:
            raise ValueError(f"{nodes} nodes need {nodes} port triples, got {len(triples)}")
        self.nodes = self._build(triples)

    def _build(self, triples: Sequence[tuple[int, int, int]]) -> list[ClusterNode]:
        addresses = [f"{http_url(self.host, node_port)}/" for _, _, node_port in triples]
        built = []
        for index, (ingress_port, admin_port, node_port) in enumerate(triples, start=1):
            name = f"node-{index}"
            built.append(ClusterNode(
                index,
                self.workdir / name,
                node_name=name,
                ingress_port=ingress_port,
                admin_port=admin_port,
                node_port=node_port,
                partitions=self.partitions,
                host=self.host,
                extra_env=cluster_env(cluster_name=self.cluster_name, index=index,
                                      metadata_addresses=addresses, replication=self.replication),
                log_path=self.workdir / f"{name}.log",
                binary=self.binary,
                request_identity_key=self.request_identity_key,
            ))
        return built

    # --- addresses ---------------------------------------------------------------

    def node(self, index: int) -> ClusterNode:
        """Node `index`, counted from 1 as in its name."""
        if not 1 <= index <= len(self.nodes):
            raise IndexError(f"no node {index}: the cluster has nodes 1 to {len(self.nodes)}")
        return self.nodes[index - 1]

    @property
    def ingress_url(self) -> str:
        """Node 1's ingress (any node takes requests)."""
        return self.nodes[0].ingress_url

    @property
    def admin_url(self) -> str:
        """Node 1's admin API, where the endpoint is registered once for the cluster."""
        return self.nodes[0].admin_url

    @property
    def ingress_urls(self) -> list[str]:
        return [n.ingress_url for n in self.nodes]

    @property
    def admin_urls(self) -> list[str]:
        return [n.admin_url for n in self.nodes]

    @property
    def pids(self) -> list[int | None]:
        return [n.pid if n.running else None for n in self.nodes]

    # --- lifecycle ---------------------------------------------------------------

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Spawns every node, then waits until each answers health on admin and
        ingress. Stops them all if that does not happen within `timeout_s`."""
        deadline = Deadline(timeout_s)
        try:
            for node in self.nodes:
                node.spawn()
            self.wait_healthy(deadline.remaining_s())
        except BaseException:
            self.stop()
            raise

    def wait_healthy(self, timeout_s: float, nodes: Sequence[ClusterNode] | None = None) -> None:
        """Polls until every node in `nodes` (default all) answers health; a node
        that exits meanwhile fails the wait with its log."""
        pending = list(nodes if nodes is not None else self.nodes)
        with httpx.Client(trust_env=False, timeout=_HEALTH_TIMEOUT_S) as client:
            for _ in polls(timeout_s):
                for node in list(pending):
                    if not node.running:
                        raise StartupError(node.describe_failure(
                            f"exited with status {node.returncode} before it was healthy"))
                    if node.healthy(client):
                        pending.remove(node)
                if not pending:
                    return
        names = ", ".join(n.node_name for n in pending)
        raise StartupError(pending[0].describe_failure(f"({names}) not healthy after {timeout_s:.1f}s"))

    def wait_ready(
        self,
        probe: Callable[[str], bool] | None = None,
        *,
        timeout_s: float = START_TIMEOUT_S,
        nodes: Sequence[int] | None = None,
    ) -> None:
        """Every running node healthy AND a call through each node's ingress works.

        `probe(ingress_url)` makes that call and answers whether it went
        through; by default, the ingress is asked for the output of an
        invocation that does not exist, which only a partition leader can
        answer (404), so it works before any deployment is registered. With a
        deployment registered, pass a probe that calls a real (read-only or
        idempotent) handler, which also proves the endpoint answers.
        """
        deadline = Deadline(timeout_s)
        chosen = [self.node(i) for i in nodes] if nodes is not None else [n for n in self.nodes if n.running]
        self.wait_healthy(timeout_s, chosen)
        check = probe or _ingress_answers
        pending = list(chosen)
        for _ in polls(deadline.remaining_s()):
            while pending and check(pending[0].ingress_url):
                pending.pop(0)
            if not pending:
                return
            if not pending[0].running:
                raise StartupError(pending[0].describe_failure(f"exited with status {pending[0].returncode}"))
        raise StartupError(pending[0].describe_failure(
            f"answers health but no call went through its ingress within {timeout_s:.1f}s"))

    def kill_node(self, index: int) -> None:
        """SIGKILL node `index`, as in a crash; its data dir stays."""
        self.node(index).kill()

    def restart_node(self, index: int, timeout_s: float = START_TIMEOUT_S) -> None:
        """Brings node `index` back on the same data and ports (stopping it first
        if it still runs), and waits until it answers health again."""
        node = self.node(index)
        node.stop(STOP_TIMEOUT_S)
        node.spawn()
        self.wait_healthy(timeout_s, [node])

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stops every node; safe after kills and to call twice."""
        stop_all(list(reversed(self.nodes)), timeout_s)

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()

    def log_tails(self, max_lines: int = 20) -> str:
        return "\n".join(f"--- {n.node_name} ---\n{n.log_tail(max_lines)}" for n in self.nodes)

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Cluster({self.cluster_name}, {', '.join(map(repr, self.nodes))})"


def start_cluster(workdir: Path, *, timeout_s: float = START_TIMEOUT_S, **kwargs) -> Cluster:
    """A fresh cluster under `workdir` on free ports, started and healthy; a
    port taken by someone else between choosing and binding is retried."""

    def attempt(number: int) -> Cluster:
        if number > 1:  # the nodes recorded the ports they lost in their data: start afresh
            shutil.rmtree(workdir, ignore_errors=True)
        cluster = Cluster(workdir, **kwargs)
        cluster.start(timeout_s)
        return cluster

    return on_fresh_ports(attempt)


def _free_triples(host: str, nodes: int) -> list[tuple[int, int, int]]:
    ports = distinct_free_ports(3 * nodes, host)
    return [tuple(ports[i:i + 3]) for i in range(0, len(ports), 3)]  # type: ignore[misc]


# A well-formed invocation id no cluster ever made. Asking the ingress for its
# output makes the node find the partition that would own it and ask that
# partition's leader, which answers 404 only once partitions have leaders
# (before, the request hangs); an unknown service, by contrast, the ingress
# answers from its schema alone, from the moment it listens.
_PROBE_INVOCATION = "inv_1hDZHTvhhik76vJa2nh60ss9WQ9ndoyKTv"


def _ingress_answers(ingress_url: str) -> bool:
    """Whether a request through this ingress reached a partition leader and back."""
    try:
        with httpx.Client(trust_env=False, timeout=_HEALTH_TIMEOUT_S * 5) as client:
            response = client.get(f"{ingress_url}/restate/invocation/{_PROBE_INVOCATION}/output")
    except httpx.HTTPError:
        return False
    return response.status_code == 404 and "invocation not found" in response.text


def cluster_environment(cluster: Cluster) -> Mapping[str, str]:
    """RESTATECTL_ADDRESS for restatectl against this cluster (all nodes)."""
    return {"RESTATECTL_ADDRESS": ",".join(n.advertised_address for n in cluster.nodes)}
