"""The app the live tests serve: the ledger's services (actors/app.py) and
the fault-injecting venue, with its symbol BTC-USD.FAULTY listed.

    ledger serve --app tests.apps.ledger_app:app
"""

import restate

from actors import app as ledger
from actors.markets import register
from tests.apps.faulty_venue import FAULTY, FaultyVenue, faulty_venue

register(FAULTY, FaultyVenue())

# Named, so the endpoint can build the same app with request-identity keys.
SERVICES = [*ledger.SERVICES, faulty_venue]

app = restate.app(SERVICES)
