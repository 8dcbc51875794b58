"""Registering our endpoint with restate-server, and knowing when calls get through.

Health is not readiness: the server answers its health checks before it knows
our services, and the endpoint may still be starting when we register. Each
step here therefore retries until it succeeds or its deadline passes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from runtime.process import POLL_INTERVAL_S

_ATTEMPT_TIMEOUT_S = 10.0
# restate 1.7's ingress wording for a service it does not know (yet).
_UNKNOWN_SERVICE = re.compile(r"service '[^']*' not found")


class RegistrationError(RuntimeError):
    """The endpoint could not be registered, or its services never became callable."""


def _remaining_s(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def register(
    admin_url: str, endpoint_url: str, *, force: bool = True, timeout_s: float = 30.0
) -> dict[str, Any]:
    """Registers the deployment at `endpoint_url`; answers restate's description of it.

    Retries while the admin API is unreachable or answers 5xx (restate answers
    500 when it cannot reach the endpoint yet); a 4xx, such as a conflicting
    change without `force`, is final.
    """
    deadline = time.monotonic() + timeout_s
    body = {"uri": endpoint_url, "force": force}
    last_problem = "no attempt made"
    with httpx.Client(trust_env=False) as client:
        while True:
            try:
                response = client.post(
                    f"{admin_url}/deployments",
                    json=body,
                    timeout=min(_ATTEMPT_TIMEOUT_S, max(_remaining_s(deadline), 0.1)),
                )
            except httpx.HTTPError as error:
                last_problem = f"{type(error).__name__}: {error}"
            else:
                if response.is_success:
                    return response.json()
                last_problem = f"HTTP {response.status_code}: {response.text}"
                if response.status_code < 500:
                    break
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_INTERVAL_S)
    raise RegistrationError(
        f"could not register {endpoint_url} with {admin_url}: {last_problem}"
    )


def service_names(deployment: Mapping[str, Any]) -> list[str]:
    """The services a registration answer lists."""
    return [service["name"] for service in deployment.get("services", [])]


def wait_services_known(
    ingress_url: str, services: Iterable[str], *, timeout_s: float = 30.0
) -> None:
    """Waits until the ingress routes to every service in `services`.

    Asks for a handler that does not exist: the ingress answers that itself
    (no invocation, no state touched), saying either that the service is
    unknown or that only the handler is. Should the wording change, this
    stops waiting rather than waiting forever.
    """
    deadline = time.monotonic() + timeout_s
    pending = list(services)
    with httpx.Client(base_url=ingress_url, trust_env=False, timeout=_ATTEMPT_TIMEOUT_S) as client:
        while pending:
            name = pending[0]
            try:
                response = client.post(f"/{name}/readiness-probe/__no_such_handler__", json={})
                known = not _UNKNOWN_SERVICE.search(response.text)
            except httpx.HTTPError:
                known = False
            if known:
                pending.pop(0)
                continue
            if time.monotonic() >= deadline:
                raise RegistrationError(
                    f"the ingress at {ingress_url} still does not know {', '.join(pending)} "
                    f"after {timeout_s:.1f}s"
                )
            time.sleep(POLL_INTERVAL_S)


def wait_until_ok(
    ingress_url: str,
    path: str,
    *,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 30.0,
    ok: Callable[[httpx.Response], bool] = lambda response: response.is_success,
) -> httpx.Response:
    """POSTs `json` to `path` until `ok(response)`; answers that response.

    For a probe call that must go through (after a start, a restart or a
    crash) before a test goes on. Each attempt is a real invocation: use a
    read-only handler or an idempotency-key header when repeats matter.
    """
    deadline = time.monotonic() + timeout_s
    last_problem = "no attempt made"
    with httpx.Client(base_url=ingress_url, trust_env=False) as client:
        while True:
            try:
                response = client.post(
                    path,
                    json=json,
                    headers=headers,
                    timeout=min(_ATTEMPT_TIMEOUT_S, max(_remaining_s(deadline), 0.1)),
                )
            except httpx.HTTPError as error:
                last_problem = f"{type(error).__name__}: {error}"
            else:
                if ok(response):
                    return response
                last_problem = f"HTTP {response.status_code}: {response.text}"
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"POST {ingress_url}{path} did not succeed within {timeout_s:.1f}s; "
                    f"last: {last_problem}"
                )
            time.sleep(POLL_INTERVAL_S)


def register_and_wait(
    admin_url: str,
    ingress_url: str,
    endpoint_url: str,
    *,
    force: bool = True,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Registers, then waits until the ingress knows every registered service."""
    deadline = time.monotonic() + timeout_s
    deployment = register(admin_url, endpoint_url, force=force, timeout_s=timeout_s)
    wait_services_known(
        ingress_url, service_names(deployment), timeout_s=max(_remaining_s(deadline), 1.0)
    )
    return deployment
