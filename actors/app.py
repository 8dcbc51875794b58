"""The ASGI app restate-server calls: every object of the ledger."""

import restate

from actors.account import account
from actors.book import order_book
from actors.order import order
from actors.transfer import transfer
from actors.venues import faulty_venue

# Named, so the endpoint can build the same app with request-identity keys.
SERVICES = [account, transfer, order, order_book, faulty_venue]

app = restate.app(SERVICES)
