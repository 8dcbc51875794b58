"""The contract as every Restate tool reads it: the live admin API (what
the Restate UI, `restate services describe` and the OpenAPI are made from)
shows each public handler's fields, types and description."""

import httpx
import pytest

from actors.app import SERVICES

pytestmark = pytest.mark.live

# Every handler the ingress serves, read from the production app itself, so
# a handler added later is checked here without anyone listing it.
PUBLIC = sorted((s.name, name) for s in SERVICES for name, h in s.handlers.items() if not h.ingress_private)

# handler -> the input fields its schema must name, each with its JSON type
WITH_BODY = {
    ("Account", "deposit"): {"asset": "string", "amount": "string"},
    ("Account", "withdraw"): {"asset": "string", "amount": "string"},
    ("Transfer", "run"): {"source": "string", "target": "string", "asset": "string", "amount": "string"},
    ("Order", "place"): {"account": "string", "symbol": "string", "side": "string", "quantity": "string",
                         "price": "string", "time_in_force": "string"},
    ("Hold", "place"): {"source": "string", "asset": "string", "amount": "string"},
    ("Transaction", "post"): {"legs": "array"},
    ("Batch", "run"): {"transfers": "array"},
}
# handler -> the answer fields its output schema must name
ANSWERS = {
    ("Account", "deposit"): {"account", "balances"},
    ("Account", "balance"): {"account", "balances"},
    ("Account", "open"): {"account", "owner", "status", "balances"},
    ("Account", "history"): {"account", "entries", "next"},
    ("Transfer", "run"): {"transfer", "status", "source", "target", "asset", "amount", "reason"},
    ("Order", "place"): {"order", "account", "symbol", "side", "quantity", "price", "status", "fills"},
    ("OrderBook", "book"): {"symbol", "bids", "asks"},
    ("OrderBook", "trades"): {"symbol", "trades", "next"},
    ("Hold", "place"): {"hold", "source", "target", "asset", "amount", "captured", "status", "expires_at_ms",
                        "reference", "metadata"},
    ("Transaction", "post"): {"transaction", "status", "legs", "reference", "metadata"},
    ("Batch", "run"): {"batch", "status", "results"},
}
NO_BODY = {("Account", h) for h in ("open", "balance", "history", "freeze", "unfreeze")} | {
    ("Transfer", "status"), ("Order", "status"), ("Order", "cancel"), ("OrderBook", "book"), ("OrderBook", "trades"),
    ("Hold", "capture"), ("Hold", "void"), ("Hold", "status"), ("Transaction", "status"), ("Batch", "status")}


@pytest.fixture(scope="module")
def services(stack) -> dict[str, dict]:
    with httpx.Client(base_url=stack.admin_url, timeout=30, trust_env=False) as admin:
        return {name: admin.get(f"/services/{name}").raise_for_status().json()
                for name in {service for service, _ in PUBLIC}}


def described(services, service: str, handler: str) -> dict:
    found = [h for h in services[service]["handlers"] if h["name"] == handler]
    assert len(found) == 1, f"{service}/{handler} is not registered"
    return found[0]


@pytest.mark.parametrize("service,handler", sorted(WITH_BODY))
def test_a_handler_with_a_body_publishes_its_fields_types_and_descriptions(services, service, handler):
    h = described(services, service, handler)
    schema = h["input_json_schema"]
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    props = schema["properties"]
    for field, json_type in WITH_BODY[(service, handler)].items():
        assert props[field]["type"] == json_type, (field, props[field])
        assert props[field].get("description"), f"{service}/{handler}.{field} has no description"
    assert set(schema["required"]) <= set(props)
    assert "amount" not in schema.get("required", []) or props["amount"]["examples"]


@pytest.mark.parametrize("service,handler", sorted(ANSWERS))
def test_every_answer_publishes_its_fields(services, service, handler):
    schema = described(services, service, handler)["output_json_schema"]
    assert ANSWERS[(service, handler)] <= set(schema["properties"]), schema


@pytest.mark.parametrize("service,handler", PUBLIC)
def test_every_public_handler_publishes_a_description_its_input_and_a_typed_answer(services, service, handler):
    h = described(services, service, handler)
    assert h.get("documentation"), f"{service}/{handler} has no description"
    assert h["documentation"].splitlines()[0].strip()
    assert h["output_json_schema"]["type"] == "object" and h["output_json_schema"]["properties"]
    if (service, handler) in NO_BODY:
        assert "Body: none" in h["documentation"]
    else:
        assert h["input_json_schema"]["properties"], f"{service}/{handler} publishes no input fields"


def test_the_lists_here_name_public_handlers_only():
    assert NO_BODY | set(WITH_BODY) | {key for key in ANSWERS} <= set(PUBLIC)


@pytest.mark.parametrize("service,handler", sorted(NO_BODY))
def test_a_handler_whose_body_may_be_empty_is_not_validated_as_json_and_lists_its_fields(
        services, service, handler):
    h = described(services, service, handler)
    assert h.get("input_json_schema") is None, "the ingress would refuse an empty JSON body"
    assert "Body: none" in h["documentation"]
    optional = {("Account", "open"): "owner", ("Account", "history"): "before",
                ("OrderBook", "book"): "depth", ("OrderBook", "trades"): "limit"}.get((service, handler))
    if optional:
        assert optional in h["documentation"]


def test_the_openapi_of_an_object_shows_the_deposit_fields(stack):
    with httpx.Client(base_url=stack.admin_url, timeout=30, trust_env=False) as admin:
        spec = admin.get("/services/Account/openapi").raise_for_status().json()
    text = str(spec)
    for word in ("deposit", "asset", "amount", "available", "reserved", "Pay an amount into the account."):
        assert word in text, word
