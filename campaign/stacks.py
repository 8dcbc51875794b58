"""The campaign's throwaway stacks and the faults each can suffer.

A stack is restate (one server, or a three-node cluster) plus our endpoint,
registered, all on loopback ports chosen free, data and logs under one work
folder. Each fault is a SIGKILL (`kill`) and a return on the same data and
ports (`recover`), which blocks until the stack serves calls again: every
restarted process healthy AND a real call through each ingress answered.

Processes are spawned from the thread that calls `start`, `recover`, and
must be that thread for the whole campaign (the kernel kills our children
when the thread that spawned them ends, see runtime.process): the runner
calls these from the main thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from campaign import expect
from runtime import stack as runtime_stack
from runtime.endpoint import DEFAULT_APP, Endpoint
from runtime.invocations import count_in_flight
from runtime.poll import Deadline
from runtime.registration import wait_until_ok
from runtime.restate_server import RestateServer
from runtime.stack import ENDPOINT, SERVER, SingleNode, start_single_node

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 120.0

# The endpoint trades with fees, so conservation is proven with the fee
# account in it; the audit reads the same figures from campaign.expect.
ENDPOINT_ENV = {
    "LEDGER_MAKER_FEE_BPS": str(expect.MAKER_BPS),
    "LEDGER_TAKER_FEE_BPS": str(expect.TAKER_BPS),
    "LEDGER_FEE_ACCOUNT": expect.FEE_ACCOUNT,
}

# A real invocation (the Account handler runs and answers 404 for an account
# never opened): proves the ingress, a partition leader and the endpoint all
# answer, which health alone does not.
PROBE_PATH = "/Account/campaign-readiness-probe/balance"

FAULT_ENDPOINT = "endpoint"
FAULT_SERVER = "server"
FAULT_NODE = "node"


def _probe_answered(response: httpx.Response) -> bool:
    # 404 from our handler; the ingress' own 404 for an unknown service says so.
    return response.status_code == 404 and "service '" not in response.text


def wait_serving(ingress_url: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    wait_until_ok(ingress_url, PROBE_PATH, json={}, timeout_s=timeout_s, ok=_probe_answered)


class SingleNodeStack:
    """One restate-server and our endpoint. Faults: `endpoint`, `server`."""

    topology = "single"
    fault_kinds = frozenset({FAULT_ENDPOINT, FAULT_SERVER})

    def __init__(self, node: SingleNode) -> None:
        self.node = node

    @classmethod
    def start(cls, workdir: Path, *, partitions: int = 2, app: str = DEFAULT_APP,
              timeout_s: float = START_TIMEOUT_S) -> SingleNodeStack:
        node = start_single_node(workdir, app, partitions=partitions, endpoint_env=ENDPOINT_ENV,
                                 timeout_s=timeout_s)
        try:
            wait_serving(node.ingress_url, timeout_s)
        except BaseException:
            node.close(STOP_TIMEOUT_S)
            raise
        return cls(node)

    @property
    def server(self) -> RestateServer:
        return self.node.server

    @property
    def endpoint(self) -> Endpoint:
        return self.node.endpoint

    @property
    def ingress_urls(self) -> list[str]:
        return [self.node.ingress_url]

    @property
    def admin_url(self) -> str:
        return self.node.admin_url

    def kill(self, kind: str, target: Any = None) -> str:
        """SIGKILL the endpoint or the server; answers what was killed."""
        self.node.process(self._victim(kind)).kill()
        return "endpoint" if kind == FAULT_ENDPOINT else "restate-server"

    def recover(self, kind: str, target: Any = None, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Brings the killed process back on the same port (and data) and waits
        until a real call goes through again."""
        deadline = Deadline(timeout_s)
        self.node.process(self._victim(kind)).restart(timeout_s)
        wait_serving(self.node.ingress_url, deadline.remaining_s(at_least_s=1.0))

    def _victim(self, kind: str) -> str:
        if kind not in self.fault_kinds:
            raise ValueError(f"a single-node stack has no fault {kind!r}")
        return ENDPOINT if kind == FAULT_ENDPOINT else SERVER

    def invocations_in_flight(self) -> int | None:
        return count_in_flight(self.admin_url)

    def processes(self) -> Mapping[str, int | None]:
        return {"restate-server": self.server.pid if self.server.running else None,
                "endpoint": self.endpoint.pid if self.endpoint.running else None}

    def close(self) -> None:
        self.node.close(STOP_TIMEOUT_S)

    def describe(self) -> dict:
        return _describe(self)


class ClusterStack:
    """A three-node cluster and our endpoint, registered once with node 1's
    admin (the deployment lives in the replicated metadata). Faults:
    `node` (one node at a time, in turn), `endpoint`."""

    topology = "cluster"
    fault_kinds = frozenset({FAULT_NODE, FAULT_ENDPOINT})

    def __init__(self, running: runtime_stack.ClusterStack) -> None:
        self.running = running
        self.cluster = running.cluster
        self.endpoint = running.endpoint
        self._next_victim = 0

    @classmethod
    def start(cls, workdir: Path, *, partitions: int = 4, app: str = DEFAULT_APP,
              timeout_s: float = START_TIMEOUT_S) -> ClusterStack:
        return cls(runtime_stack.start_cluster_stack(
            workdir, app, partitions=partitions, endpoint_env=ENDPOINT_ENV,
            serves=lambda url: _serves(url, timeout_s), timeout_s=timeout_s))

    @property
    def ingress_urls(self) -> list[str]:
        return self.cluster.ingress_urls

    @property
    def admin_url(self) -> str:
        return self.cluster.admin_url

    def kill(self, kind: str, target: Any = None) -> str:
        if kind == FAULT_NODE:
            index = target if target is not None else self.next_victim()
            self.cluster.kill_node(index)
            return f"node-{index}"
        if kind == FAULT_ENDPOINT:
            self.endpoint.kill()
            return "endpoint"
        raise ValueError(f"a cluster stack has no fault {kind!r}")

    def next_victim(self) -> int:
        """Nodes are killed in turn: 1, 2, 3, 1, ..."""
        index = self._next_victim % len(self.cluster.nodes) + 1
        self._next_victim += 1
        return index

    def recover(self, kind: str, target: Any = None, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = Deadline(timeout_s)
        if kind == FAULT_NODE:
            index = int(str(target).rsplit("-", 1)[-1])
            self.cluster.restart_node(index, timeout_s)
        elif kind == FAULT_ENDPOINT:
            self.endpoint.restart(timeout_s)
        else:
            raise ValueError(f"a cluster stack has no fault {kind!r}")
        remaining_s = deadline.remaining_s(at_least_s=1.0)
        self.cluster.wait_ready(lambda url: _serves(url, remaining_s), timeout_s=remaining_s)

    def invocations_in_flight(self) -> int | None:
        # Any live node's admin answers for the whole cluster.
        for node in self.cluster.nodes:
            if node.running:
                found = count_in_flight(node.admin_url)
                if found is not None:
                    return found
        return None

    def processes(self) -> Mapping[str, int | None]:
        found: dict[str, int | None] = {n.node_name: n.pid if n.running else None
                                        for n in self.cluster.nodes}
        found["endpoint"] = self.endpoint.pid if self.endpoint.running else None
        return found

    def close(self) -> None:
        self.running.close(STOP_TIMEOUT_S)

    def describe(self) -> dict:
        return _describe(self)


def _describe(stack: SingleNodeStack | ClusterStack) -> dict:
    return {"topology": stack.topology, "ingress": stack.ingress_urls, "admin": stack.admin_url,
            "endpoint": stack.endpoint.url, "signed": stack.endpoint.signed}


def _serves(ingress_url: str, timeout_s: float) -> bool:
    try:
        wait_serving(ingress_url, timeout_s)
    except TimeoutError:
        return False
    return True
