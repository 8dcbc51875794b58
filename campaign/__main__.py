"""`python -m campaign`: one fault campaign against a throwaway ledger stack.

    .venv/bin/python -m campaign --duration-s 60 --faults mixed --out campaign-results.json
    .venv/bin/python -m campaign --duration-s 60 --faults cluster

Exit status: 0 when the audit finds nothing (lost 0, duplicated 0,
violations 0), 1 when it finds anything, 2 when the campaign could not run.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from campaign.faults import ALIASES
from campaign.runner import CampaignConfig, run_campaign


def parse_args(argv: list[str] | None = None) -> CampaignConfig:
    parser = argparse.ArgumentParser(
        prog="python -m campaign",
        description="Run concurrent careful clients against a throwaway ledger while killing its "
                    "processes, then audit exactly-once and the ledger's invariants.",
    )
    parser.add_argument("--duration-s", type=float, default=60.0,
                        help="how long the load runs, in seconds (default 60)")
    parser.add_argument("--faults", default="mixed",
                        help="comma-separated: endpoint, server, mixed (= endpoint,server), "
                             "cluster (= node: a three-node cluster, one node killed at a time; "
                             "may be combined with endpoint), none (default mixed)")
    parser.add_argument("--fault-interval-s", type=float, default=8.0,
                        help="seconds from one fault to the next (default 8)")
    parser.add_argument("--first-fault-s", type=float, default=3.0,
                        help="seconds of load before the first fault (default 3)")
    parser.add_argument("--clients", type=int, default=12, help="concurrent clients (default 12)")
    parser.add_argument("--accounts", type=int, default=8, help="accounts they share (default 8)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the operation mix and fault order (default random, reported)")
    parser.add_argument("--drain-s", type=float, default=120.0,
                        help="how long operations in flight at the end may keep retrying (default 120)")
    parser.add_argument("--partitions", type=int, default=None,
                        help="restate partitions (default 2 single node, 4 cluster)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where data and logs go (default a temporary folder, removed after a "
                             "clean run, kept after a failed one)")
    parser.add_argument("--keep-workdir", action="store_true", help="keep data and logs after a clean run")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    try:
        return CampaignConfig(
            duration_s=args.duration_s, faults=args.faults, clients=args.clients,
            accounts=args.accounts, seed=args.seed, fault_interval_s=args.fault_interval_s,
            first_fault_s=args.first_fault_s, drain_s=args.drain_s, partitions=args.partitions,
            workdir=args.workdir, keep_workdir=args.keep_workdir, out=args.out,
        )
    except ValueError as error:
        parser.error(f"{error} (fault names: {', '.join(ALIASES)})")
        raise AssertionError("unreachable")


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM ends the campaign like Ctrl-C: the stack is stopped on the way out.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        result = run_campaign(config, echo=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print("campaign interrupted; stack stopped", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - reported, not a traceback for the user
        print(f"campaign could not run: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
