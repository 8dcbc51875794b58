"""From the rounds' windows to results.json, a printed table and a PNG chart.

Every figure of a case is the median over rounds of that round's figure
(req/s, p50, p99). Names carry their unit last.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench.load import median

# The targets: (key, comparison, bound).
TARGETS = [
    ("endpoint_vs_stock_hypercorn_ratio", ">=", 1.5),
    ("deposit_ratio_to_ceiling", ">=", 0.9),
    ("transfer_ratio_to_ceiling", ">=", 0.3),
    ("trade_efficiency", ">=", 0.9),
    ("shared_to_exclusive_read_p99_ratio", "<=", 0.1),
    ("accounts_scaling_ratio", ">=", 0.9),
    ("history_scaling_ratio", ">=", 0.9),
    ("book_depth_scaling_ratio", ">=", 0.9),
    ("level_depth_scaling_ratio", ">=", 0.9),
    ("rss_idle_mb", "<", 300.0),
    # Issue 18: no older operation below its share of its floor in the last
    # full run before it, and each new one at 0.9 of its floor at least.
    ("deposit_to_floor", ">=", 0.93),
    ("transfer_to_floor", ">=", 0.87),
    ("trade_to_floor", ">=", 0.80),
    ("hold_to_floor", ">=", 0.9),
    ("transaction_to_floor", ">=", 0.9),
    ("batch_to_floor", ">=", 0.9),
    ("batch_to_single_transfer_ratio", ">=", 5.0),
    # The stretch: transfers through batches as fast as Postgres's single ones.
    ("batch_to_postgres_transfer_ratio", ">=", 1.0),
]
# The operations with a floor of their own, besides the settled pair.
FLOORED = ("deposit", "transfer", "hold", "transaction", "batch")


def _round(x: float, digits: int = 1) -> float | None:
    return None if x is None or x != x else round(x, digits)


def cpu_figures(window) -> dict | None:
    """What the window's operations cost in CPU: ms per operation by process
    and cores busy (the process's, and the machine's as a whole), from the
    readings taken as the window opened and closed. None when not sampled
    or nothing completed."""
    if window.sampled is None or not window.ops:
        return None
    start, end = window.sampled
    used_s = {name: end[name] - start[name] for name in start}
    assert all(v >= 0 for v in used_s.values()), used_s  # CPU time only grows
    return {
        "cpu_ms_per_op": {n: 1000 * v / window.ops for n, v in used_s.items() if n != "machine"},
        "cores_busy": {n: v / window.duration_s for n, v in used_s.items()},
    }


def _median_of(dicts: list[dict], digits: int) -> dict:
    return {k: _round(median([d[k] for d in dicts]), digits) for k in dicts[0]}


def _case_figures(rounds: list[dict], main: str) -> dict:
    windows = [r[main] for r in rounds]
    costs = [c for c in (cpu_figures(w) for w in windows) if c is not None]
    figures = {
        "rps": _round(median([w.rps for w in windows]), 3),  # a batch's are a few per second
        "latency_ms_p50": _round(median([w.pct_ms(50) for w in windows]), 2),
        "latency_ms_p99": _round(median([w.pct_ms(99) for w in windows]), 2),
        "errors": sum(w.errors for w in windows),
        "rounds": [{"rps": _round(w.rps, 3), "ops": _round(w.ops, 2), "errors": w.errors,
                    "latency_ms_p50": _round(w.pct_ms(50), 2), "latency_ms_p99": _round(w.pct_ms(99), 2),
                    **({"first_error": w.first_error} if w.first_error else {})} for w in windows],
    }
    if costs:
        figures["cpu_ms_per_op"] = _median_of([c["cpu_ms_per_op"] for c in costs], 3)
        figures["cores_busy"] = _median_of([c["cores_busy"] for c in costs], 2)
    others = [g for g in rounds[0] if g != main]
    for group in others:  # e.g. the writers of the hot-key cases
        figures[f"{group}_rps"] = _round(median([r[group].rps for r in rounds]))
        figures[f"{group}_latency_ms_p99"] = _round(median([r[group].pct_ms(99) for r in rounds]), 2)
    return figures


def _ratio(a: float | None, b: float | None, digits: int = 3) -> float | None:
    return None if not a or not b else round(a / b, digits)


def floor_figures(rps: dict[str, float], counts: dict[str, dict[str, float]]) -> dict:
    """Each ledger operation against its floor: the same journal and round
    trips with no ledger code (bench/floor_app.py), run next to it. The
    floor is what the engine allows an operation of that shape; the ledger's
    rate over it is what the ledger keeps of that. A settled pair's ledger
    counts are its resting maker's plus its taker's."""
    ceiling = rps["noop"]
    ledger = {name: counts[name] for name in FLOORED if name in counts}
    ledger["trade"] = {k: counts["trade"][k] + counts["resting_order"][k] for k in counts["trade"]}
    out = {}
    for name, mine in ledger.items():
        floor, floor_counts = rps.get(f"{name}_floor"), counts.get(f"{name}_floor")
        if floor is None or floor_counts is None:
            continue
        out[name] = {
            "floor_rps": floor,
            "floor_ratio_to_ceiling": _ratio(floor, ceiling),
            "floor_efficiency": _ratio(floor * floor_counts["invocations"], ceiling),
            "ledger_to_floor": _ratio(rps[name], floor),
            "invocations": {"ledger": round(mine["invocations"], 2), "floor": round(floor_counts["invocations"], 2)},
            "journal_entries": {"ledger": round(mine["journal_entries"], 2),
                                "floor": round(floor_counts["journal_entries"], 2)},
        }
    if "saga_floor" in rps and "saga_floor" in counts:
        # A saga whose two steps do nothing: what any transfer-shaped saga
        # could reach on this engine, however cheap its steps.
        invocations = counts["saga_floor"]["invocations"]
        out["saga_of_noops"] = {
            "floor_rps": rps["saga_floor"],
            "floor_ratio_to_ceiling": _ratio(rps["saga_floor"], ceiling),
            "floor_efficiency": _ratio(rps["saga_floor"] * invocations, ceiling),
            "invocations": {"floor": round(invocations, 2)},
            "journal_entries": {"floor": round(counts["saga_floor"]["journal_entries"], 2)},
        }
    return out


def batch_figures(rps: dict[str, float], cases: dict, counts: dict[str, dict[str, float]], items: int) -> dict:
    """Transfers per second through batches of `items`, against the ledger's
    single transfers and Postgres's (one per transaction, FOR UPDATE, and a
    batch in one transaction); and what one transfer costs each way:
    invocations, journal entries and CPU by process."""
    def per_transfer(values: dict | None, per: int) -> dict | None:
        return None if values is None else {k: _round(v / per, 3) for k, v in values.items()}

    through_batches = rps["batch"] * items
    out = {
        "batch_items": items,
        "batch_transfers_per_s": _round(through_batches),
        "batch_floor_transfers_per_s": _round(rps["batch_floor"] * items) if "batch_floor" in rps else None,
        "batch_to_single_transfer_ratio": _ratio(through_batches, rps["transfer"], 2),
        "postgres_batch_transfers_per_s": _round(rps["pg_batch"] * items) if "pg_batch" in rps else None,
        "batch_to_postgres_transfer_ratio": _ratio(through_batches, rps.get("pg_transfer"), 3),
        "batch_to_postgres_batch_ratio": _ratio(rps["batch"], rps.get("pg_batch"), 3),
        "per_transfer": {
            "single": {"invocations": counts["transfer"]["invocations"],
                       "journal_entries": counts["transfer"]["journal_entries"],
                       "cpu_ms": per_transfer(cases["transfer"].get("cpu_ms_per_op"), 1)},
            "batch": {**per_transfer(counts["batch"], items),
                      "cpu_ms": per_transfer(cases["batch"].get("cpu_ms_per_op"), items)},
        },
    }
    if "batch_floor" in counts:
        out["per_transfer"]["batch_floor"] = {
            **per_transfer(counts["batch_floor"], items),
            "cpu_ms": per_transfer(cases.get("batch_floor", {}).get("cpu_ms_per_op"), items)}
    return out


def summarize(session: dict, meta: dict) -> dict:
    cases = {c.name: _case_figures(session["raw"][c.name], c.main) for c in session["cases"]}
    rps = {name: f["rps"] for name, f in cases.items()}
    ceiling = rps["noop"]
    out: dict = {"engine_noop_rps": ceiling,
                 "engine_noop_latency_ms_p50": cases["noop"]["latency_ms_p50"],
                 "engine_noop_latency_ms_p99": cases["noop"]["latency_ms_p99"]}
    for name in ("deposit", "transfer", "place", "trade", "hold", "transaction", "batch"):
        out[f"{name}_rps"] = rps[name]
        out[f"{name}_latency_ms_p50"] = cases[name]["latency_ms_p50"]
        out[f"{name}_latency_ms_p99"] = cases[name]["latency_ms_p99"]
        out[f"{name}_ratio_to_ceiling"] = _ratio(rps[name], ceiling)
    out.update(_per_operation(cases, rps, session["counts"]))
    out["floors"] = floor_figures(rps, session["counts"])
    for name, f in out["floors"].items():
        f["cpu_ms"] = _cpu_against_floor(cases, name)
    for name in ("deposit", "transfer", "trade", "hold", "transaction", "batch"):
        out[f"{name}_to_floor"] = out["floors"].get(name, {}).get("ledger_to_floor")
    out["batches"] = batch_figures(rps, cases, session["counts"], meta["sizes"]["batch_items"])
    out["batch_to_single_transfer_ratio"] = out["batches"]["batch_to_single_transfer_ratio"]
    out["batch_to_postgres_transfer_ratio"] = out["batches"]["batch_to_postgres_transfer_ratio"]
    out.update(_cpu_figures(cases))
    out["shared_to_exclusive_read_p99_ratio"] = _ratio(out["shared_read_p99_ms"], out["exclusive_read_p99_ms"])
    out.update(_scaling(rps, meta["sizes"]))
    out.update(_postgres_figures(cases, rps))
    out.update(_rss_figures(session["rss"]))
    out.update(_server_figures(rps, meta["server"]))
    out["targets"] = _targets(out)
    out["config"] = meta
    out["cases"] = cases
    return out


def _per_operation(cases: dict, rps: dict, measured: dict) -> dict:
    """Invocations and journal entries per operation, what each rate makes
    of the engine given its invocations, and the hot key's reads."""
    counts = {op: c["invocations"] for op, c in measured.items()}
    entries = {op: c["journal_entries"] for op, c in measured.items()}
    ceiling = rps["noop"]
    per_pair = counts["trade"] + counts["resting_order"]
    added = {}
    for name in ("hold", "transaction", "batch"):
        added[f"invocations_per_{name}"] = round(counts[name], 2)
        added[f"journal_entries_per_{name}"] = round(entries[name], 2)
        added[f"{name}_efficiency"] = _ratio(rps[name] * counts[name], ceiling)
    return {
        **added,
        "invocations_per_deposit": round(counts["deposit"], 2),
        "invocations_per_transfer": round(counts["transfer"], 2),
        "invocations_per_resting_order": round(counts["resting_order"], 2),
        "invocations_per_trade": round(counts["trade"], 2),
        "invocations_per_trade_pair": round(per_pair, 2),
        # What each rate makes of the engine, given its invocations: 1.0 means
        # every invocation runs at the no-op's rate.
        "deposit_efficiency": _ratio(rps["deposit"] * counts["deposit"], ceiling),
        "transfer_efficiency": _ratio(rps["transfer"] * counts["transfer"], ceiling),
        "place_efficiency": _ratio(rps["place"] * counts["resting_order"], ceiling),
        "trade_efficiency": _ratio(rps["trade"] * per_pair, ceiling),
        "journal_entries_per_noop": round(entries["noop"], 2),
        "journal_entries_per_deposit": round(entries["deposit"], 2),
        "journal_entries_per_transfer": round(entries["transfer"], 2),
        "journal_entries_per_resting_order": round(entries["resting_order"], 2),
        "journal_entries_per_trade_pair": round(entries["trade"] + entries["resting_order"], 2),
        "shared_read_p99_ms": cases["hot_shared_read"]["latency_ms_p99"],
        "exclusive_read_p99_ms": cases["hot_exclusive_read"]["latency_ms_p99"],
        "hot_write_rps_with_shared_reads": cases["hot_shared_read"]["write_rps"],
        "hot_write_rps_with_exclusive_reads": cases["hot_exclusive_read"]["write_rps"],
    }


def _cpu_against_floor(cases: dict, name: str) -> dict:
    """CPU ms per operation, restate-server and endpoint together, of the
    ledger's case and of its floor: steadier than their rates on a shared
    machine, where a neighbour's burst lands on one window and not the other."""
    def total(case: str) -> float | None:
        cpu = cases.get(case, {}).get("cpu_ms_per_op")
        return None if cpu is None else round(cpu["restate_server"] + cpu["endpoint"], 3)
    floor = "saga_floor" if name == "saga_of_noops" else f"{name}_floor"
    return {"ledger": None if name == "saga_of_noops" else total(name), "floor": total(floor)}


def _cpu_figures(cases: dict) -> dict:
    """Where the time goes: CPU per operation by process, and as a multiple
    of the no-op's, so the ratios can be read against their causes."""
    noop_cpu = cases["noop"].get("cpu_ms_per_op")
    per_op = {name: cases[name].get("cpu_ms_per_op")
              for name in ("noop", "deposit", "transfer", "place", "trade", "hold", "transaction", "batch")}
    x_noop = {
        name: None if not cpu or not noop_cpu else
        {proc: _ratio(cpu[proc], noop_cpu[proc], 2) for proc in ("restate_server", "endpoint")}
        for name, cpu in per_op.items()}
    return {"cpu_ms_per_op": per_op, "cpu_x_noop": x_noop}


def _scaling(rps: dict, sizes: dict) -> dict:
    """Throughput as work grows: accounts, history, book depth, level depth."""
    big = "deposit_big_population" if "deposit_big_population" in rps else "deposit"
    return {
        "accounts_scaling_ratio": _ratio(rps[big], rps["deposit_small_population"]),
        "accounts_scaling_accounts": [sizes["accounts_small"], sizes["accounts_big"]],
        "history_scaling_ratio": _ratio(rps["deposit_history"], rps["deposit_fresh"]),
        "history_scaling_entries": [0, sizes["history_entries"]],
        "book_depth_scaling_ratio": _ratio(rps["place_deep_book"], rps["place"]),
        "book_depth_scaling_orders": [sizes["book_shallow"], sizes["book_deep"]],
        "level_depth_scaling_ratio": _ratio(rps["place_deep_level"], rps["place_level"]),
        "level_depth_scaling_orders": [sizes["level_shallow"], sizes["level_deep"]],
    }


def _postgres_figures(cases: dict, rps: dict) -> dict:
    """The same deposit and transfer on Postgres; None where not measured."""
    out: dict = dict.fromkeys(("postgres_deposit_tps", "postgres_transfer_tps",
                               "deposit_ratio_to_postgres", "transfer_ratio_to_postgres"))
    if "pg_deposit" in rps:
        out.update({
            "postgres_deposit_tps": rps["pg_deposit"],
            "postgres_deposit_latency_ms_p99": cases["pg_deposit"]["latency_ms_p99"],
            "postgres_transfer_tps": rps["pg_transfer"],
            "postgres_transfer_latency_ms_p99": cases["pg_transfer"]["latency_ms_p99"],
            "deposit_ratio_to_postgres": _ratio(rps["deposit"], rps["pg_deposit"]),
            "transfer_ratio_to_postgres": _ratio(rps["transfer"], rps["pg_transfer"]),
        })
    return out


def _rss_figures(rss: dict) -> dict:
    return {
        "rss_idle_mb": _round(sum(rss["idle"].values())),
        "rss_idle_server_mb": rss["idle"]["restate_server"],
        "rss_idle_endpoint_mb": rss["idle"]["endpoint"],
        "rss_after_setup_server_mb": rss["after_setup"]["restate_server"],
        "rss_after_setup_endpoint_mb": rss["after_setup"]["endpoint"],
        "rss_load_server_mb": rss["load"]["restate_server"],
        "rss_load_endpoint_mb": rss["load"]["endpoint"],
        "rss_load_mb": _round(sum(rss["load"].values())),
    }


def _server_figures(rps: dict, server: str) -> dict:
    """The no-op's rate on each ASGI server, against stock hypercorn's."""
    ceiling = rps["noop"]
    servers = {server: ceiling}
    servers.update({name.split("@", 1)[1]: r for name, r in rps.items() if name.startswith("noop@")})
    stock = servers.get("hypercorn-stock")
    return {
        "server_noop_rps": servers,
        "server_noop_ratio_to_stock_hypercorn": {name: _ratio(v, stock) for name, v in servers.items()},
        "endpoint_vs_stock_hypercorn_ratio": _ratio(ceiling, stock),
        "best_server": max(servers, key=lambda s: servers[s] or 0),
    }


def _targets(out: dict) -> dict:
    verdicts = {}
    for key, op, bound in TARGETS:
        value = out.get(key)
        met = None if value is None else (value >= bound if op == ">=" else
                                          value <= bound if op == "<=" else value < bound)
        verdicts[key] = {"value": value, "target": f"{op} {bound:g}", "met": met}
    return verdicts


def _fmt(x, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}"


def targets_heading(meta: dict) -> str:
    """A quick run's verdicts are a smoke check: a window of about a second
    holds about a hundred placements on a symbol's one key, and one stall of
    that key moves a ratio by a tenth or more, so only a full run judges them."""
    if meta["mode"] == "full":
        return "targets:"
    return (f"targets (a {meta['mode']} run: {meta['rounds']} windows of {meta['duration_s']:g} s per case "
            "are too short to judge them, a full run (`make bench`) does):")


def print_table(r: dict) -> None:
    meta = r["config"]
    lines = [
        "",
        f"restate-ledger benchmark ({meta['mode']}): restate-server 1 partition, endpoint on "
        f"{meta['server']}, {meta['sizes']['clients']} clients, median of {meta['rounds']} rounds "
        f"x {meta['duration_s']:g} s (after {meta['warmup_s']:g} s warm-up), "
        f"load average at start {meta['machine']['loadavg_start'][0]:.1f} on {meta['machine']['cpus']} cpus",
        "",
        f"{'case':<36}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'x ceiling':>11}{'errors':>8}",
        *_case_lines(r),
        *_summary_lines(r),
        *_floor_lines(r),
        *_cpu_lines(r),
        *_batch_lines(r),
        *_closing_lines(r),
    ]
    print("\n".join(lines), flush=True)


def _case_lines(r: dict) -> list[str]:
    """A row per case: its rate, latencies, its rate against the ceiling."""
    meta, lines = r["config"], []
    titles = {
        "noop": "engine ceiling (no-op object)",
        "deposit": f"deposit, {meta['sizes']['keys']:,} accounts",
        "transfer": "transfer",
        "place": "order placement (rests)",
        "trade": "crossing trade settled (pair)",
        "hot_shared_read": "hot key: shared read (balance)",
        "hot_exclusive_read": "hot key: exclusive read",
        "deposit_small_population": f"deposit, {meta['sizes']['accounts_small']:,} accounts",
        "deposit_big_population": f"deposit, {meta['sizes']['accounts_big']:,} accounts",
        "deposit_fresh": f"deposit, {meta['sizes']['history_accounts']} fresh accounts",
        "deposit_history": f"deposit, {meta['sizes']['history_accounts']} x {meta['sizes']['history_entries']:,} history",
        "place_deep_book": f"placement, {meta['sizes']['book_deep']:,} resting",
        "place_level": f"placement at a level of {meta['sizes']['level_shallow']:,}",
        "place_deep_level": f"placement at a level of {meta['sizes']['level_deep']:,}",
        "deposit_floor": "  floor: a deposit's journal, no code",
        "transfer_floor": "  floor: a transfer's journal, no code",
        "trade_floor": "  floor: a pair's journal, no code",
        "saga_floor": "  floor: a saga of 2 no-op steps",
        "pg_deposit": "postgres deposit",
        "pg_transfer": "postgres transfer",
        "hold": "hold: place + capture to a target",
        "hold_floor": "  floor: a hold's journal, no code",
        "transaction": "transaction: 1 debit, 2 credits",
        "transaction_floor": "  floor: a transaction's journal, no code",
        "batch": f"batch of {meta['sizes']['batch_items']:,} transfers",
        "batch_floor": "  floor: a batch's journal, no code",
        "pg_batch": f"postgres batch of {meta['sizes']['batch_items']:,}, one tx",
    }
    for name, f in r["cases"].items():
        title = titles.get(name, name.replace("noop@", "no-op on "))
        # Against the ceiling: what runs handlers on our endpoint, not the reads of the hot key.
        # A batch's rate is of a thousand transfers, not of one handler.
        vs = None if name.startswith(("hot_", "pg_", "batch")) else _ratio(f["rps"], r["engine_noop_rps"])
        digits = 2 if (f["rps"] or 10) < 10 else 1  # a batch's rate is a few per second
        lines.append(f"{title:<36}{_fmt(f['rps'], digits):>9}{_fmt(f['latency_ms_p50']):>9}"
                     f"{_fmt(f['latency_ms_p99']):>9}{_fmt(vs, 3):>11}{f['errors']:>8}")
    return lines


def _summary_lines(r: dict) -> list[str]:
    meta = r["config"]
    return [
        "",
        f"invocations counted: deposit {r['invocations_per_deposit']:g}, transfer "
        f"{r['invocations_per_transfer']:g}, resting order {r['invocations_per_resting_order']:g}, "
        f"settled trade {r['invocations_per_trade']:g} (pair {r['invocations_per_trade_pair']:g})",
        f"efficiency (rate x invocations / ceiling): deposit {_fmt(r['deposit_efficiency'], 2)}, "
        f"transfer {_fmt(r['transfer_efficiency'], 2)}, placement {_fmt(r['place_efficiency'], 2)}, "
        f"trade {_fmt(r['trade_efficiency'], 2)}, hold {_fmt(r['hold_efficiency'], 2)}, transaction "
        f"{_fmt(r['transaction_efficiency'], 2)}, batch {_fmt(r['batch_efficiency'], 2)} "
        f"(invocations: hold {r['invocations_per_hold']:g}, transaction {r['invocations_per_transaction']:g}, "
        f"batch {r['invocations_per_batch']:g})",
        f"hot key, {meta['sizes']['hot_reads_per_s']:g} reads/s among "
        f"{meta['sizes']['hot_writers']} closed-loop writers: read p99 shared "
        f"{_fmt(r['shared_read_p99_ms'])} ms vs exclusive {_fmt(r['exclusive_read_p99_ms'])} ms (ratio "
        f"{_fmt(r['shared_to_exclusive_read_p99_ratio'], 3)}); writes/s {_fmt(r['hot_write_rps_with_shared_reads'])}"
        f" vs {_fmt(r['hot_write_rps_with_exclusive_reads'])}",
        f"as work grows (throughput ratios): accounts {r['accounts_scaling_accounts'][0]:,} -> "
        f"{r['accounts_scaling_accounts'][1]:,}: {_fmt(r['accounts_scaling_ratio'], 3)}; history 0 -> "
        f"{r['history_scaling_entries'][1]:,}: {_fmt(r['history_scaling_ratio'], 3)}; book "
        f"{r['book_depth_scaling_orders'][0]:,} -> {r['book_depth_scaling_orders'][1]:,} resting: "
        f"{_fmt(r['book_depth_scaling_ratio'], 3)}; one price level {r['level_depth_scaling_orders'][0]:,} -> "
        f"{r['level_depth_scaling_orders'][1]:,} resting: {_fmt(r['level_depth_scaling_ratio'], 3)}",
    ]


def _floor_lines(r: dict) -> list[str]:
    lines = ["", "against the floor (the same journal and round trips with no ledger code, "
             "run next to the ledger's case):",
             f"  {'case':<14}{'ledger/s':>10}{'floor/s':>10}{'ledger/floor':>14}{'floor x ceiling':>17}"
             f"{'floor efficiency':>18}{'journal ledger/floor':>22}{'CPU ms ledger/floor':>26}"]
    for name, f in r["floors"].items():
        entries = f"{_fmt(f['journal_entries'].get('ledger'), 1)} / {_fmt(f['journal_entries']['floor'], 1)}"
        cpu = f.get("cpu_ms") or {}
        cpu_text = f"{_fmt(cpu.get('ledger'), 2)} / {_fmt(cpu.get('floor'), 2)}"
        digits = 2 if name == "batch" else 1  # a batch's rate is a few per second
        lines.append(f"  {name.replace('_', ' '):<14}{_fmt(r.get(name + '_rps'), digits):>10}"
                     f"{_fmt(f['floor_rps'], digits):>10}"
                     f"{_fmt(f.get('ledger_to_floor'), 3):>14}{_fmt(f['floor_ratio_to_ceiling'], 3):>17}"
                     f"{_fmt(f['floor_efficiency'], 2):>18}{entries:>22}{cpu_text:>26}")
    return lines


def _cpu_lines(r: dict) -> list[str]:
    lines = ["", "where the time goes, per operation: CPU ms (x no-op) of restate-server and "
             "the endpoint, journal entries, cores busy in the whole machine",
             f"  {'case':<14}{'restate-server':>18}{'endpoint':>18}{'journal':>9}{'cores':>7}"]
    per_op_entries = {"noop": "journal_entries_per_noop", "deposit": "journal_entries_per_deposit",
                      "transfer": "journal_entries_per_transfer", "place": "journal_entries_per_resting_order",
                      "trade": "journal_entries_per_trade_pair", "hold": "journal_entries_per_hold",
                      "transaction": "journal_entries_per_transaction", "batch": "journal_entries_per_batch"}
    for name, cpu in r["cpu_ms_per_op"].items():
        if cpu is None:
            continue
        x = r["cpu_x_noop"][name] or {}
        cols = "".join(f"{_fmt(cpu[p], 2):>9} ({_fmt(x.get(p), 1):>5})" for p in ("restate_server", "endpoint"))
        lines.append(f"  {name:<14}{cols}{_fmt(r[per_op_entries[name]], 1):>9}"
                     f"{_fmt(r['cases'][name]['cores_busy']['machine'], 2):>7}")
    return lines


def _batch_lines(r: dict) -> list[str]:
    """Transfers per second through batches, beside single transfers and
    Postgres; and what one transfer costs each way."""
    b = r["batches"]
    lines = ["", f"transfers through batches of {b['batch_items']:,} (each over "
             f"{r['config']['sizes']['batch_accounts']} accounts): {_fmt(b['batch_transfers_per_s'])}/s "
             f"(floor {_fmt(b['batch_floor_transfers_per_s'])}/s), "
             f"{_fmt(b['batch_to_single_transfer_ratio'], 2)}x the ledger's single transfers "
             f"({_fmt(r['transfer_rps'])}/s)"]
    if b["postgres_batch_transfers_per_s"] is not None:
        lines.append(f"  postgres: single transfers (FOR UPDATE) {_fmt(r['postgres_transfer_tps'])}/s, "
                     f"batched in one transaction {_fmt(b['postgres_batch_transfers_per_s'])}/s; ledger batches "
                     f"/ postgres single {_fmt(b['batch_to_postgres_transfer_ratio'], 3)}, / postgres batched "
                     f"{_fmt(b['batch_to_postgres_batch_ratio'], 3)}")
    lines.append(f"  per transfer{'':<12}{'invocations':>12}{'journal':>9}{'restate-server ms':>19}"
                 f"{'endpoint ms':>13}")
    for name, cost in b["per_transfer"].items():
        cpu = cost["cpu_ms"] or {}
        lines.append(f"  {name.replace('_', ' '):<24}{_fmt(cost['invocations'], 2):>12}"
                     f"{_fmt(cost['journal_entries'], 1):>9}{_fmt(cpu.get('restate_server'), 3):>19}"
                     f"{_fmt(cpu.get('endpoint'), 3):>13}")
    return lines


def _closing_lines(r: dict) -> list[str]:
    """Postgres, memory, the ASGI servers, and the targets' verdicts."""
    meta, lines = r["config"], [""]
    if r["postgres_deposit_tps"] is None:
        lines.append("postgres: not measured (--no-postgres, or it could not be installed or started)")
    else:
        lines.append(
            f"postgres {meta['machine']['postgres']} (fsync, synchronous_commit on): deposit "
            f"{_fmt(r['postgres_deposit_tps'])} tps, transfer {_fmt(r['postgres_transfer_tps'])} tps; "
            f"ledger/postgres: deposit {_fmt(r['deposit_ratio_to_postgres'], 3)}, transfer "
            f"{_fmt(r['transfer_ratio_to_postgres'], 3)}")
    lines += [
        f"RSS MB (restate-server + endpoint): idle {_fmt(r['rss_idle_server_mb'])} + "
        f"{_fmt(r['rss_idle_endpoint_mb'])} = {_fmt(r['rss_idle_mb'])}; after set-up "
        f"{_fmt(r['rss_after_setup_server_mb'])} + {_fmt(r['rss_after_setup_endpoint_mb'])}; peak "
        f"under load {_fmt(r['rss_load_server_mb'])} + {_fmt(r['rss_load_endpoint_mb'])} = "
        f"{_fmt(r['rss_load_mb'])}",
        "no-op req/s by ASGI server (x stock hypercorn): " + ", ".join(
            f"{name} {_fmt(v)} ({_fmt(r['server_noop_ratio_to_stock_hypercorn'][name], 2)})"
            for name, v in r["server_noop_rps"].items()),
        "",
        targets_heading(meta),
    ]
    for key, t in r["targets"].items():
        mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        lines.append(f"  {key:<38} {_fmt(t['value'], 3):>10}  {t['target']:<8} {mark}")
    return lines


def write(r: dict, out: str, chart: str) -> None:
    Path(out).write_text(json.dumps(r, indent=2) + "\n")
    print(f"\nwrote {out}", flush=True)
    try:
        import matplotlib
    except ImportError:
        print("no chart: matplotlib is not installed (pip install -e '.[bench]')", flush=True)
        return
    matplotlib.use("Agg")
    from bench.chart import draw

    draw(r, chart)
    print(f"wrote {chart}", flush=True)
