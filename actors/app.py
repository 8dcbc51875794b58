"""The ASGI app restate-server calls: the ledger's objects, and nothing else
(test doubles live with the tests: tests/apps/)."""

import restate

from actors.account import account
from actors.book import order_book
from actors.order import order
from actors.transfer import transfer

# Named, so the endpoint can build the same app with request-identity keys.
SERVICES = [account, transfer, order, order_book]

app = restate.app(SERVICES)

