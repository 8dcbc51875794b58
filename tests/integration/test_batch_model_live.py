"""A batch on the live ledger against the sequential model of its documented
semantics (tests/property/test_batch_model.py's `model`, plain ints, none
of the ledger's code): the results, every final balance, no negatives, and
money conserved. Each example runs on accounts of its own."""

import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings

from tests.property.test_batch_model import ASSET_CODES, model, scenarios, shown

pytestmark = pytest.mark.live


def live_id(prefix: str, model_id: str) -> str:
    return f"{prefix}-{model_id}"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_a_live_batch_does_what_the_sequential_model_says(client, scenario):
    states, balances, items = scenario
    prefix = uuid.uuid4().hex[:10]
    for account, state in states.items():
        if state == "missing":
            continue
        client.open(live_id(prefix, account))
        for code in ASSET_CODES:
            if balances[account, code]:
                client.deposit(live_id(prefix, account), code, shown(balances[account, code]))
        if state == "frozen":
            client.freeze(live_id(prefix, account))

    answer = client.run_batch(f"b-{prefix}", [
        {"id": i.item_id, "source": live_id(prefix, i.source), "target": live_id(prefix, i.target),
         "asset": i.asset, "amount": shown(i.amount_minor),
         **({"reference": i.reference} if i.reference else {}),
         **({"metadata": dict(i.metadata)} if i.metadata else {})}
        for i in items])

    expected, final, _ = model(states, balances, items)
    def live_reason(reason):
        # The model names its accounts b0..b5; the live ones carry the prefix.
        return None if reason is None else re.sub(r"\baccount (b\d)\b", lambda m: f"account {live_id(prefix, m[1])}",
                                                  reason)

    assert [(r.id, r.status, r.reason) for r in answer.results] == [
        (item_id, status, live_reason(reason)) for item_id, status, reason in expected]
    total = {code: 0 for code in ASSET_CODES}
    for account, state in states.items():
        if state == "missing":
            continue
        view = client.balance(live_id(prefix, account))
        for code in ASSET_CODES:
            available, reserved = view.minor(code), view.minor(code, "reserved")
            assert (available, reserved) == (final[account, code], 0), (account, code)
            total[code] += available
    for code in ASSET_CODES:
        assert total[code] == sum(m for (a, c), m in balances.items() if c == code)
