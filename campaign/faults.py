"""The fault schedule: which process dies when, and the record of each fault.

Faults come one at a time, `interval_s` apart (counted from the previous
fault's start; never sooner than `min_gap_s` after the stack recovered), the
first one `first_s` after the load began, none starting after the load ends.
Each is a SIGKILL, a short outage (drawn from `down_s`), and a return on the
same data and ports, which blocks until the stack serves calls again. The
kinds alternate in a shuffled order, so a mix of kinds has each kind before
any kind comes twice.

All waits here are the schedule itself (waiting on an Event with a timeout,
so a failed workload ends the schedule at once), never synchronisation: a
recovery is polled with a deadline by the stack.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Protocol

from campaign.stacks import FAULT_ENDPOINT, FAULT_NODE, FAULT_SERVER

KINDS = (FAULT_ENDPOINT, FAULT_SERVER, FAULT_NODE)
# Names a user may give --faults, each standing for kinds.
ALIASES = {
    "none": (),
    "endpoint": (FAULT_ENDPOINT,),
    "server": (FAULT_SERVER,),
    "mixed": (FAULT_ENDPOINT, FAULT_SERVER),
    "node": (FAULT_NODE,),
    "cluster": (FAULT_NODE,),
}
# How long a killed process stays down before it is brought back, by kind.
DOWN_S = {FAULT_ENDPOINT: (0.0, 1.0), FAULT_SERVER: (0.0, 1.0), FAULT_NODE: (2.0, 5.0)}


def parse_kinds(spec: str) -> tuple[str, ...]:
    """`endpoint,server`, `mixed`, `cluster`, `node,endpoint`, ... into kinds, in order."""
    kinds: list[str] = []
    for word in (w.strip().lower() for w in spec.split(",")):
        if not word:
            continue
        if word not in ALIASES:
            raise ValueError(f"unknown fault {word!r}; known: {', '.join(ALIASES)}")
        kinds.extend(k for k in ALIASES[word] if k not in kinds)
    if FAULT_NODE in kinds and FAULT_SERVER in kinds:
        raise ValueError("`server` kills the one restate-server of a single node; on a cluster "
                         "the fault is `node` (one node of three): choose one topology")
    return tuple(kinds)


def topology_for(kinds: tuple[str, ...]) -> str:
    return "cluster" if FAULT_NODE in kinds else "single"


class Target(Protocol):
    def kill(self, kind: str, target: object = None) -> str: ...

    def invocations_in_flight(self) -> int | None: ...

    def recover(self, kind: str, target: object = None, timeout_s: float = ...) -> None: ...


class Load(Protocol):
    in_flight: int
    answered: int


@dataclass
class FaultEvent:
    kind: str
    target: str
    at_s: float  # since the load began
    in_flight: int  # operations waiting for an answer when the process died
    invocations: int | None  # invocations restate had in flight just before
    answered_before: int
    down_s: float
    recovery_s: float = 0.0  # from the return until the stack served calls again
    error: str | None = None


@dataclass
class FaultLog:
    events: list[FaultEvent] = field(default_factory=list)

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(e.kind for e in self.events if e.error is None))

    def to_json(self) -> dict:
        recoveries = [e.recovery_s for e in self.events if e.error is None]
        return {
            "injected": sum(self.by_kind().values()),
            "by_kind": self.by_kind(),
            "failed_recoveries": sum(e.error is not None for e in self.events),
            "in_flight_at_fault": {
                "operations": sum(e.in_flight for e in self.events),
                "operations_min": min((e.in_flight for e in self.events), default=0),
                "invocations": sum(e.invocations or 0 for e in self.events),
            },
            "recovery_s": {
                "max": round(max(recoveries, default=0.0), 2),
                "mean": round(sum(recoveries) / len(recoveries), 2) if recoveries else 0.0,
            },
            "events": [asdict(e) for e in self.events],
        }


@dataclass
class Schedule:
    kinds: tuple[str, ...]
    interval_s: float = 8.0
    first_s: float = 3.0
    min_gap_s: float = 2.0
    seed: int = 0
    log: FaultLog = field(default_factory=FaultLog)

    def run(self, target: Target, load: Load, *, start: float, end: float,
            abort: threading.Event, recover_timeout_s: float = 120.0) -> FaultLog:
        """Injects faults from `start` until `end` (monotonic times); returns at
        `end` or when `abort` is set. A recovery that fails is recorded and
        re-raised: the campaign cannot go on with a broken stack (`self.log`
        keeps what happened)."""
        log = self.log = FaultLog()
        if not self.kinds:
            abort.wait(max(end - time.monotonic(), 0.0))
            return log
        rng = random.Random(self.seed)
        order: list[str] = []
        next_at = start + self.first_s
        max_faults = int((end - start) / max(self.interval_s, 0.1)) + 2
        for _ in range(max_faults):
            if abort.wait(max(min(next_at, end) - time.monotonic(), 0.0)):
                break
            if time.monotonic() >= end:
                break
            if not order:
                order = list(self.kinds)
                rng.shuffle(order)
            kind = order.pop(0)
            low, high = DOWN_S[kind]
            invocations = target.invocations_in_flight()
            event = FaultEvent(kind=kind, target="", at_s=round(time.monotonic() - start, 2),
                               in_flight=load.in_flight, invocations=invocations,
                               answered_before=load.answered,
                               down_s=round(rng.uniform(low, high), 2))
            fault_at = time.monotonic()
            event.target = target.kill(kind)
            log.events.append(event)
            abort.wait(event.down_s)
            back_at = time.monotonic()
            try:
                target.recover(kind, event.target, recover_timeout_s)
            except BaseException as error:
                event.error = f"{type(error).__name__}: {error}"
                raise
            finally:
                event.recovery_s = round(time.monotonic() - back_at, 2)
            next_at = max(fault_at + self.interval_s, time.monotonic() + self.min_gap_s)
        abort.wait(max(end - time.monotonic(), 0.0))
        return log
