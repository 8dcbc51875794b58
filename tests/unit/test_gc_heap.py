"""Both ways of serving freeze the loaded app out of the cyclic GC, so a full
collection does not walk it (runtime/gc_heap.py). Each runs in a fresh
interpreter: freezing is for the life of a process."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The loaded ledger app alone is tens of thousands of objects.
AT_LEAST_FROZEN = 10_000


def _frozen_after(script: str) -> int:
    out = subprocess.run([sys.executable, "-c", script + "\nimport gc\nprint(gc.get_freeze_count())"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return int(out.stdout.split()[-1])


def test_granians_worker_freezes_the_app_it_loads():
    assert _frozen_after(
        "import os\n"
        "os.environ['LEDGER_GRANIAN_APP'] = 'actors.app:app'\n"
        "from runtime.granian_main import make_app\n"
        "assert callable(make_app())") >= AT_LEAST_FROZEN


def test_hypercorns_process_freezes_the_app_before_it_serves():
    assert _frozen_after(
        "import runtime.endpoint_main as m\n"
        "served = []\n"
        "m.asyncio.run = lambda coro: (served.append(True), coro.close())\n"
        "m.main(['--app', 'actors.app:app'])\n"
        "assert served") >= AT_LEAST_FROZEN


def test_nothing_is_frozen_by_loading_alone():
    # So the two above measure the serving paths, not an import's side effect.
    assert _frozen_after(
        "from runtime.endpoint_main import load_app\n"
        "assert callable(load_app('actors.app:app'))") == 0
