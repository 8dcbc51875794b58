"""bench/results.png: six panels drawn from results.json's figures."""

from __future__ import annotations

import matplotlib.pyplot as plt


def _bars(ax, labels, values, title, ylabel, color="tab:blue", fmt="{:,.0f}"):
    values = [v or 0 for v in values]
    bars = ax.bar(labels, values, color=color)
    ax.bar_label(bars, labels=[fmt.format(v) for v in values], fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelsize=8, rotation=20)


def draw(r: dict, path: str) -> None:
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    meta = r["config"]
    fig.suptitle(f"restate-ledger benchmark ({meta['mode']}): endpoint on {meta['server']}, "
                 f"{meta['sizes']['clients']} clients, median of {meta['rounds']} rounds", fontsize=12)

    ax = axes[0][0]
    names = ["noop", "deposit", "transfer", "hold", "transaction", "place", "trade"]
    _bars(ax, ["no-op", "deposit", "transfer", "hold", "transaction", "placement", "trade"],
          [r["engine_noop_rps"] if n == "noop" else r[f"{n}_rps"] for n in names],
          "throughput (req/s); grey: the same journal with no code; line = engine ceiling", "req/s")
    floors = {n: f for n, f in r.get("floors", {}).items() if n in names}
    # Beside each operation's bar, not over it, so both stay readable.
    ax.bar([names.index(n) + 0.45 for n in floors], [f["floor_rps"] for f in floors.values()],
           width=0.25, color="gray")
    ax.axhline(r["engine_noop_rps"], color="gray", linestyle="--")

    ax = axes[0][1]
    cases = r["cases"]
    shown = ["noop", "deposit", "transfer", "place", "trade", "hot_shared_read", "hot_exclusive_read"]
    labels = ["no-op", "deposit", "transfer", "placement", "trade", "hot shared\nread", "hot excl.\nread"]
    x = range(len(shown))
    ax.bar([i - 0.2 for i in x], [cases[n]["latency_ms_p50"] or 0 for n in shown], 0.4, label="p50")
    ax.bar([i + 0.2 for i in x], [cases[n]["latency_ms_p99"] or 0 for n in shown], 0.4, label="p99")
    ax.set_xticks(list(x), labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("ms (log)")
    ax.set_title("latency", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[0][2]
    a, h, b = r["accounts_scaling_accounts"], r["history_scaling_entries"], r["book_depth_scaling_orders"]
    lv = r["level_depth_scaling_orders"]
    _bars(ax, [f"accounts\n{a[0]:,} -> {a[1]:,}", f"history\n0 -> {h[1]:,}", f"book\n{b[0]:,} -> {b[1]:,}",
               f"one level\n{lv[0]:,} -> {lv[1]:,}"],
          [r["accounts_scaling_ratio"], r["history_scaling_ratio"], r["book_depth_scaling_ratio"],
           r["level_depth_scaling_ratio"]],
          "as work grows: throughput ratio; line = 0.9 target", "ratio", "tab:green", "{:.2f}")
    ax.axhline(0.9, color="gray", linestyle="--")

    ax = axes[1][0]
    if r["postgres_deposit_tps"] is not None:
        ax.bar([-0.2, 0.8], [r["deposit_rps"], r["transfer_rps"]], 0.4, label="ledger on restate")
        ax.bar([0.2, 1.2], [r["postgres_deposit_tps"], r["postgres_transfer_tps"]], 0.4,
               label=f"postgres {meta['machine']['postgres']}")
        ax.set_xticks([0, 1], ["deposit", "transfer"])
        ax.legend(fontsize=8)
    ax.set_title("ledger vs postgres (ops/s)", fontsize=10)

    ax = axes[1][1]
    servers = r["server_noop_rps"]
    _bars(ax, list(servers), list(servers.values()), "engine ceiling by ASGI server (req/s)",
          "req/s", "tab:purple")

    ax = axes[1][2]
    ax.bar([-0.2, 0.8, 1.8], [r["rss_idle_server_mb"], r["rss_after_setup_server_mb"], r["rss_load_server_mb"]],
           0.4, label="restate-server")
    ax.bar([0.2, 1.2, 2.2], [r["rss_idle_endpoint_mb"], r["rss_after_setup_endpoint_mb"],
                             r["rss_load_endpoint_mb"]], 0.4, label="endpoint")
    ax.set_xticks([0, 1, 2], ["idle (fresh)", "after set-up", "peak under load"])
    ax.set_ylabel("MB")
    ax.set_title("resident memory (VmRSS)", fontsize=10)
    ax.legend(fontsize=8)

    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
