"""Resident memory (VmRSS) and CPU time of a process and its descendants,
and of the whole machine, from /proc."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from runtime.process import descendants


def _vmrss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def tree(pid: int | None) -> list[int]:
    """`pid` and all its descendants (granian serves from a worker child)."""
    return [] if pid is None else [pid, *descendants(pid)]


def rss_mb(pid: int | None) -> float:
    """VmRSS of `pid` and its descendants, in MB."""
    return round(sum(_vmrss_kb(p) for p in tree(pid)) / 1024, 1)


def cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) `pid` and its descendants have used."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds all cores together have spent busy (not idle, not
    waiting on I/O) since boot: over a window, its growth divided by the
    window's length is the cores in use, whatever used them."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    # guest time is counted in user time already; steal is time not ours.
    busy = sum(fields[:8]) - idle - iowait - fields[7]
    return busy / os.sysconf("SC_CLK_TCK")


class PeakSampler:
    """Samples the RSS of named processes while a case runs; keeps the peaks."""

    def __init__(self, pids: dict[str, int | None], interval_s: float = 0.25) -> None:
        self.pids = pids
        self.interval_s = interval_s
        self.peak_mb = dict.fromkeys(pids, 0.0)
        self._task: asyncio.Task | None = None

    def sample(self) -> None:
        for name, pid in self.pids.items():
            self.peak_mb[name] = max(self.peak_mb[name], rss_mb(pid))

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval_s)

    async def __aenter__(self) -> "PeakSampler":
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self.sample()
