"""One benchmark session: a fresh stack (and Postgres), set-up, invocation
counts, then every case once per round, alternated: the cases compared
with each other run next to each other, and the order reverses each round
(A B C, C B A, ...), so slow drifts of a shared machine hit them alike."""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import asyncpg
import httpx

from bench import memory, postgres, report, servers
from bench import stack as bench_stack
from bench.cases import DEEP_LEVEL_PRICE, FULL, QUICK, SHALLOW_LEVEL_PRICE, PostgresWorkloads, Sizes, Workloads
from bench.http import RawHttp
from bench.load import Op, Window, measure
from runtime.poll import polls_async
from runtime.process import free_port
from runtime.stack import SingleNode


@dataclass(frozen=True)
class Options:
    quick: bool
    server: str
    rounds: int
    warmup_s: float
    duration_s: float
    call_timeout_s: float
    postgres: bool
    compare: bool
    out: str
    chart: str


@dataclass(frozen=True)
class Case:
    name: str
    system: str  # "restate" or "postgres"
    groups: Callable[[], dict[str, tuple[Op, int]]]
    main: str = "ops"  # the group its figures come from
    slow: bool = False  # an operation of about a second: see SLOW_*


# A batch on restate takes a second or more: its cases get windows at least
# this long (a quick run's 1.25 s would hold a batch or two per client), a
# warm-up in which the first batches end, and the time a batch can take
# behind the others; each batch counts the share of its time in the window.
SLOW_WARMUP_S, SLOW_WINDOW_S, SLOW_TIMEOUT_S = 2.0, 5.0, 60.0


_T0 = time.monotonic()
IDLE_WINDOW_S = 0.5  # the CPU used over this long says whether the stack is idle


def say(line: str) -> None:
    print(f"[{time.monotonic() - _T0:5.1f}s] {line}", flush=True)


def _cases(w: Workloads, pgw: PostgresWorkloads | None, compare: list[str], s: Sizes) -> list[Case]:
    """Every case, those compared with each other next to each other."""
    one = lambda op: lambda: {"ops": (op, s.clients)}  # noqa: E731
    readers = s.clients - s.hot_writers
    hot = lambda handler: lambda: {  # noqa: E731
        "write": (w.deposit("hot", 1), s.hot_writers),
        "read": (w.paced_read("hot0", handler, readers / s.hot_reads_per_s), readers),
    }
    cases = [Case("noop", "restate", one(w.noop("Noop")))]
    cases += [Case(f"noop@{name}", "restate", one(w.noop(bench_stack.noop_service(name))))
              for name in compare]
    cases += [
        Case("deposit", "restate", one(w.deposit("a", s.keys))),
        Case("deposit_floor", "restate", one(w.floor_deposit())),
        Case("deposit_small_population", "restate", one(w.deposit("a", s.accounts_small))),
    ]
    if s.accounts_big > s.keys:
        cases.append(Case("deposit_big_population", "restate", one(w.deposit("a", s.accounts_big))))
    batches = lambda op: lambda: {"ops": (op, s.batch_clients)}  # noqa: E731
    cases += [
        Case("deposit_fresh", "restate", one(w.deposit("fresh", s.history_accounts))),
        Case("deposit_history", "restate", one(w.deposit("hist", s.history_accounts))),
        Case("hold", "restate", one(w.hold())),
        Case("hold_floor", "restate", one(w.floor_hold())),
        Case("transaction", "restate", one(w.transaction())),
        Case("transaction_floor", "restate", one(w.floor_transaction())),
        Case("saga_floor", "restate", one(w.floor_saga("FloorSagaNoop"))),
        Case("transfer_floor", "restate", one(w.floor_saga())),
        Case("transfer", "restate", one(w.transfer())),
        Case("batch", "restate", batches(w.batch()), slow=True),
        Case("batch_floor", "restate", batches(w.floor_batch()), slow=True),
    ]
    if pgw is not None:
        cases += [Case("pg_batch", "postgres", lambda: {"ops": (pgw.batch(), s.pg_batch_clients)}),
                  Case("pg_transfer", "postgres", one(pgw.transfer())),
                  Case("pg_deposit", "postgres", one(pgw.deposit()))]
    cases += [
        Case("place", "restate", one(w.place("BTC-EUR"))),
        Case("place_deep_book", "restate", one(w.place("BTC-USD"))),
        Case("place_level", "restate", one(w.place_at_level(SHALLOW_LEVEL_PRICE))),
        Case("place_deep_level", "restate", one(w.place_at_level(DEEP_LEVEL_PRICE))),
        Case("trade", "restate", one(w.trade())),
        Case("trade_floor", "restate", one(w.floor_pair())),
        Case("hot_shared_read", "restate", hot("balance"), "read"),
        Case("hot_exclusive_read", "restate", hot("bench_read"), "read"),
    ]
    return cases


async def _wait_idle(pids: list[int], max_s: float = 10.0, busy_cores: float = 0.1) -> float:
    """Waits (at most max_s) until the processes together use under
    `busy_cores` of CPU over half a second: set-up leaves restate flushing
    and compacting, which the first case would otherwise pay for."""
    began = time.monotonic()
    before = None
    async for _ in polls_async(max_s, interval_s=IDLE_WINDOW_S):
        now = sum(memory.cpu_s(p) for p in pids)
        if before is not None and now - before < busy_cores * IDLE_WINDOW_S:
            break
        before = now
    return time.monotonic() - began


async def _start_postgres(sizes: Sizes, nonce: str) -> tuple[postgres.Postgres | None, list, PostgresWorkloads | None]:
    try:
        pg = await postgres.start(free_port())
    except (postgres.PostgresUnavailable, OSError, subprocess.CalledProcessError) as error:
        say(f"  NO POSTGRES COMPARISON: {error}")
        return None, [], None
    try:
        await postgres.load_accounts(pg, [f"a{i}" for i in range(sizes.keys)], 10**8)
        conns = [await asyncpg.connect(pg.dsn) for _ in range(sizes.clients)]
    except BaseException:
        pg.stop()
        raise
    say(f"  set-up postgres {pg.version}: {sizes.keys:,} accounts")
    return pg, conns, PostgresWorkloads(conns, sizes, nonce)


def _cpu_reading(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by restate-server, by the endpoint (granian's
    worker included) and by the whole machine (this load generator, Postgres
    and the neighbours too)."""
    return {**{name: memory.cpu_s(pid) for name, pid in pids.items()},
            "machine": memory.machine_busy_s()}


async def _rounds(opts: Options, cases: list[Case], pids: dict[str, int]) -> tuple[dict, dict]:
    """Every case once per round; answers the windows by case and the peak
    RSS of the restate processes while restate cases ran."""
    raw: dict[str, list[dict[str, Window]]] = {c.name: [] for c in cases}
    peak_mb = dict.fromkeys(pids, 0.0)
    for r in range(1, opts.rounds + 1):
        # A B C ... then ... C B A: each neighbour pair runs in both orders.
        for case in cases if r % 2 else cases[::-1]:
            warmup_s, window_s, timeout_s = opts.warmup_s, opts.duration_s, opts.call_timeout_s
            if case.slow:
                warmup_s, window_s = max(warmup_s, SLOW_WARMUP_S), max(window_s, SLOW_WINDOW_S)
                timeout_s = max(timeout_s, SLOW_TIMEOUT_S)
            async with memory.PeakSampler(pids) as sampler:
                windows = await measure(case.groups(), warmup_s, window_s, call_timeout_s=timeout_s,
                                        sample=lambda: _cpu_reading(pids), fractional=case.slow)
            if case.system == "restate":
                peak_mb = {n: max(peak_mb[n], sampler.peak_mb[n]) for n in pids}
            raw[case.name].append(windows)
            main = windows[case.main]
            note = f"  ({main.errors} errors: {main.first_error})" if main.errors else ""
            say(f"  round {r}/{opts.rounds} {case.name:<26} {main.rps:8.{2 if case.slow else 1}f}/s "
                f"p50 {main.pct_ms(50):7.1f} ms  p99 {main.pct_ms(99):7.1f} ms{note}")
    return raw, peak_mb


async def _session(opts: Options, stack: SingleNode, sizes: Sizes, compare: list[str]) -> dict:
    nonce = format(int(time.time() * 1000) % 10**9, "x")
    pids = {"restate_server": stack.server.pid, "endpoint": stack.endpoint.pid}
    await asyncio.sleep(1.0)  # let the fresh processes settle before the idle reading
    rss = {"idle": {n: memory.rss_mb(p) for n, p in pids.items()}}
    say(f"idle RSS: restate-server {rss['idle']['restate_server']} MB, "
        f"endpoint {rss['idle']['endpoint']} MB")
    pg, conns = None, []
    http = RawHttp(bench_stack.HOST, stack.server.ingress_port)
    try:
        w = Workloads(http, sizes, nonce)
        setup_s = await w.setup(say)
        pg, conns, pgw = await _start_postgres(sizes, nonce) if opts.postgres else (None, [], None)
        counts = {
            "noop": await w.count_per_op(stack.admin_url, w.noop("Noop")),
            "deposit": await w.count_per_op(stack.admin_url, w.deposit("a", sizes.keys)),
            "transfer": await w.count_per_op(stack.admin_url, w.transfer()),
            "resting_order": await w.count_per_op(stack.admin_url, w.maker()),
            "trade": await w.count_per_op(stack.admin_url, w.taker()),
            "deposit_floor": await w.count_per_op(stack.admin_url, w.floor_deposit()),
            "transfer_floor": await w.count_per_op(stack.admin_url, w.floor_saga()),
            "trade_floor": await w.count_per_op(stack.admin_url, w.floor_pair()),
            "saga_floor": await w.count_per_op(stack.admin_url, w.floor_saga("FloorSagaNoop")),
            "hold": await w.count_per_op(stack.admin_url, w.hold()),
            "hold_floor": await w.count_per_op(stack.admin_url, w.floor_hold()),
            "transaction": await w.count_per_op(stack.admin_url, w.transaction()),
            "transaction_floor": await w.count_per_op(stack.admin_url, w.floor_transaction()),
            "batch": await w.count_per_op(stack.admin_url, w.batch(), sizes.batch_count_ops, sizes.batch_clients),
            "batch_floor": await w.count_per_op(stack.admin_url, w.floor_batch(), sizes.batch_count_ops,
                                                sizes.batch_clients),
        }
        say("per operation, invocations (journal entries): " + ", ".join(
            f"{k} {v['invocations']:g} ({v['journal_entries']:g})" for k, v in counts.items()))
        waited = await _wait_idle(list(pids.values()))
        say(f"restate-server and endpoint idle after {waited:.1f} s")
        rss["after_setup"] = {n: memory.rss_mb(p) for n, p in pids.items()}
        cases = _cases(w, pgw, compare, sizes)
        raw, rss["load"] = await _rounds(opts, cases, pids)
        return {"raw": raw, "cases": cases, "counts": counts, "rss": rss, "setup_s": setup_s,
                "postgres_version": pg.version if pg else None}
    finally:
        for conn in conns:
            await conn.close()
        if pg is not None:
            pg.stop()
        await http.aclose()


def run(opts: Options) -> dict:
    sizes = QUICK if opts.quick else FULL
    load_start = os.getloadavg()
    compare = [s for s in servers.available() if s != opts.server] if opts.compare else []
    started = time.monotonic()
    say(f"starting restate-server (1 partition) and the endpoint on {opts.server}"
        + (f", plus no-op endpoints on {', '.join(compare)}" if compare else ""))
    # Started from the main thread: the children die with it (PR_SET_PDEATHSIG).
    with bench_stack.running(opts.server, compare) as stack:
        version = httpx.get(f"{stack.admin_url}/version", trust_env=False).json().get("version")
        session = asyncio.run(_session(opts, stack, sizes, compare))
        say("stopping restate-server and the endpoints")
    meta = {
        "mode": "quick" if opts.quick else "full",
        "server": opts.server,
        "partitions": 1,
        "signed_requests": True,
        "rounds": opts.rounds,
        "warmup_s": opts.warmup_s,
        "duration_s": opts.duration_s,
        "call_timeout_s": opts.call_timeout_s,
        "sizes": asdict(sizes),
        "setup_s": session["setup_s"],
        "wall_s": round(time.monotonic() - started, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_start": [round(x, 2) for x in load_start],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "restate_server": version,
            "postgres": session["postgres_version"],
        },
    }
    results = report.summarize(session, meta)
    report.print_table(results)
    report.write(results, opts.out, opts.chart)
    return results
