"""The ASGI app restate-server calls: the ledger's objects, and nothing else
(test doubles live with the tests: tests/apps/)."""

import copy

import restate

from actors.account import account
from actors.batch import batch
from actors.book import order_book
from actors.hold import hold
from actors.order import order
from actors.transaction import transaction
from actors.transfer import transfer

# Named, so the endpoint can build the same app with request-identity keys.
SERVICES = [account, transfer, hold, transaction, batch, order, order_book]

app = restate.app(SERVICES)


def copy_object(obj: restate.VirtualObject) -> restate.VirtualObject:
    """A copy of `obj` (its name, settings and handlers) for an app that
    serves it with handlers of its own added (the bench's set-up handlers
    on Account, bench/app.py), so that the ledger's own object, the one
    `app` serves, never gains them."""
    copied = copy.copy(obj)
    copied.handlers = dict(obj.handlers)
    return copied
