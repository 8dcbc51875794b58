# Two commands do all set-up on a fresh machine:
#   make serve   installs everything and serves the ledger in the foreground
#   make test    installs everything and runs the whole test suite
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
RESTATE_VERSION := 1.7.12
# The official TypeScript ingress client, for tests/ts_client (see below).
TS_CLIENT_VERSION := 1.16.9
STAMP_VENV := $(VENV)/.installed
# Named after every pinned version, so changing one reinstalls .tools.
STAMP_TOOLS := $(TOOLS)/.installed-$(RESTATE_VERSION)-ts-client-$(TS_CLIENT_VERSION)

.PHONY: setup serve test campaign bench bench-quick bench-floors clean

setup: $(STAMP_VENV) $(STAMP_TOOLS)

$(STAMP_VENV): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

# restate-server and restatectl come from their npm packages, pinned; the
# binaries land in .tools/node_modules and the runtime looks for them there.
# @restatedev/restate-sdk-clients is how TypeScript users call the ledger:
# tests/integration/test_ts_client.py runs it (tests/ts_client/calls.mjs) to
# prove its calls with no argument work. Pinned to 1.16.9, the newest line
# whose compatibility table names restate-server 1.7 (1.17's still stops at
# 1.16), so a new client release cannot change what the test proves.
$(STAMP_TOOLS):
	mkdir -p $(TOOLS)
	npm install --prefix $(TOOLS) --no-audit --no-fund --no-package-lock --loglevel=error \
		@restatedev/restate-server@$(RESTATE_VERSION) @restatedev/restatectl@$(RESTATE_VERSION) \
		@restatedev/restate-sdk-clients@$(TS_CLIENT_VERSION)
	touch $@

serve: setup
	$(VENV)/bin/ledger serve $(ARGS)

test: setup
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The benchmark (docs/benchmarks.md); its extra dependencies only when asked.
STAMP_BENCH := $(VENV)/.installed-bench
$(STAMP_BENCH): $(STAMP_VENV) pyproject.toml
	$(VENV)/bin/pip install --quiet -e '.[test,bench]'
	touch $@

bench: setup $(STAMP_BENCH)
	$(VENV)/bin/python -m bench $(ARGS)

bench-quick: setup $(STAMP_BENCH)
	$(VENV)/bin/python -m bench --quick $(ARGS)

# What each round trip of a deposit, and a saga's calls, cost on this engine (docs/benchmarks.md).
bench-floors: setup
	$(VENV)/bin/python -m bench.floors $(ARGS)

# A long fault campaign (docs/operations.md); override with CAMPAIGN_ARGS="...".
CAMPAIGN_ARGS ?= --duration-s 600 --faults mixed --out campaign-results.json
campaign: setup
	$(VENV)/bin/python -m campaign $(CAMPAIGN_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .hypothesis
