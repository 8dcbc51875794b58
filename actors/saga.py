"""The thin saga: forward steps with their compensations.

Each compensation is registered *before* its forward step runs, because the
step may have applied while its reply was lost (docs/design.md, rule 5); the step's
handler is idempotent by operation id, and so is the compensation, which
does nothing when the step it undoes never applied.

Policy for a compensation that is refused (a TerminalError): it is recorded
and the remaining compensations still run, so one stuck account never
strands the others. A compensation that fails for any other reason is
retried by Restate until it succeeds; it never gives up on its own.
"""

from __future__ import annotations

from typing import Awaitable, Callable

import restate

Compensation = Callable[[], Awaitable[object]]


class Saga:
    def __init__(self) -> None:
        self._compensations: list[tuple[str, Compensation]] = []

    def on_rollback(self, name: str, compensation: Compensation) -> None:
        self._compensations.append((name, compensation))

    async def rollback(self) -> tuple[str, ...]:
        """Run the compensations newest first; answer the refusals met."""
        refused = []
        while self._compensations:
            name, compensation = self._compensations.pop()
            try:
                await compensation()
            except restate.TerminalError as err:
                refused.append(f"{name}: {err.message}")
        return tuple(refused)
