"""python -m bench.floors [--quick]: what each round trip of a deposit costs.

A fresh single-node stack (as `serve` runs it, signed) serves
bench/floor_app.py; each handler runs from 32 closed-loop clients on 10,000
keys, the cases alternated over rounds (A B C D, D C B A, ...), and the
table shows median req/s and the ratio to the no-op in the same run. It
tells how close a deposit can come to the ceiling on restate-server 1.7.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from bench.floor_app import FLOORS
from bench.http import RawHttp
from bench.load import measure
from runtime.endpoint import DEFAULT_SERVER, SERVERS
from runtime.process import stop_all
from runtime.stack import start_single_node

CLIENTS, KEYS = 32, 10_000
MODES = {"quick": (2, 1.0, 4.0), "full": (3, 2.0, 10.0)}  # rounds, warm-up s, window s


async def _run(ingress_url: str, rounds: int, warmup_s: float, window_s: float) -> dict[str, list[float]]:
    url = urlsplit(ingress_url)
    http = RawHttp(url.hostname, url.port)
    rng = random.Random(7)
    rates: dict[str, list[float]] = {name: [] for name in FLOORS}
    names = list(FLOORS)
    try:
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                async def op(c: int, n: int, name: str = name) -> None:
                    await http.post(f"/{name}/k{rng.randrange(KEYS)}/call", b"{}")
                window = (await measure({"ops": (op, CLIENTS)}, warmup_s, window_s))["ops"]
                if window.errors:
                    raise RuntimeError(f"{name}: {window.errors} errors, first: {window.first_error}")
                rates[name].append(window.rps)
                print(f"  round {r + 1}/{rounds} {name:<22}{window.rps:9.1f}/s", flush=True)
    finally:
        await http.aclose()
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floors", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--server", default=DEFAULT_SERVER, choices=sorted(SERVERS))
    parser.add_argument("--out", help="also write the medians and ratios here, as JSON")
    args = parser.parse_args(argv)
    rounds, warmup_s, window_s = MODES["quick" if args.quick else "full"]
    workdir = Path(tempfile.mkdtemp(prefix="ledger-floors-"))
    node = start_single_node(workdir, "bench.floor_app:app", server=args.server)
    try:
        rates = asyncio.run(_run(node.server.ingress_url, rounds, warmup_s, window_s))
    finally:
        stop_all([node.server, node.endpoint], 5.0)
        shutil.rmtree(workdir, ignore_errors=True)
    medians = {name: statistics.median(r) for name, r in rates.items()}
    ceiling = medians["FloorNoop"]
    print(f"\nround-trip floors on {args.server}, {CLIENTS} clients, {KEYS:,} keys, "
          f"median of {rounds} rounds x {window_s:g} s")
    print(f"{'handler':<40}{'req/s':>9}{'x no-op':>9}")
    for name, what in FLOORS.items():
        print(f"{what:<40}{medians[name]:9.1f}{medians[name] / ceiling:9.3f}")
    if args.out:
        Path(args.out).write_text(json.dumps(
            {"server": args.server, "rps": medians,
             "ratio_to_noop": {n: v / ceiling for n, v in medians.items()}}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
