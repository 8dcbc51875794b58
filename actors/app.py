"""The ASGI app restate-server calls: every object of the ledger."""

import restate

from actors.account import account
from actors.transfer import transfer

app = restate.app([account, transfer])
