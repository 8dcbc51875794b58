"""Request bodies: everything malformed is a 400 that names the field."""

import json

import pytest

from ledger.errors import InvalidInput
from api.requests import (
    MAX_BODY_BYTES,
    MAX_INTERNAL_BODY_BYTES,
    MAX_SETTLE_STEPS,
    AmountBody,
    BookBody,
    EmptyBody,
    HistoryBody,
    MoveBody,
    OpenBody,
    RefundBody,
    ReleaseBody,
    ReserveBody,
    SettleStepsBody,
    TransferBody,
    parse_body,
)

GOOD_TRANSFER = {"source": "alice", "target": "bob", "asset": "USD", "amount": "12.50"}
GOOD_MOVE = {"op": "t1:debit", "asset": "USD", "amount_minor": 1250, "ref": "t1", "at_ms": 1}
_DROP = object()  # a field value meaning "leave this field out"


def raw(obj) -> bytes:
    return json.dumps(obj).encode()


def transfer(**changes) -> bytes:
    body = {**GOOD_TRANSFER, **changes}
    return raw({k: v for k, v in body.items() if v is not _DROP})


def move(**changes) -> bytes:
    body = {**GOOD_MOVE, **changes}
    return raw({k: v for k, v in body.items() if v is not _DROP})


def steps(*items) -> bytes:
    return raw({"steps": list(items), "at_ms": 1})


def invalid(model, body: bytes) -> str:
    with pytest.raises(InvalidInput) as caught:
        # Internal bodies may be as large as their handlers allow (actors/account.py).
        parse_body(model, body, MAX_INTERNAL_BODY_BYTES if model is SettleStepsBody else MAX_BODY_BYTES)
    assert caught.value.status_code == 400
    return caught.value.message


# --- accepted ---------------------------------------------------------------


def test_a_good_transfer_body_parses():
    parsed = parse_body(TransferBody, raw(GOOD_TRANSFER))
    assert (parsed.source, parsed.target, parsed.asset, parsed.amount) == (
        "alice", "bob", "USD", "12.50",
    )


@pytest.mark.parametrize("body", [b"", b" ", b"\n\t ", b"{}", b" {} "])
@pytest.mark.parametrize("model", [EmptyBody, OpenBody, HistoryBody])
def test_empty_body_counts_as_an_empty_object(model, body):
    parsed = parse_body(model, body)
    assert parsed.model_dump() == model().model_dump()


def test_empty_body_where_fields_are_required_names_them():
    message = invalid(AmountBody, b"")
    assert "asset: required" in message and "amount: required" in message


def test_optional_fields_parse():
    assert parse_body(OpenBody, raw({"owner": "Alice"})).owner == "Alice"
    assert parse_body(OpenBody, raw({"owner": None})).owner is None
    h = parse_body(HistoryBody, raw({"limit": 5, "before": 40}))
    assert (h.limit, h.before) == (5, 40)
    r = parse_body(ReleaseBody, raw({"op": "o", "hold": "h", "at_ms": 5}))
    assert (r.amount_minor, r.at_ms) == (None, 5)


def test_an_id_of_exactly_64_allowed_characters_parses():
    key = ("Az09._-" * 10)[:64]
    assert parse_body(TransferBody, transfer(source=key)).source == key


def test_a_settlement_of_every_kind_of_step_parses():
    body = parse_body(SettleStepsBody, steps(
        {"op": "t:seller-capture", "kind": "capture", "amount_minor": 5, "hold": "o1"},
        {"op": "t:seller-receive", "kind": "receive", "amount_minor": 7, "asset": "USD", "ref": "t"},
        {"op": "order:o1:final-release", "kind": "release", "amount_minor": 1, "hold": "o1"}))
    assert [s.kind for s in body.steps] == ["capture", "receive", "release"] and body.at_ms == 1


@pytest.mark.parametrize("body, message", [
    (steps({"op": "o", "kind": "capture", "hold": 3, "amount_minor": 1}), "steps.0.hold: must be a string"),
    (steps({"op": "o", "kind": "capture", "hold": "h"}), "steps.0.amount_minor: required"),
    (steps({"op": "o", "kind": "capture", "amount_minor": 1}), "steps.0: a capture step needs hold"),
    (steps({"op": "o", "kind": "receive", "amount_minor": 1, "asset": "USD"}), "steps.0: a receive step needs ref"),
    (steps({"op": "o", "kind": "receive", "amount_minor": 1, "asset": "USD", "ref": "t", "hold": "h"}),
     "steps.0: a receive step takes no hold"),
    (steps({"op": "o", "kind": "release", "amount_minor": 1, "hold": "h", "asset": "USD"}),
     "steps.0: a release step takes no asset"),
    (steps({"op": "o", "kind": "steal", "amount_minor": 1, "hold": "h"}),
     "steps.0.kind: must be 'debit', 'accept', 'credit', 'refund', 'receive', 'reserve', 'restore', 'capture' or 'release'"),
    (steps({"op": "o", "kind": "refund", "amount_minor": 1, "hold": "h"}),
     "steps.0: a refund step takes no hold"),
    (steps({"op": "o", "kind": "capture", "amount_minor": 0, "hold": "h"}), "steps.0.amount_minor: "),
    (steps(*[{"op": "o", "kind": "capture", "amount_minor": 1, "hold": "h"}] * 2),
     "steps: an operation id appears twice"),
    (steps(), "steps: List should have at least 1 item"),
    (steps(*[{"op": f"o{i}", "kind": "capture", "amount_minor": 1, "hold": "h"} for i in range(MAX_SETTLE_STEPS + 1)]),
     f"steps: List should have at most {MAX_SETTLE_STEPS} items"),
    (raw({"steps": [{"op": "o", "kind": "capture", "amount_minor": 1, "hold": "h"}]}), "at_ms: required"),
    (raw({"steps": [{"op": "o", "kind": "capture", "amount_minor": 1, "hold": "h"}], "at_ms": 1, "call": ""}),
     "call: "),
    (raw({"steps": [{"op": "o", "kind": "capture", "amount_minor": 1, "hold": "h"}], "at_ms": 1, "call": "b:1",
          "open_owner": "fees"}), "body: a recorded call cannot also open its account (call and open_owner)"),
])
def test_a_bad_settlement_is_refused_naming_the_step(body, message):
    assert invalid(SettleStepsBody, body).startswith(message)


def test_a_body_of_exactly_the_limit_parses():
    body = raw(GOOD_TRANSFER)
    body = body + b" " * (MAX_BODY_BYTES - len(body))
    assert len(body) == MAX_BODY_BYTES
    assert parse_body(TransferBody, body).amount == "12.50"


# --- refused ----------------------------------------------------------------

MALFORMED = [
    # (model, body, the field the message must name)
    (TransferBody, b"{", "body"),
    (TransferBody, b'{"source": "alice",}', "body"),
    (TransferBody, b"{'source': 'alice'}", "body"),
    (TransferBody, b"\xff\xfe{}", "body"),
    (TransferBody, raw(GOOD_TRANSFER) + b"x", "body"),
    (TransferBody, b"[]", "body"),
    (TransferBody, raw([GOOD_TRANSFER]), "body"),
    (TransferBody, b'"alice"', "body"),
    (TransferBody, b"null", "body"),
    (TransferBody, b"42", "body"),
    (TransferBody, b"true", "body"),
    (EmptyBody, b"[]", "body"),
    (OpenBody, b"null", "body"),
    # amounts must be JSON strings
    (TransferBody, transfer(amount=12.5), "amount"),
    (TransferBody, transfer(amount=12), "amount"),
    (TransferBody, transfer(amount=1e5), "amount"),
    (TransferBody, transfer(amount=True), "amount"),
    (TransferBody, transfer(amount=None), "amount"),
    (TransferBody, transfer(amount=["1"]), "amount"),
    (TransferBody, transfer(amount="1" * 61), "amount"),
    (AmountBody, raw({"asset": "USD", "amount": 1.5}), "amount"),
    # other wrong types
    (TransferBody, transfer(asset=1), "asset"),
    (TransferBody, transfer(asset=None), "asset"),
    (TransferBody, transfer(asset="U" * 17), "asset"),
    (TransferBody, transfer(source=7), "source"),
    (TransferBody, transfer(target={"id": "bob"}), "target"),
    (OpenBody, raw({"owner": 5}), "owner"),
    (OpenBody, raw({"owner": ""}), "owner"),
    (OpenBody, raw({"owner": "x" * 129}), "owner"),
    (HistoryBody, raw({"limit": "10"}), "limit"),
    (HistoryBody, raw({"limit": 10.0}), "limit"),
    (HistoryBody, raw({"limit": 2.5}), "limit"),
    (HistoryBody, raw({"limit": True}), "limit"),
    (HistoryBody, raw({"before": "5"}), "before"),
    # minor units: integers above zero, never floats or strings
    (MoveBody, move(amount_minor=12.5), "amount_minor"),
    (MoveBody, move(amount_minor=1.0), "amount_minor"),
    (MoveBody, move(amount_minor="1250"), "amount_minor"),
    (MoveBody, move(amount_minor=0), "amount_minor"),
    (MoveBody, move(amount_minor=-1), "amount_minor"),
    (MoveBody, move(amount_minor=True), "amount_minor"),
    (MoveBody, move(op=""), "op"),
    # a saga's instant: a whole number of ms, never a float, a string or negative
    (MoveBody, move(at_ms=-1), "at_ms"),
    (MoveBody, move(at_ms=1.5), "at_ms"),
    (MoveBody, move(at_ms="1"), "at_ms"),
    (MoveBody, move(at_ms=_DROP), "at_ms"),
    (RefundBody, raw({"op": "o", "compensates": "d"}), "at_ms"),
    (MoveBody, move(op="o" * 201), "op"),
    (ReserveBody, raw({"op": "o", "hold": "h", "asset": "USD", "amount_minor": 0.5}),
     "amount_minor"),
    (ReleaseBody, raw({"op": "o", "hold": "h", "amount_minor": 0}), "amount_minor"),
    (RefundBody, raw({"op": "o", "compensates": None}), "compensates"),
    # unknown fields
    (TransferBody, transfer(memo="hi"), "memo"),
    (EmptyBody, raw({"force": True}), "force"),
    (HistoryBody, raw({"limit": 5, "offset": 10}), "offset"),
    (AmountBody, raw({"asset": "USD", "amount": "1", "amount_minor": 100}), "amount_minor"),
    # missing fields
    (TransferBody, transfer(source=_DROP), "source"),
    (TransferBody, transfer(target=_DROP), "target"),
    (TransferBody, transfer(asset=_DROP), "asset"),
    (TransferBody, transfer(amount=_DROP), "amount"),
    (MoveBody, move(ref=_DROP), "ref"),
    # bad ids
    (TransferBody, transfer(source="al ice"), "source"),
    (TransferBody, transfer(source=" alice"), "source"),
    (TransferBody, transfer(source="alice\n"), "source"),
    (TransferBody, transfer(source=""), "source"),
    (TransferBody, transfer(source="a" * 65), "source"),
    (TransferBody, transfer(target="bob/../carol"), "target"),
    (TransferBody, transfer(target="b\u00f6b"), "target"),
    (TransferBody, transfer(target="bob:1"), "target"),
]


@pytest.mark.parametrize(
    "model, body, field",
    MALFORMED,
    ids=[f"{i}-{m.__name__}-{f}" for i, (m, _, f) in enumerate(MALFORMED)],
)
def test_malformed_body_is_refused_naming_the_field(model, body, field):
    message = invalid(model, body)
    assert message.startswith(f"{field}: ") or f"; {field}: " in message, message


def test_a_json_number_amount_says_it_must_be_a_string():
    message = invalid(TransferBody, transfer(amount=12.5))
    assert message == 'amount: must be a JSON string of a decimal, such as "12.50"'


def test_a_non_object_says_so():
    assert invalid(TransferBody, b"[1, 2]") == "body: must be a JSON object"


def test_an_oversize_body_is_refused_before_parsing():
    # Valid JSON apart from its size, so only the size check can refuse it.
    body = raw(GOOD_TRANSFER)
    body = body + b" " * (MAX_BODY_BYTES + 1 - len(body))
    message = invalid(TransferBody, body)
    assert message == f"body: {MAX_BODY_BYTES + 1} bytes, at most {MAX_BODY_BYTES}"


def test_a_huge_body_is_refused_and_not_echoed():
    message = invalid(TransferBody, b"[" * (MAX_BODY_BYTES * 64))
    assert message.startswith("body: ") and len(message) < 200


def test_every_problem_is_named_up_to_a_few():
    # four problems: the first three are named, the message stays bounded
    message = invalid(TransferBody, raw({"source": 1, "target": "b b", "amount": 3}))
    assert message.split("; ") == [
        "source: must be a string",
        "target: not a valid id (1 to 64 of A-Z a-z 0-9 . _ -)",
        "asset: required",
    ]


def test_a_huge_unknown_field_name_is_not_echoed_whole():
    from ledger.errors import InvalidInput
    from api.requests import OpenBody, parse_body

    name = "k" * 5000
    try:
        parse_body(OpenBody, ('{"%s": 1}' % name).encode())
    except InvalidInput as err:
        assert "unknown field" in err.message and len(err.message) < 100
    else:
        raise AssertionError("an unknown field must be refused")


# --- strict JSON: what pydantic alone would let through ----------------------


def test_a_duplicate_key_is_refused_naming_it():
    assert invalid(AmountBody, b'{"asset": "USD", "amount": "1", "amount": "2"}') == "body: duplicate key 'amount'"


def test_a_duplicate_key_in_a_nested_object_is_refused():
    body = b'{"steps": [{"op": "a", "op": "b"}], "at_ms": 1}'
    assert invalid(SettleStepsBody, body) == "body: duplicate key 'op'"


@pytest.mark.parametrize("char", ["\u0000", "\u001f", "\u007f", "\u0080", "\u009f", "\n"])
def test_a_control_character_in_any_string_is_refused_naming_the_field(char):
    body = json.dumps({"owner": f"a{char}b"}).encode()
    assert invalid(OpenBody, body) == f"owner: control character U+{ord(char):04X} is not allowed"


def test_a_control_character_deep_in_a_body_names_its_path():
    body = json.dumps({"steps": [{"op": "a", "kind": "release", "amount_minor": 1, "hold": "h\u001b"}],
                       "at_ms": 1}).encode()
    assert invalid(SettleStepsBody, body) == "steps.0.hold: control character U+001B is not allowed"


def test_printable_characters_next_to_the_control_ranges_pass():
    for char in (" ", "~", "\u00a0", "\u00e9", "\u2028"):
        assert parse_body(OpenBody, json.dumps({"owner": f"a{char}b"}).encode()).owner == f"a{char}b"


@pytest.mark.parametrize("body", [b'{"limit": NaN}', b'{"limit": -Infinity}', b"\xff{}", b'{"limit": 1} 2'])
def test_what_is_not_strict_json_is_refused(body):
    assert invalid(HistoryBody, body).startswith("body: not valid JSON (")


def test_an_owner_too_long_or_empty_says_so():
    assert invalid(OpenBody, raw({"owner": "x" * 129})) == "owner: too long (at most 128 characters)"
    assert invalid(OpenBody, raw({"owner": ""})) == "owner: must not be empty"


def test_an_amount_too_long_says_so_as_the_limits_table_does():
    assert invalid(AmountBody, raw({"asset": "USD", "amount": "1" * 61})) == "amount: too long (at most 60 characters)"


@pytest.mark.parametrize("depth", [0, 101, -1])
def test_a_book_depth_out_of_range_says_the_range(depth):
    assert invalid(BookBody, raw({"depth": depth})) == f"depth: must be from 1 to 100, got {depth}"


# --- control characters: escaped, or raw DEL and C1 --------------------------


@pytest.mark.parametrize("owner_json, code", [
    ('"a\\nb"', "000A"), ('"a\\u0007b"', "0007"), ('"a\\u007fb"', "007F"), ('"a\\u0085b"', "0085"),
    ('"a\x7fb"', "007F"), ('"a\x85b"', "0085"), ('"a\x9fb"', "009F"),
])
def test_a_control_character_escaped_or_raw_is_refused(owner_json, code):
    body = ('{"owner": ' + owner_json + '}').encode()
    assert invalid(OpenBody, body) == f"owner: control character U+{code} is not allowed"


def test_printable_text_with_no_escape_passes_without_the_walk():
    assert parse_body(OpenBody, '{"owner": "Zoë Ā 東京 \u00a0"}'.encode()).owner == "Zoë Ā 東京 \u00a0"


def test_a_trusted_body_skips_only_the_hostile_input_checks():
    """Internal handlers' bodies (our sagas write them) skip the duplicate-key
    and control-character checks, never the model's own."""
    assert parse_body(OpenBody, b'{"owner": "a", "owner": "b"}', trusted=True).owner == "b"
    with pytest.raises(InvalidInput, match="owner: must be a string"):
        parse_body(OpenBody, b'{"owner": 3}', trusted=True)
