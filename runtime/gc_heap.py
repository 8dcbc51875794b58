"""The serving process's heap, frozen out of the cyclic GC once the app is loaded.

CPython's full collections walk every object the process holds. In an
endpoint that is mostly the loaded app (the restate SDK, pydantic's models,
our modules: about 45,000 objects), which lives as long as the process and
is never garbage. Measured under load on two cores (a probe of about three
minutes of deposits, transfers and reads), the endpoint made 32 full
collections of 16 ms on average, each with the event loop, and so every
invocation in flight, stopped. Frozen, those objects are left out of every
collection (0.9 ms each); what the handlers allocate is collected as before.
"""

from __future__ import annotations

import gc


def freeze_loaded_heap() -> int:
    """Collect what loading left behind, then freeze the rest; answers how
    many objects are now frozen. Call once, after the app is loaded."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
