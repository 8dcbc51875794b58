"""Finding stuck or paused invocations through restate's admin API.

restate keeps every unfinished invocation in the `sys_invocation` table of
its SQL introspection API (`POST {admin}/query`). In restate 1.7 its `status`
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

import time
from dataclasses import dataclass
from typing import Any

import httpx

from runtime.process import POLL_INTERVAL_S

DEFAULT_LONG_RUNNING_S = 60.0
_QUERY_TIMEOUT_S = 10.0
_LIMIT = 1000
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


def query(admin_url: str, sql: str, *, timeout_s: float = _QUERY_TIMEOUT_S) -> list[dict[str, Any]]:
    """Runs `sql` on restate's introspection API; answers the rows as dicts."""
    try:
        response = httpx.post(
            f"{admin_url}/query",
            json={"query": sql},
            headers={"accept": "application/json"},
            timeout=timeout_s,
            trust_env=False,
        )
    except httpx.HTTPError as error:
        raise IntrospectionError(
            f"could not query {admin_url}/query: {type(error).__name__}: {error}"
        ) from error
    if not response.is_success:
        raise IntrospectionError(
            f"{admin_url}/query answered {response.status_code}: {response.text[:500]}"
        )
    return response.json().get("rows", [])


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
    deadline = time.monotonic() + settle_s
    while True:
        stuck = stuck_invocations(admin_url, long_running_s=long_running_s)
        if not stuck or time.monotonic() >= deadline:
            return stuck
        time.sleep(max(POLL_INTERVAL_S, 0.5))


def describe_all(stuck: list[StuckInvocation]) -> str:
    return "\n".join(f"  {invocation.describe()}" for invocation in stuck)
