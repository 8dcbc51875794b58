"""The benchmark's cost figures: CPU per operation from a window's readings."""

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
        await asyncio.sleep(0.001)

    windows = asyncio.run(measure({"ops": (op, 2), "more": (op, 1)}, 0.05, 0.2,
                                  sample=lambda: {"machine": float(next(readings))}))
    start, end = windows["ops"].sampled
    assert (start, end) == ({"machine": 0.0}, {"machine": 1.0})  # read twice, in order
    assert windows["more"].sampled == windows["ops"].sampled
    assert windows["ops"].ops > 0 and len(done) > windows["ops"].ops
