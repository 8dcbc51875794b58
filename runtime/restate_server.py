"""One restate-server process, run from the npm binary (no Docker)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import httpx

from runtime import paths
from runtime.process import ManagedProcess, Supervised, http_url, start_until_ready
from runtime.signing import SERVER_KEY_ENV

DEFAULT_NODE_NAME = "ledger-1"
_HEALTH_TIMEOUT_S = 1.0


class RestateServer(Supervised):
    """A single-node restate-server; its data lives in `<base_dir>/<node_name>/`.

    The same base dir, node name and ports may be started again after a stop
    or a kill: restate recovers its journal, state and deployments from there.

    With `request_identity_key` (the path of an ed25519 private key in PEM)
    the server signs every request it sends to deployments; the key's path
    goes into the server's environment, its content stays in the file.
    """

    START_TIMEOUT_S = 60.0
    STOP_TIMEOUT_S = 30.0

    def __init__(
        self,
        base_dir: Path | str,
        *,
        node_name: str = DEFAULT_NODE_NAME,
        ingress_port: int = 8080,
        admin_port: int = 9070,
        node_port: int = 5122,
        partitions: int = 1,
        host: str = "127.0.0.1",
        extra_env: Mapping[str, str] | None = None,
        log_path: Path | str | None = None,
        binary: Path | str | None = None,
        request_identity_key: Path | str | None = None,
    ) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.node_name = node_name
        self.ingress_port = ingress_port
        self.admin_port = admin_port
        self.node_port = node_port
        self.partitions = partitions
        self.host = host
        self.extra_env = dict(extra_env or {})
        self.request_identity_key = (
            Path(request_identity_key).resolve() if request_identity_key else None
        )
        self.log_path = Path(log_path) if log_path else self.base_dir / f"{node_name}.log"
        self.binary = Path(binary) if binary else paths.restate_server_bin()
        self._process = ManagedProcess(
            f"restate-server {node_name}",
            [str(self.binary), "--no-logo"],
            env=self.environment(),
            log_path=self.log_path,
        )

    @property
    def ingress_url(self) -> str:
        return http_url(self.host, self.ingress_port)

    @property
    def admin_url(self) -> str:
        return http_url(self.host, self.admin_port)

    @property
    def data_dir(self) -> Path:
        return self.base_dir / self.node_name

    @property
    def ports(self) -> dict[str, int]:
        return {
            "restate ingress": self.ingress_port,
            "restate admin": self.admin_port,
            "restate node": self.node_port,
        }

    @property
    def signs_requests(self) -> bool:
        return self.request_identity_key is not None

    def environment(self) -> dict[str, str]:
        node_address = f"{http_url(self.host, self.node_port)}/"
        env = {
            **os.environ,
            "RESTATE_BASE_DIR": str(self.base_dir),
            "RESTATE_NODE_NAME": self.node_name,
            "RESTATE_INGRESS__BIND_ADDRESS": _bind_address(self.host, self.ingress_port),
            "RESTATE_ADMIN__BIND_ADDRESS": _bind_address(self.host, self.admin_port),
            "RESTATE_BIND_ADDRESS": _bind_address(self.host, self.node_port),
            "RESTATE_ADVERTISED_ADDRESS": node_address,
            "RESTATE_DISABLE_TELEMETRY": "true",
            # Read only when the base dir is fresh; an existing node keeps its count.
            "RESTATE_DEFAULT_NUM_PARTITIONS": str(self.partitions),
            "RESTATE_LOG_FORMAT": "json",
        }
        # Signing is on exactly when we were given a key, whatever the
        # environment we inherited says.
        env.pop(SERVER_KEY_ENV, None)
        if self.request_identity_key is not None:
            env[SERVER_KEY_ENV] = str(self.request_identity_key)
        env.update(self.extra_env)
        return env

    def start(self, timeout_s: float | None = None) -> None:
        """Starts the server and waits until admin and ingress both report healthy."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with httpx.Client(trust_env=False, timeout=_HEALTH_TIMEOUT_S) as client:
            start_until_ready(
                self._process,
                host=self.host,
                ports=self.ports,
                ready=lambda: self._healthy(client),
                timeout_s=self.START_TIMEOUT_S if timeout_s is None else timeout_s,
            )

    def _healthy(self, client: httpx.Client) -> bool:
        try:
            admin = client.get(f"{self.admin_url}/health")
            ingress = client.get(f"{self.ingress_url}/restate/health")
        except httpx.HTTPError:
            return False
        return admin.status_code == 200 and ingress.status_code == 200

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"RestateServer({self.node_name}, ingress {self.ingress_url}, {state})"


def _bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

