"""The benchmark's report: CPU per operation from a window's readings, and
which runs judge the targets; and what its load client reads."""

from bench.load import Window
from bench.report import cpu_figures


def _window(ops: int, start: dict, end: dict, duration_s: float = 2.0) -> Window:
    return Window(ops, 0, duration_s, [1.0] * ops, None, (start, end))


def test_cpu_per_op_and_cores_from_the_readings():
    w = _window(400, {"restate_server": 10.0, "endpoint": 5.0, "machine": 100.0},
                {"restate_server": 11.0, "endpoint": 5.5, "machine": 103.0})
    got = cpu_figures(w)
    assert got["cpu_ms_per_op"] == {"restate_server": 2.5, "endpoint": 1.25}
    assert got["cores_busy"] == {"restate_server": 0.5, "endpoint": 0.25, "machine": 1.5}


def test_no_figures_without_readings_or_operations():
    assert cpu_figures(Window(10, 0, 1.0, [1.0] * 10)) is None
    assert cpu_figures(_window(0, {"machine": 1.0}, {"machine": 2.0})) is None


def test_measure_reads_the_sample_as_the_window_opens_and_closes():
    import asyncio
    import itertools

    from bench.load import measure

    readings = itertools.count()
    done = []

    async def op(c: int, n: int) -> None:
        done.append(n)
        await asyncio.sleep(0)  # an op yields to the loop as a real call does; nothing waits on time

    windows = asyncio.run(measure({"ops": (op, 2), "more": (op, 1)}, 0.05, 0.2,
                                  sample=lambda: {"machine": float(next(readings))}))
    start, end = windows["ops"].sampled
    assert (start, end) == ({"machine": 0.0}, {"machine": 1.0})  # read twice, in order
    assert windows["more"].sampled == windows["ops"].sampled
    assert windows["ops"].ops > 0 and len(done) > windows["ops"].ops


def test_a_long_call_counts_its_share_of_the_window():
    from bench.load import counted

    window = (10.0, 20.0)
    assert counted(12.0, 14.0, *window, fractional=False) == 1.0
    assert counted(18.0, 22.0, *window, fractional=False) == 0.0  # ended after the window
    assert counted(12.0, 14.0, *window, fractional=True) == 1.0
    assert counted(18.0, 22.0, *window, fractional=True) == 0.5
    assert counted(8.0, 12.0, *window, fractional=True) == 0.5
    assert counted(5.0, 25.0, *window, fractional=True) == 0.5
    assert counted(1.0, 9.0, *window, fractional=True) == 0.0


def test_each_operation_against_its_floor():
    from bench.report import floor_figures

    rps = {"noop": 1000.0, "deposit": 500.0, "deposit_floor": 550.0, "transfer": 150.0,
           "transfer_floor": 160.0, "trade": 30.0, "trade_floor": 40.0}
    counts = {
        "deposit": {"invocations": 1.0, "journal_entries": 8.0},
        "deposit_floor": {"invocations": 1.0, "journal_entries": 8.0},
        "transfer": {"invocations": 3.0, "journal_entries": 31.0},
        "transfer_floor": {"invocations": 3.0, "journal_entries": 31.0},
        "resting_order": {"invocations": 3.0, "journal_entries": 32.0},
        "trade": {"invocations": 6.0, "journal_entries": 70.0},
        "trade_floor": {"invocations": 9.0, "journal_entries": 103.0},
    }
    got = floor_figures(rps, counts)
    assert got["deposit"]["ledger_to_floor"] == 0.909
    assert got["transfer"]["floor_ratio_to_ceiling"] == 0.16
    assert got["transfer"]["floor_efficiency"] == 0.48
    # A pair is the resting maker and the taker, counted apart.
    assert got["trade"]["invocations"] == {"ledger": 9.0, "floor": 9.0}
    assert got["trade"]["journal_entries"] == {"ledger": 102.0, "floor": 103.0}
    assert got["trade"]["ledger_to_floor"] == 0.75
    assert "saga_of_noops" not in got  # not run


def test_a_saga_of_no_ops_has_no_ledger_side():
    from bench.report import floor_figures

    counts = {op: {"invocations": 1.0, "journal_entries": 2.0}
              for op in ("deposit", "transfer", "resting_order", "trade")}
    counts["saga_floor"] = {"invocations": 3.0, "journal_entries": 12.0}
    got = floor_figures({"noop": 1000.0, "deposit": 1.0, "transfer": 1.0, "trade": 1.0,
                         "saga_floor": 250.0}, counts)
    assert got["saga_of_noops"]["floor_ratio_to_ceiling"] == 0.25
    assert got["saga_of_noops"]["floor_efficiency"] == 0.75
    assert "ledger_to_floor" not in got["saga_of_noops"]


def test_no_floor_figure_for_a_floor_not_run():
    from bench.report import floor_figures

    counts = {op: {"invocations": 1.0, "journal_entries": 2.0}
              for op in ("deposit", "transfer", "resting_order", "trade")}
    assert floor_figures({"noop": 1.0, "deposit": 1.0, "transfer": 1.0, "trade": 1.0}, counts) == {}


def test_holds_transactions_and_batches_against_their_floors():
    from bench.report import floor_figures

    counts = {op: {"invocations": 1.0, "journal_entries": 2.0}
              for op in ("deposit", "transfer", "resting_order", "trade")}
    counts.update({name: {"invocations": calls, "journal_entries": entries}
                   for name, calls, entries in [("hold", 7.0, 71.0), ("hold_floor", 7.0, 71.0),
                                                ("batch", 201.0, 11_607.0), ("batch_floor", 201.0, 11_600.0)]})
    got = floor_figures({"noop": 1000.0, "deposit": 1.0, "transfer": 1.0, "trade": 1.0, "hold": 90.0,
                         "hold_floor": 100.0, "batch": 2.0, "batch_floor": 2.5}, counts)
    assert got["hold"]["ledger_to_floor"] == 0.9
    assert got["hold"]["floor_efficiency"] == 0.7
    assert got["batch"]["journal_entries"] == {"ledger": 11_607.0, "floor": 11_600.0}
    assert got["batch"]["ledger_to_floor"] == 0.8
    assert "transaction" not in got  # not counted


def test_transfers_through_batches_against_single_ones_and_postgres():
    from bench.report import batch_figures

    cpu = lambda server, endpoint: {"cpu_ms_per_op": {"restate_server": server, "endpoint": endpoint}}  # noqa: E731
    counts = {"transfer": {"invocations": 3.0, "journal_entries": 31.0},
              "batch": {"invocations": 201.0, "journal_entries": 11_600.0}}
    got = batch_figures({"transfer": 250.0, "batch": 2.0, "pg_transfer": 2_500.0, "pg_batch": 40.0},
                        {"transfer": cpu(3.5, 2.5), "batch": cpu(500.0, 400.0)}, counts, 1_000)
    assert got["batch_transfers_per_s"] == 2_000.0
    assert got["batch_to_single_transfer_ratio"] == 8.0
    assert got["postgres_batch_transfers_per_s"] == 40_000.0
    assert got["batch_to_postgres_transfer_ratio"] == 0.8
    assert got["batch_to_postgres_batch_ratio"] == 0.05
    assert got["per_transfer"]["batch"] == {"invocations": 0.201, "journal_entries": 11.6,
                                            "cpu_ms": {"restate_server": 0.5, "endpoint": 0.4}}
    assert got["per_transfer"]["single"]["journal_entries"] == 31.0
    assert "batch_floor" not in got["per_transfer"] and got["batch_floor_transfers_per_s"] is None


def test_only_a_full_run_judges_the_targets():
    from bench.report import targets_heading

    assert targets_heading({"mode": "full", "rounds": 3, "duration_s": 20.0}) == "targets:"
    quick = targets_heading({"mode": "quick", "rounds": 2, "duration_s": 1.25})
    assert "2 windows of 1.25 s" in quick and "make bench" in quick


def _answer(raw: bytes):
    """What bench.http's connection reads from `raw`, as a server's answer."""
    import asyncio

    from bench.http import _Connection

    class _Writer:
        def write(self, data: bytes) -> None:
            pass

    async def read():
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        return await _Connection(reader, _Writer()).post("h", "/p", b"{}")

    return asyncio.run(read())


def test_the_load_client_reads_a_sized_and_a_chunked_body():
    assert _answer(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}") == (200, b"{}")
    chunked = b"HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    assert _answer(chunked) == (404, b"abcde")


def test_the_load_client_bounds_the_header_lines_it_reads():
    import pytest

    with pytest.raises(ConnectionError, match="header lines"):
        _answer(b"HTTP/1.1 200 OK\r\n" + b"x: y\r\n" * 2_000 + b"\r\n")
