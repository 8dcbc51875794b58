"""Our restate endpoint: the ASGI app served over h2c in a child process."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runtime.process import ManagedProcess, Supervised, http_url, port_accepts, start_until_ready
from runtime.signing import ENDPOINT_KEYS_ENV

DEFAULT_APP = "actors.app:app"


def _module_argv(module: str) -> Callable[[str, str, int], list[str]]:
    def argv(app: str, host: str, port: int) -> list[str]:
        return [sys.executable, "-m", module, "--app", app, "--host", host, "--port", str(port)]
    return argv


@dataclass(frozen=True)
class AsgiServer:
    """How to run one ASGI server: the command line serving `app` on
    host:port over plain-text HTTP/2, and the signal that stops it."""

    argv: Callable[[str, str, int], list[str]]
    stop_signal: int = signal.SIGTERM


# The ASGI servers an endpoint can run on, by name. Benchmarks add more; each
# must load the app through `runtime.endpoint_main.load_app`, which honours
# the identity keys (ENDPOINT_KEYS_ENV), or signing is silently off.
SERVERS: dict[str, AsgiServer] = {
    "granian": AsgiServer(_module_argv("runtime.granian_main"), signal.SIGINT),
    "hypercorn": AsgiServer(_module_argv("runtime.endpoint_main")),
}
# Chosen by measurement (bench/): 1.6 to 2x tuned hypercorn's no-op rate here.
DEFAULT_SERVER = "granian"


class Endpoint(Supervised):
    """The ASGI app `app` ("module:attribute") served on host:port.

    With `identity_keys` (restate's `publickeyv1_...` strings) the endpoint
    answers only requests signed by one of those keys (401 otherwise);
    without, it accepts unsigned requests.
    """

    def __init__(
        self,
        app: str = DEFAULT_APP,
        *,
        host: str = "127.0.0.1",
        port: int = 9080,
        server: str = DEFAULT_SERVER,
        log_path: Path | str | None = None,
        cwd: Path | str | None = None,
        extra_env: Mapping[str, str] | None = None,
        identity_keys: Sequence[str] | None = None,
    ) -> None:
        if server not in SERVERS:
            raise ValueError(f"unknown ASGI server {server!r}; known: {', '.join(sorted(SERVERS))}")
        self.app = app
        self.host = host
        self.port = port
        self.server = server
        self.identity_keys = list(identity_keys or [])
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        # Only what we were given: a key list inherited from the environment
        # must not turn verification on (or off) behind the caller's back.
        env.pop(ENDPOINT_KEYS_ENV, None)
        if self.identity_keys:
            env[ENDPOINT_KEYS_ENV] = ",".join(self.identity_keys)
        kind = SERVERS[server]
        self._process = ManagedProcess(
            f"endpoint {app} ({server})",
            kind.argv(app, host, port),
            env=env,
            cwd=Path(cwd) if cwd else None,
            log_path=Path(log_path) if log_path else None,
            stop_signal=kind.stop_signal,
        )

    @property
    def url(self) -> str:
        return http_url(self.host, self.port)

    @property
    def signed(self) -> bool:
        """Whether the endpoint refuses unsigned requests."""
        return bool(self.identity_keys)

    @property
    def log_path(self) -> Path | None:
        return self._process.log_path

    def start(self, timeout_s: float | None = None) -> None:
        """Starts serving and waits until the port accepts connections.

        The app is imported before the socket is bound, so an accepting port
        means the app loaded; an import error ends the child and is reported
        with its log.
        """
        start_until_ready(
            self._process,
            host=self.host,
            ports={"endpoint": self.port},
            ready=lambda: port_accepts(self.host, self.port),
            timeout_s=self.START_TIMEOUT_S if timeout_s is None else timeout_s,
        )

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"Endpoint({self.app} on {self.url} via {self.server}, {state})"
