"""python -m bench [--quick]: the ledger against its engine's ceiling and Postgres.

Prints a table, writes bench/results.json and bench/results.png. See
bench/run.py for the session and bench/cases.py for the workloads.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from bench import servers
from bench.run import Options, run
from runtime.endpoint import DEFAULT_SERVER

HERE = Path(__file__).parent
# (rounds, warm-up s, window s, call timeout s) per mode: quick stays under two minutes.
MODES = {"quick": (2, 0.4, 1.25, 5.0), "full": (3, 3.0, 20.0, 30.0)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller and shorter: under two minutes")
    parser.add_argument("--server", default=DEFAULT_SERVER, choices=servers.available(),
                        help=f"the ASGI server of the ledger's endpoint (default: serve's, {DEFAULT_SERVER})")
    parser.add_argument("--rounds", type=int, help="rounds of every case (quick 2, full 3)")
    parser.add_argument("--warmup-s", type=float, help="warm-up before each window (quick 0.4, full 3)")
    parser.add_argument("--duration-s", type=float, help="each measured window (quick 1.25, full 20)")
    parser.add_argument("--no-postgres", action="store_true", help="skip the Postgres comparison")
    parser.add_argument("--no-compare", action="store_true",
                        help="skip the no-op on the other ASGI servers")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    parser.add_argument("--chart", default=str(HERE / "results.png"))
    args = parser.parse_args(argv)
    rounds, warmup_s, duration_s, call_timeout_s = MODES["quick" if args.quick else "full"]
    opts = Options(
        quick=args.quick, server=args.server,
        rounds=args.rounds or rounds,
        warmup_s=warmup_s if args.warmup_s is None else args.warmup_s,
        duration_s=args.duration_s or duration_s,
        call_timeout_s=call_timeout_s,
        postgres=not args.no_postgres, compare=not args.no_compare,
        out=args.out, chart=args.chart,
    )
    # A SIGTERM unwinds like Ctrl-C, so every process we started is stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run(opts)
    except KeyboardInterrupt:
        print("interrupted; stopped everything it started", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
