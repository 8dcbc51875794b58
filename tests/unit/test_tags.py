"""The caller's reference and metadata: their limits and their messages."""

import json

import pytest

from ledger.errors import InvalidInput
from ledger.tags import (
    MAX_METADATA_BYTES,
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_KEYS,
    MAX_METADATA_VALUE_CHARS,
    MAX_REFERENCE_CHARS,
    frozen_metadata,
    metadata_problem,
    plain,
    reference_problem,
)


def test_the_limits_are_the_contracts():
    assert (MAX_REFERENCE_CHARS, MAX_METADATA_KEYS, MAX_METADATA_KEY_CHARS, MAX_METADATA_VALUE_CHARS,
            MAX_METADATA_BYTES) == (128, 16, 64, 256, 2048)


# --- reference ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["x", "inv-2026-001", "x" * 128, "Zürich 42 / €", "a b"])
def test_a_reference_of_1_to_128_printable_characters_is_fine(value):
    assert reference_problem(value) is None


@pytest.mark.parametrize("value, problem", [
    ("", "must be 1 to 128 characters, got 0"),
    ("x" * 129, "must be 1 to 128 characters, got 129"),
    ("line\nbreak", "must be printable characters only"),
    ("tab\t", "must be printable characters only"),
    ("nul\x00", "must be printable characters only"),
])
def test_a_reference_out_of_its_limits_is_named(value, problem):
    assert reference_problem(value) == problem


def test_a_reference_counts_characters_not_bytes():
    assert reference_problem("é" * 128) is None  # 256 bytes of UTF-8


# --- metadata -----------------------------------------------------------------


def test_metadata_at_every_limit_is_fine():
    assert metadata_problem({}) is None
    assert metadata_problem({"k": ""}) is None  # an empty value is a value
    assert metadata_problem({f"k{i}": "v" for i in range(16)}) is None
    assert metadata_problem({"k" * 64: "v" * 256}) is None


def test_more_than_16_keys_is_refused():
    assert metadata_problem({f"k{i}": "v" for i in range(17)}) == "at most 16 keys, got 17"


@pytest.mark.parametrize("key", ["", "k" * 65, "new\nline"])
def test_a_key_out_of_its_limits_is_named(key):
    assert metadata_problem({key: "v"}) == (
        f"a key must be 1 to 64 printable characters, got {key[:40]!r}")


def test_a_long_key_is_shown_clipped():
    key = "k" * 65
    assert metadata_problem({key: "v"}).endswith(f"got {'k' * 40!r}")


@pytest.mark.parametrize("value", [1, None, True, ["a"], {"a": "b"}])
def test_a_value_must_be_a_string(value):
    assert metadata_problem({"amount": value}) == "the value of 'amount' must be a string"


@pytest.mark.parametrize("value", ["v" * 257, "bell\x07"])
def test_a_value_out_of_its_limits_is_named(value):
    assert metadata_problem({"note": value}) == "the value of 'note' must be at most 256 printable characters"


def _of_json_size(size: int) -> dict:
    """Metadata whose compact JSON is exactly `size` bytes."""
    pairs = {f"k{i:02d}": "v" * 120 for i in range(15)}
    used = len(json.dumps(pairs, separators=(",", ":")).encode())
    pairs["last"] = "v" * (size - used - len(',"last":""'))
    assert len(json.dumps(pairs, separators=(",", ":")).encode()) == size
    return pairs


def test_metadata_of_2048_bytes_as_json_is_fine_and_one_more_is_not():
    assert metadata_problem(_of_json_size(2048)) is None
    assert metadata_problem(_of_json_size(2049)) == "2049 bytes as JSON, at most 2048"


def test_the_size_counts_utf8_bytes_not_characters():
    # 16 keys of 100 two-byte characters: within every per-pair limit, 3 KiB in all.
    problem = metadata_problem({f"k{i:02d}": "é" * 100 for i in range(16)})
    assert problem is not None and problem.endswith("bytes as JSON, at most 2048")


# --- frozen_metadata and plain ----------------------------------------------------


def test_no_metadata_and_an_empty_object_are_both_none():
    assert frozen_metadata(None) is None
    assert frozen_metadata({}) is None
    assert plain(None) is None


def test_frozen_metadata_is_a_read_only_copy():
    given = {"invoice": "A-1"}
    kept = frozen_metadata(given)
    given["invoice"] = "changed"
    assert dict(kept) == {"invoice": "A-1"}
    with pytest.raises(TypeError):
        kept["invoice"] = "x"  # type: ignore[index]


def test_frozen_metadata_refuses_what_metadata_problem_names():
    with pytest.raises(InvalidInput) as caught:
        frozen_metadata({f"k{i}": "v" for i in range(17)})
    assert caught.value.status_code == 400
    assert caught.value.message == "metadata: at most 16 keys, got 17"


def test_plain_is_a_dict_that_json_keeps():
    kept = frozen_metadata({"a": "1", "b": ""})
    assert plain(kept) == {"a": "1", "b": ""} and type(plain(kept)) is dict
    assert frozen_metadata(json.loads(json.dumps(plain(kept)))) == kept
