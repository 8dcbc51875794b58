"""The fault campaign: clients against a live throwaway ledger while faults
are injected, then an audit at quiescence through the public API.

    .venv/bin/python -m campaign --duration-s 60 --faults mixed --out campaign-results.json

Modules:
- `stacks`: the throwaway stacks (one restate-server, or a three-node
  cluster) with our endpoint registered, and the faults each can suffer;
- `workload`: concurrent careful clients (deposits, withdrawals, transfers,
  orders, holds and their captures and voids, transactions, batches), each
  operation with its own id or idempotency-key, retried on timeouts,
  connection errors and 5xx with the same id;
- `faults`: the fault schedule (SIGKILL of the endpoint, of restate-server,
  of one cluster node) and its record;
- `audit`: exactly-once, none lost, balances recomputed from the final
  outcomes, conservation, no negative balance, terminal sagas, reserved
  equal to the live holds of every kind;
- `expect`: pure expectations of trading (fills, fees, holds);
- `runner`: puts them together and writes the summary.
"""
