"""Registering our endpoint with restate-server, and knowing when calls get through.

Health is not readiness: the server answers its health checks before it knows
our services, and the endpoint may still be starting when we register. Each
step here therefore retries until it succeeds or its deadline passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from runtime.poll import Deadline, polls

_ATTEMPT_TIMEOUT_S = 10.0
# restate 1.7's ingress wording for a service it does not know (yet).
_UNKNOWN_SERVICE = re.compile(r"service '[^']*' not found")


class RegistrationError(RuntimeError):
    """The endpoint could not be registered, or its services never became callable."""


def _post_until(
    url: str,
    json: Any,
    *,
    timeout_s: float,
    ok: Callable[[httpx.Response], bool],
    final: Callable[[httpx.Response], bool] = lambda response: False,
    headers: Mapping[str, str] | None = None,
) -> tuple[httpx.Response | None, str]:
    """POSTs `json` to `url` until `ok(response)`, a `final` answer that no
    retry changes, or the deadline. Answers the ok response (None if none
    came) and what went wrong last."""
    last_problem = "no attempt made"
    with httpx.Client(trust_env=False) as client:
        for left_s in polls(timeout_s):
            try:
                response = client.post(url, json=json, headers=headers,
                                        timeout=min(_ATTEMPT_TIMEOUT_S, max(left_s, 0.1)))
            except httpx.HTTPError as error:
                last_problem = f"{type(error).__name__}: {error}"
                continue
            if ok(response):
                return response, ""
            last_problem = f"HTTP {response.status_code}: {response.text}"
            if final(response):
                break
    return None, last_problem


def register(
    admin_url: str, endpoint_url: str, *, force: bool = True, timeout_s: float = 30.0
) -> dict[str, Any]:
    """Registers the deployment at `endpoint_url`; answers restate's description of it.

    Retries while the admin API is unreachable or answers 5xx (restate answers
    500 when it cannot reach the endpoint yet); a 4xx, such as a conflicting
    change without `force`, is final.
    """
    response, problem = _post_until(
        f"{admin_url}/deployments", {"uri": endpoint_url, "force": force}, timeout_s=timeout_s,
        ok=lambda r: r.is_success, final=lambda r: r.status_code < 500)
    if response is None:
        raise RegistrationError(f"could not register {endpoint_url} with {admin_url}: {problem}")
    return response.json()


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
    pending = list(services)
    with httpx.Client(base_url=ingress_url, trust_env=False, timeout=_ATTEMPT_TIMEOUT_S) as client:
        for _ in polls(timeout_s):
            while pending and _service_known(client, pending[0]):
                pending.pop(0)
            if not pending:
                return
    raise RegistrationError(
        f"the ingress at {ingress_url} still does not know {', '.join(pending)} after {timeout_s:.1f}s"
    )


def _service_known(client: httpx.Client, name: str) -> bool:
    try:
        response = client.post(f"/{name}/readiness-probe/__no_such_handler__", json={})
    except httpx.HTTPError:
        return False
    return not _UNKNOWN_SERVICE.search(response.text)


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
    response, problem = _post_until(f"{ingress_url}{path}", json, timeout_s=timeout_s, ok=ok,
                                    headers=headers)
    if response is None:
        raise TimeoutError(
            f"POST {ingress_url}{path} did not succeed within {timeout_s:.1f}s; last: {problem}"
        )
    return response


def register_and_wait(
    admin_url: str,
    ingress_url: str,
    endpoint_url: str,
    *,
    force: bool = True,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Registers, then waits until the ingress knows every registered service."""
    deadline = Deadline(timeout_s)
    deployment = register(admin_url, endpoint_url, force=force, timeout_s=timeout_s)
    wait_services_known(
        ingress_url, service_names(deployment), timeout_s=deadline.remaining_s(at_least_s=1.0)
    )
    return deployment
