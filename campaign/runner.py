"""One campaign from start to end: stack up, load and faults, drain, quiescence,
audit, stack down, figures.

The main thread owns the processes (it starts the stack and injects every
fault); the clients run in an asyncio loop in a second thread. The load
runs for `duration_s`; then no new operation starts, those in flight keep
retrying for up to `drain_s`, the audit waits until restate has no
invocation left in flight, learns the outcome of any operation that never got
an answer, and reads everything back.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import random
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from campaign import faults as fault_schedule
from campaign.audit import Findings, audit, check_quiescence, resolve_unanswered, wait_quiescent
from campaign.stacks import ClusterStack, SingleNodeStack
from campaign.workload import ATTEMPT_TIMEOUT_S, Workload
from runtime.poll import polls

LOAD_READY_TIMEOUT_S = 120.0


class CampaignError(RuntimeError):
    """The campaign could not run to its audit (the stack or the clients broke)."""


@dataclass
class CampaignConfig:
    duration_s: float = 60.0
    faults: str = "mixed"
    clients: int = 12
    accounts: int = 8
    seed: int | None = None
    fault_interval_s: float = 8.0
    first_fault_s: float = 3.0
    drain_s: float = 120.0
    partitions: int | None = None  # default: 2 on a single node, 4 on a cluster
    workdir: Path | None = None  # default: a fresh temporary folder
    keep_workdir: bool = False  # kept anyway when the audit finds something
    out: Path | None = None
    kinds: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        self.kinds = fault_schedule.parse_kinds(self.faults)
        if self.duration_s <= 0:
            raise ValueError("--duration-s must be positive")
        if not 1 <= self.clients <= 64:
            raise ValueError("--clients must be from 1 to 64")
        if self.accounts < 2:
            raise ValueError("--accounts must be 2 or more (transfers need two)")
        if self.seed is None:
            self.seed = random.SystemRandom().randrange(2**31)

    @property
    def topology(self) -> str:
        return fault_schedule.topology_for(self.kinds)


def run_campaign(config: CampaignConfig, echo: Callable[[str], None] = print) -> dict:
    """Runs one campaign; answers its figures (also written to `config.out`)."""
    started_wall = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t0 = time.monotonic()
    workdir = Path(config.workdir) if config.workdir else Path(tempfile.mkdtemp(prefix="ledger-campaign-"))
    run_id = uuid.uuid4().hex[:6]
    timings: dict[str, float] = {}
    result: dict = {
        "campaign": {
            "topology": config.topology, "faults": list(config.kinds), "duration_s": config.duration_s,
            "clients": config.clients, "accounts": config.accounts, "seed": config.seed,
            "fault_interval_s": config.fault_interval_s, "run_id": run_id, "started_at": started_wall,
        },
    }
    echo(f"campaign {run_id}: {config.topology} stack, faults {','.join(config.kinds) or 'none'}, "
         f"{config.duration_s:g}s, {config.clients} clients, seed {config.seed}, in {workdir}")
    stack = None
    schedule = fault_schedule.Schedule(config.kinds, interval_s=config.fault_interval_s,
                                       first_s=config.first_fault_s, seed=config.seed)
    workload: Workload | None = None
    findings = Findings()
    try:
        stack = _start_stack(config, workdir)
        unsupported = set(config.kinds) - stack.fault_kinds
        if unsupported:
            raise CampaignError(f"a {stack.topology} stack cannot suffer {sorted(unsupported)}")
        timings["startup_s"] = time.monotonic() - t0
        echo(f"stack up in {timings['startup_s']:.1f}s: {stack.describe()}")

        workload = Workload(stack.ingress_urls, run_id=run_id, clients=config.clients,
                            accounts=config.accounts, seed=config.seed)
        _load_under_faults(config, stack, workload, schedule, timings)
        echo(f"load done: {len(workload.ops)} operations, {schedule.log.by_kind() or 'no'} faults; "
             "waiting for quiescence")
        _settle_and_audit(stack, workload, findings, timings)
    except BaseException as error:
        result["error"] = f"{type(error).__name__}: {error}"
        if workload is not None:  # its clients stop retrying at once
            workload.give_up_at = time.monotonic()
            workload.stop.set()
        raise
    finally:
        if stack is not None:
            stack.close()
            left = {name: pid for name, pid in stack.processes().items() if pid is not None}
            if left:
                result.setdefault("error", f"processes left running: {left}")
        timings["total_s"] = time.monotonic() - t0
        result.update(_figures(workload, schedule.log, findings, timings))
        result["ok"] = result["ok"] and "error" not in result
        keep = config.keep_workdir or not result["ok"]
        if keep:
            result["workdir"] = str(workdir)
        elif not config.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        if config.out:
            Path(config.out).write_text(json.dumps(result, indent=2, default=str) + "\n")
        echo(summary(result))
    return result


def _load_under_faults(config: CampaignConfig, stack, workload: Workload,
                       schedule: fault_schedule.Schedule, timings: dict[str, float]) -> None:
    """The clients' load for `duration_s` while the schedule injects faults,
    then the drain: every operation answered or given up."""
    thread = workload.run_in_thread()
    _wait_loaded(workload)
    load_start = time.monotonic()
    try:
        schedule.run(stack, workload, start=load_start, end=load_start + config.duration_s,
                     abort=workload.finished)
    except BaseException:
        # Interrupted, or the stack did not come back: no drain, give up now.
        timings["load_s"] = time.monotonic() - load_start
        workload.give_up_at = time.monotonic()
        workload.stop.set()
        thread.join(2 * ATTEMPT_TIMEOUT_S)
        raise
    workload.give_up_at = time.monotonic() + config.drain_s
    workload.stop.set()
    timings["load_s"] = time.monotonic() - load_start
    thread.join(config.drain_s + 3 * ATTEMPT_TIMEOUT_S)
    if thread.is_alive():
        raise CampaignError("the clients did not stop within the drain time")
    if workload.error is not None:
        raise CampaignError(f"the clients failed: {workload.error!r}") from workload.error
    timings["drain_s"] = time.monotonic() - load_start - timings["load_s"]


def _settle_and_audit(stack, workload: Workload, findings: Findings, timings: dict[str, float]) -> None:
    """Waits for restate to have nothing in flight, learns the outcome of
    every unanswered operation, then audits."""
    t = time.monotonic()
    seen = wait_quiescent(stack.admin_url)
    if asyncio.run(resolve_unanswered(workload)):
        seen = wait_quiescent(stack.admin_url)  # the resends ran invocations of their own
    check_quiescence(findings, seen)
    timings["quiescence_s"] = time.monotonic() - t
    t = time.monotonic()
    asyncio.run(audit(workload, findings))
    timings["audit_s"] = time.monotonic() - t


def _start_stack(config: CampaignConfig, workdir: Path):
    if config.topology == "cluster":
        return ClusterStack.start(workdir, partitions=config.partitions or 4)
    return SingleNodeStack.start(workdir, partitions=config.partitions or 2)


def _wait_loaded(workload: Workload) -> None:
    """Until the accounts are open and funded (polled with a deadline)."""
    for _ in polls(LOAD_READY_TIMEOUT_S, interval_s=0.1):
        if workload.loaded.is_set():
            return
        if workload.finished.is_set():
            raise CampaignError(f"the clients' set-up failed: {workload.error!r}") from workload.error
    raise CampaignError("the clients' set-up did not finish in time")


def _figures(workload: Workload | None, log: fault_schedule.FaultLog, findings: Findings,
             timings: dict[str, float]) -> dict:
    ops = workload.ops if workload is not None else []
    by_kind: dict[str, Counter] = {}
    for op in ops:
        c = by_kind.setdefault(op.kind, Counter())
        c["sent"] += 1
        if op.acknowledged:
            c["acknowledged"] += 1
            c[op.outcome] += 1
        else:
            c["unacknowledged"] += 1
            c[f"unacknowledged_{op.outcome or 'unknown'}"] += 1
    total = Counter()
    for c in by_kind.values():
        total.update(c)
    attempts = sum(op.attempts for op in ops)
    load_s = timings.get("load_s") or 0.0
    load_ops = [op for op in ops if op.phase == "load"]
    audit_json = findings.to_json()
    completed = "audit_s" in timings
    return {
        "operations": {
            "sent": total["sent"],
            "acknowledged": total["acknowledged"],
            "applied": total["applied"],
            "refused": total["refused"],
            "unacknowledged": total["unacknowledged"],
            "unacknowledged_resolved": {
                k.removeprefix("unacknowledged_"): v for k, v in total.items()
                if k.startswith("unacknowledged_")
            },
            "setup": len(ops) - len(load_ops),
            "attempts": attempts,
            "retried_operations": sum(op.attempts > 1 for op in ops),
            "transport_errors": sum(op.transport_errors for op in ops),
            "server_errors": sum(op.server_errors for op in ops),
            "ingress_not_ready_answers": sum(op.not_ready_answers for op in ops),
            "per_second": round(len(load_ops) / load_s, 1) if load_s else 0.0,
            "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
        },
        "faults": log.to_json(),
        "audit": audit_json,
        "lost": audit_json["lost"],
        "duplicated": audit_json["duplicated"],
        "violations": audit_json["violations"],
        "audited": completed,
        "ok": completed and findings.clean,
        "timings": {k: round(v, 2) for k, v in timings.items()},
    }


def summary(result: dict) -> str:
    ops, faults = result["operations"], result["faults"]
    lines = [
        f"campaign {result['campaign']['run_id']} ({result['campaign']['topology']}, "
        f"faults {','.join(result['campaign']['faults']) or 'none'}, "
        f"{result['timings'].get('load_s', 0):.0f}s of load)",
        f"  operations  sent {ops['sent']}, acknowledged {ops['acknowledged']} "
        f"(applied {ops['applied']}, refused {ops['refused']}), unacknowledged {ops['unacknowledged']} "
        f"{ops['unacknowledged_resolved'] or ''}".rstrip(),
        f"              {ops['per_second']}/s; {ops['retried_operations']} retried, "
        f"{ops['transport_errors']} transport errors, {ops['server_errors']} 5xx, "
        f"{ops['ingress_not_ready_answers']} 'service not found' from an ingress catching up",
        "  by kind     " + ", ".join(f"{k} {v.get('sent', 0)}" for k, v in ops["by_kind"].items()),
        f"  faults      {faults['injected']} injected {faults['by_kind']}, "
        f"in flight at the kills: {faults['in_flight_at_fault']['operations']} operations, "
        f"{faults['in_flight_at_fault']['invocations']} invocations; "
        f"recovery max {faults['recovery_s']['max']}s",
        f"  audit       lost {result['lost']}, duplicated {result['duplicated']}, "
        f"violations {result['violations']}  ({_checked(result['audit']['checked'])})"
        if result["audited"] else "  audit       not run",
    ]
    for name in ("lost", "duplicated", "violations"):
        for line in result["audit"]["details"][name][:10]:
            lines.append(f"    {name}: {line}")
    if "error" in result:
        lines.append(f"  ERROR       {result['error']}")
    if "workdir" in result:
        lines.append(f"  data/logs   {result['workdir']}")
    lines.append("  result      " + ("OK" if result["ok"] else "FAILED"))
    return "\n".join(lines)


def _checked(checked: dict) -> str:
    return ", ".join(f"{v} {k}" for k, v in checked.items())


__all__ = ["CampaignConfig", "CampaignError", "run_campaign", "summary"]
