"""python -m bench.floors [--quick]: what each piece of a ledger operation costs.

A fresh single-node stack (as `serve` runs it, signed) serves
bench/floor_app.py; each handler runs from 32 closed-loop clients on 10,000
keys, the cases alternated over rounds (A B C D, D C B A, ...), and the
table shows median operations/s, the ratio to the no-op in the same run,
and the efficiency (that ratio times the operation's invocations). It tells
how close a deposit can come to the ceiling on restate-server 1.7, one
round trip at a time, and what a saga costs: of no-op steps, and with a
transfer's or a settled pair's journal but none of the ledger's code.

Then one hot key: the no-op from 32 clients on a single key, window after
window, and last on a fresh key. Every call that finds the key busy waits
in the key's inbox in restate-server's RocksDB, and each dequeue seeks past
the deleted entries of all the calls before it (until a flush and a
compaction drop them), so a busy key slows down as it ages; a fresh key
is as fast again. Our OrderBook key per symbol is such a key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench import stack as bench_stack
from bench.cases import Sizes, Workloads
from bench.floor_app import FLOORS
from bench.http import RawHttp
from bench.load import measure
from runtime.endpoint import DEFAULT_SERVER, SERVERS

CLIENTS, KEYS = 32, 10_000
MODES = {"quick": (2, 1.0, 4.0), "full": (3, 2.0, 10.0)}  # rounds, warm-up s, window s
HOT_WINDOWS = {"quick": (4, 2.0), "full": (8, 5.0)}  # back-to-back windows on one key, each s


async def _rate(op, name: str, warmup_s: float, window_s: float) -> float:
    """Operations per second of `op` from CLIENTS closed-loop clients over one
    window. Any error fails the run."""
    window = (await measure({"ops": (op, CLIENTS)}, warmup_s, window_s))["ops"]
    if window.errors:
        raise RuntimeError(f"{name}: {window.errors} errors, first: {window.first_error}")
    return window.rps


def _calls(http: RawHttp, service: str, key):
    """An op calling `service`'s handler on `key()`."""
    async def op(c: int, n: int) -> None:
        await http.post(f"/{service}/{key()}/call", b"{}")
    return op


def _ops(http: RawHttp) -> dict:
    """Each floor's operation, as the bench runs the ledger's of its kind."""
    w = Workloads(http, Sizes(clients=CLIENTS, keys=KEYS), format(int(time.time() * 1000) % 10**9, "x"))
    ops = {name: w.noop(name) for name, (_, invocations) in FLOORS.items() if invocations == 1}
    ops["FloorSagaNoop"] = w.floor_saga("FloorSagaNoop")
    ops["FloorSagaTransfer"] = w.floor_saga("FloorSagaTransfer")
    ops["FloorOrder"] = w.floor_pair()
    assert ops.keys() == FLOORS.keys(), "every floor needs its operation"
    return ops


async def _run(ingress_url: str, rounds: int, warmup_s: float, window_s: float) -> dict[str, list[float]]:
    url = urlsplit(ingress_url)
    http = RawHttp(url.hostname, url.port)
    ops = _ops(http)
    rates: dict[str, list[float]] = {name: [] for name in FLOORS}
    names = list(FLOORS)
    try:
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                rates[name].append(await _rate(ops[name], name, warmup_s, window_s))
                print(f"  round {r + 1}/{rounds} {name:<22}{rates[name][-1]:9.1f}/s", flush=True)
    finally:
        await http.aclose()
    return rates


async def _hot_key(ingress_url: str, windows: int, window_s: float) -> dict:
    """The no-op on one key for `windows` windows in a row, then on a fresh key."""
    url = urlsplit(ingress_url)
    http = RawHttp(url.hostname, url.port)

    async def window(key: str) -> float:
        return await _rate(_calls(http, "FloorNoop", lambda: key), "FloorNoop", 0.2, window_s)

    try:
        aged = []
        for i in range(windows):
            aged.append(await window("hot"))
            print(f"  one key, window {i + 1}/{windows}{aged[-1]:9.1f}/s", flush=True)
        fresh = await window("hot-fresh")
        print(f"  a fresh key            {fresh:9.1f}/s", flush=True)
    finally:
        await http.aclose()
    return {"window_s": window_s, "aged_rps": aged, "fresh_rps": fresh,
            "last_to_first": aged[-1] / aged[0], "fresh_to_last": fresh / aged[-1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floors", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--server", default=DEFAULT_SERVER, choices=sorted(SERVERS))
    parser.add_argument("--out", help="also write the medians and ratios here, as JSON")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    rounds, warmup_s, window_s = MODES[mode]
    with bench_stack.running(args.server, app="bench.floor_app:app") as node:
        rates = asyncio.run(_run(node.ingress_url, rounds, warmup_s, window_s))
        hot = asyncio.run(_hot_key(node.ingress_url, *HOT_WINDOWS[mode]))
    medians = {name: statistics.median(r) for name, r in rates.items()}
    ceiling = medians["FloorNoop"]
    print(f"\nround-trip floors on {args.server}, {CLIENTS} clients, {KEYS:,} keys, "
          f"median of {rounds} rounds x {window_s:g} s")
    print(f"{'handler':<40}{'req/s':>9}{'x no-op':>9}{'efficiency':>12}")
    for name, (what, invocations) in FLOORS.items():
        print(f"{what:<40}{medians[name]:9.1f}{medians[name] / ceiling:9.3f}"
              f"{medians[name] * invocations / ceiling:12.3f}")
    calls = sum(hot["aged_rps"]) * hot["window_s"]
    print(f"\nno-op on one key from {CLIENTS} clients: {hot['aged_rps'][0]:.1f}/s in its first "
          f"{hot['window_s']:g} s, {hot['aged_rps'][-1]:.1f}/s after about {calls:,.0f} calls "
          f"(x {hot['last_to_first']:.2f}); a fresh key {hot['fresh_rps']:.1f}/s "
          f"(x {hot['fresh_to_last']:.2f} the aged one)")
    if args.out:
        Path(args.out).write_text(json.dumps(
            {"server": args.server, "rps": medians,
             "ratio_to_noop": {n: v / ceiling for n, v in medians.items()},
             "efficiency": {n: v * FLOORS[n][1] / ceiling for n, v in medians.items()},
             "hot_key": hot}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
