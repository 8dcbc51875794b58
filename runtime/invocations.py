"""What restate says about invocations, through its admin API's SQL: the one
client of `POST {admin}/query` (`query`), the invocations counted by status,
and finding stuck or paused ones.

restate keeps every unfinished invocation in the `sys_invocation` table of
its SQL introspection API. In restate 1.7 its `status`
is one of: pending (queued behind another call on the same key), scheduled
(a delayed send not yet due), ready, running, suspended (awaiting a timer, a
call or a promise), backing-off, paused, completed.

An invocation counts as **stuck** here when it needs someone to look at it:

- `paused`: restate stopped retrying it (its retries ran out, or an operator
  paused it). It stays until resumed, killed or cancelled, and on a virtual
  object it keeps the key locked: every later call to that account waits.
- `backing-off`: its last attempt failed with a retryable error and restate
  waits to try again (a crash, an unreachable endpoint, a bug that raises).
  The key stays locked meanwhile.
- `running` after failures (`retry_count > 0`): running again, but it failed
  before; it has not yet shown that it recovered.
- `running` for longer than `long_running_s` in one attempt: our handlers
  answer in milliseconds, so this is a hang.

Not stuck: `scheduled` (a good-till-date order's expiry timer not yet due),
`pending` (queued on a busy key), `ready`, `suspended` (waiting on a timer or
on another invocation, which is itself listed if stuck), and `completed`.
Right after a fault, backing-off is normal for a moment: callers that assert
"none stuck" should poll for a while (`wait_until_none_stuck`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from runtime.poll import polls

DEFAULT_LONG_RUNNING_S = 60.0
_QUERY_TIMEOUT_S = 10.0
_LIMIT = 1000
_STUCK_POLL_S = 0.5  # each try is a query: no need to ask more often
STUCK_STATUSES = ("paused", "backing-off")


class IntrospectionError(RuntimeError):
    """The admin API did not answer a query."""


@dataclass(frozen=True)
class StuckInvocation:
    id: str
    target: str
    status: str
    reason: str
    retry_count: int | None = None
    last_failure: str | None = None
    modified_at: str | None = None

    def describe(self) -> str:
        line = f"{self.id} {self.target}: {self.status} ({self.reason})"
        if self.retry_count:
            line += f", {self.retry_count} retries"
        if self.last_failure:
            line += f", last failure: {self.last_failure}"
        return line


def query(
    admin_url: str,
    sql: str,
    *,
    timeout_s: float = _QUERY_TIMEOUT_S,
    client: httpx.Client | None = None,
) -> list[dict[str, Any]]:
    """Runs `sql` on restate's introspection API; answers the rows as dicts.
    `client`: one to reuse across the tries of a poll (with its own timeout)."""
    request = {"json": {"query": sql}, "headers": {"accept": "application/json"}}
    try:
        if client is not None:
            response = client.post(f"{admin_url}/query", **request)
        else:
            response = httpx.post(f"{admin_url}/query", **request, timeout=timeout_s, trust_env=False)
    except httpx.HTTPError as error:
        raise IntrospectionError(
            f"could not query {admin_url}/query: {type(error).__name__}: {error}"
        ) from error
    return _rows(admin_url, response)


def _rows(admin_url: str, response: httpx.Response) -> list[dict[str, Any]]:
    if not response.is_success:
        raise IntrospectionError(
            f"{admin_url}/query answered {response.status_code}: {response.text[:500]}"
        )
    try:
        return response.json().get("rows", [])
    except ValueError as error:
        raise IntrospectionError(f"{admin_url}/query answered no JSON: {error}") from error


def counts_by_status(
    admin_url: str,
    *,
    completed: bool,
    timeout_s: float = _QUERY_TIMEOUT_S,
    client: httpx.Client | None = None,
) -> dict[str, int]:
    """How many invocations restate holds, by status; without the completed
    ones unless `completed` (restate keeps a completed invocation while its
    idempotency key or journal is retained). Empty: nothing in flight."""
    where = "" if completed else "WHERE status != 'completed' "
    rows = query(admin_url, f"SELECT status, count(*) AS n FROM sys_invocation_status {where}GROUP BY status",
                 timeout_s=timeout_s, client=client)
    return {row["status"]: int(row["n"]) for row in rows}


def count_in_flight(admin_url: str, timeout_s: float = 2.0) -> int | None:
    """How many invocations restate has in flight now; None if it does not say."""
    try:
        return sum(counts_by_status(admin_url, completed=False, timeout_s=timeout_s).values())
    except (IntrospectionError, KeyError, TypeError, ValueError):
        return None


def stuck_sql(long_running_s: float = DEFAULT_LONG_RUNNING_S, limit: int = _LIMIT) -> str:
    """The query behind `stuck_invocations`, also handy with curl."""
    statuses = ", ".join(f"'{status}'" for status in (*STUCK_STATUSES, "running"))
    return (
        "SELECT id, target, status, retry_count, last_failure, modified_at, "
        f"(now() - last_start_at) > INTERVAL '{max(int(long_running_s), 1)} seconds' AS long_running "
        f"FROM sys_invocation WHERE status IN ({statuses}) "
        f"ORDER BY modified_at LIMIT {limit}"
    )


def stuck_invocations(
    admin_url: str,
    *,
    long_running_s: float = DEFAULT_LONG_RUNNING_S,
    timeout_s: float = _QUERY_TIMEOUT_S,
) -> list[StuckInvocation]:
    """The invocations that are stuck now (see the module's definition), oldest change first."""
    stuck = []
    for row in query(admin_url, stuck_sql(long_running_s), timeout_s=timeout_s):
        reason = _stuck_reason(row, long_running_s)
        if reason is not None:
            stuck.append(
                StuckInvocation(
                    id=row["id"],
                    target=row.get("target") or "?",
                    status=row["status"],
                    reason=reason,
                    retry_count=row.get("retry_count"),
                    last_failure=row.get("last_failure"),
                    modified_at=row.get("modified_at"),
                )
            )
    return stuck


def _stuck_reason(row: dict[str, Any], long_running_s: float) -> str | None:
    status = row.get("status")
    if status == "paused":
        return "restate stopped retrying; resume, cancel or kill it"
    if status == "backing-off":
        return "its last attempt failed; restate will retry"
    if status == "running" and (row.get("retry_count") or 0) > 0:
        return "running again after failed attempts"
    if status == "running" and row.get("long_running"):
        return f"one attempt has run for over {long_running_s:g}s"
    return None


def wait_until_none_stuck(
    admin_url: str,
    *,
    settle_s: float = 30.0,
    long_running_s: float = DEFAULT_LONG_RUNNING_S,
) -> list[StuckInvocation]:
    """Polls until no invocation is stuck; answers [] then, or after `settle_s`
    the invocations still stuck. A retry after a fault gets the time to land."""
    for _ in polls(settle_s, interval_s=_STUCK_POLL_S):
        stuck = stuck_invocations(admin_url, long_running_s=long_running_s)
        if not stuck:
            break
    return stuck


def describe_all(stuck: list[StuckInvocation]) -> str:
    return "\n".join(f"  {invocation.describe()}" for invocation in stuck)
