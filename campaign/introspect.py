"""What restate itself says about invocations, through its admin API's SQL."""

from __future__ import annotations

import httpx

IN_FLIGHT_SQL = (
    "SELECT status, count(*) AS n FROM sys_invocation_status "
    "WHERE status != 'completed' GROUP BY status"
)


def invocations_in_flight(admin_url: str, client: httpx.Client) -> dict[str, int]:
    """Invocations not yet completed, counted by status (empty when quiescent).
    Raises httpx.HTTPError when the admin API does not answer."""
    response = client.post(f"{admin_url}/query", json={"query": IN_FLIGHT_SQL},
                           headers={"accept": "application/json"})
    response.raise_for_status()
    return {row["status"]: int(row["n"]) for row in response.json().get("rows", [])}


def count_in_flight(admin_url: str, timeout_s: float = 2.0) -> int | None:
    """How many invocations restate has in flight now; None if it does not say."""
    try:
        with httpx.Client(trust_env=False, timeout=timeout_s) as client:
            return sum(invocations_in_flight(admin_url, client).values())
    except (httpx.HTTPError, ValueError, KeyError):
        return None
