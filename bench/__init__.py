"""The benchmark: `python -m bench [--quick]` (see bench/__main__.py).

app       what the endpoint serves: the ledger, the bench's own objects, floor_app
stack     a fresh restate-server and the endpoint serving app (+ noop_only
          endpoints on other ASGI servers, launched by servers)
cases     the workloads, their set-up, invocation counts; postgres the same on PG
load      closed-loop clients over http (a minimal keep-alive HTTP/1.1 client)
run       the session: set-up, rounds of alternated cases; memory samples RSS
report    results.json and the table; chart the PNG
"""
