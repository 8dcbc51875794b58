"""Money at the edge: decimal strings in, exact minor units inside, and back."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import InvalidInput
from ledger.money import (
    ASSETS,
    Asset,
    MAX_AMOUNT_CHARS,
    MAX_MINOR,
    asset,
    format_amount,
    parse_amount,
)

USD, EUR, BTC, ETH = (ASSETS[code] for code in ("USD", "EUR", "BTC", "ETH"))
minor_units = st.integers(min_value=1, max_value=MAX_MINOR)
any_asset = st.sampled_from(list(ASSETS.values()))
FIELD = "legs.0.price"  # deliberately unlike any default, so the message must echo it


def refused(text, of=USD, field=FIELD) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse_amount(text, of, field)
    err = caught.value
    assert err.status_code == 400
    assert field in err.message, err.message
    return err


# --- the registry -------------------------------------------------------------


@pytest.mark.parametrize(
    "code, scale, one_minor",
    [
        ("USD", 2, "0.01"),
        ("EUR", 2, "0.01"),
        ("BTC", 8, "0.00000001"),
        ("ETH", 18, "0.000000000000000001"),
    ],
)
def test_every_contract_asset_has_its_scale(code, scale, one_minor):
    found = asset(code)
    assert (found.code, found.scale) == (code, scale)
    assert found.one_minor == one_minor
    assert parse_amount(one_minor, found) == 1


@pytest.mark.parametrize("code", ["usd", "XYZ", "", " USD", "USD "])
def test_unknown_asset_is_refused_naming_the_field(code):
    with pytest.raises(InvalidInput) as caught:
        asset(code, "order.asset")
    assert caught.value.status_code == 400
    assert "order.asset" in caught.value.message
    assert "unknown asset" in caught.value.message


@pytest.mark.parametrize("code", [None, 1, True, ["USD"], {"code": "USD"}])
def test_asset_must_be_a_string(code):
    with pytest.raises(InvalidInput) as caught:
        asset(code, "order.asset")
    assert caught.value.status_code == 400
    assert "order.asset" in caught.value.message


# --- parsing ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, of, minor",
    [
        ("1", USD, 100),
        ("12.5", USD, 1250),
        ("12.50", USD, 1250),
        ("0.01", USD, 1),
        ("0.1", EUR, 10),
        ("1000000", EUR, 100_000_000),
        ("0.00000001", BTC, 1),
        ("21000000", BTC, 21_000_000 * 10**8),
        ("1.23456789", BTC, 123_456_789),
        ("0.000000000000000001", ETH, 1),
        ("1.5", ETH, 15 * 10**17),
        ("123.456789012345678901", ETH, 123_456_789_012_345_678_901),
    ],
)
def test_parse_gives_exact_minor_units(text, of, minor):
    assert parse_amount(text, of) == minor


def test_the_largest_amount_is_accepted_and_one_more_is_not():
    # MAX_MINOR is 38 nines; in USD that is 36 whole digits and .99
    largest_usd = "9" * 36 + ".99"
    assert parse_amount(largest_usd, USD) == MAX_MINOR
    err = refused("1" + "0" * 36, USD)
    assert "exceeds" in err.message
    # ETH keeps 18 of the 38 digits for the fraction: 10**20 ETH is one past
    assert parse_amount("9" * 20 + "." + "9" * 18, ETH) == MAX_MINOR
    refused("1" + "0" * 20, ETH)


@pytest.mark.parametrize("value", [12, 0, 1, 12.5, 1e5, float("nan"), float("inf")])
def test_json_numbers_are_refused(value):
    err = refused(value)
    assert "JSON number" in err.message


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_refused(value):
    # bool is an int in Python; it must not slip through as 1 or 0
    err = refused(value)
    assert "boolean" in err.message


@pytest.mark.parametrize("value", [None, ["1"], {"amount": "1"}, b"1"])
def test_other_non_strings_are_refused(value):
    refused(value)


@pytest.mark.parametrize(
    "text",
    [
        # exponents
        "1e5", "1E5", "1.5e2", "1e-2",
        # signs
        "+1", "-1", "-0.01", "+0.5",
        # not numbers
        "NaN", "nan", "Infinity", "-Infinity", "inf", "", "abc", "0x10", "1/2",
        # separators and whitespace
        "1,000", "1_000", "1 000", " 1", "1 ", "\t1", "1\n", "1,5", "1..0", "1.0.0",
        # leading zeros
        "01", "00", "00.5", "007",
        # a bare dot
        ".5", "5.", ".",
        # digits that are not ASCII
        "\u0661\u0662", "\uff11",
    ],
)
def test_malformed_decimals_are_refused(text):
    err = refused(text)
    assert "not a plain decimal" in err.message


@pytest.mark.parametrize(
    "text, of", [("0", USD), ("0.00", USD), ("0.0", BTC), ("0." + "0" * 18, ETH)]
)
def test_zero_is_refused(text, of):
    err = refused(text, of)
    assert "greater than zero" in err.message


@pytest.mark.parametrize(
    "text, of",
    [
        ("0.001", USD),
        ("12.345", EUR),
        ("0.000000001", BTC),
        ("1." + "0" * 19, ETH),
        ("0.100", USD),  # trailing zeros still count: the client sent three digits
    ],
)
def test_too_many_fraction_digits_are_refused(text, of):
    err = refused(text, of)
    assert f"at most {of.scale}" in err.message


@pytest.mark.parametrize("length", [MAX_AMOUNT_CHARS + 1, 1000, 1_000_000])
def test_absurd_lengths_are_refused_before_parsing(length):
    err = refused("1" * length)
    assert "too long" in err.message
    # the message must not echo a megabyte back to the client
    assert len(err.message) < 200


def test_the_longest_string_allowed_still_parses():
    text = "0." + "0" * (MAX_AMOUNT_CHARS - 3) + "1"
    assert len(text) == MAX_AMOUNT_CHARS
    # far more fraction digits than ETH allows: refused for that, not for length
    err = refused(text, ETH)
    assert "fraction digits" in err.message


def test_default_field_name_is_amount():
    with pytest.raises(InvalidInput) as caught:
        parse_amount("-1", USD)
    assert caught.value.message.startswith("amount: ")


# --- formatting ---------------------------------------------------------------


@pytest.mark.parametrize(
    "minor, of, text",
    [
        (1, USD, "0.01"),
        (10, USD, "0.10"),
        (100, USD, "1.00"),
        (1250, EUR, "12.50"),
        (0, USD, "0.00"),
        (-5, USD, "-0.05"),
        (-1234, EUR, "-12.34"),
        (1, BTC, "0.00000001"),
        (21_000_000 * 10**8, BTC, "21000000.00000000"),
        (10**18, ETH, "1.000000000000000000"),
        (MAX_MINOR, USD, "9" * 36 + ".99"),
    ],
)
def test_format_writes_every_fraction_digit(minor, of, text):
    assert format_amount(minor, of) == text


@pytest.mark.parametrize(
    "text, of, canonical",
    [
        ("12.5", USD, "12.50"),
        ("7", BTC, "7.00000000"),
        ("0.1", ETH, "0.100000000000000000"),
        ("3.14", EUR, "3.14"),
    ],
)
def test_parse_then_format_gives_the_canonical_form(text, of, canonical):
    assert format_amount(parse_amount(text, of), of) == canonical
    # and the canonical form is a fixed point
    assert format_amount(parse_amount(canonical, of), of) == canonical


@given(minor=minor_units, of=any_asset)
def test_format_then_parse_round_trips(minor, of):
    assert parse_amount(format_amount(minor, of), of) == minor


@given(minor=minor_units, of=any_asset)
def test_formatted_value_matches_integer_arithmetic(minor, of):
    whole, _, frac = format_amount(minor, of).partition(".")
    assert len(frac) == of.scale
    assert int(whole) == minor // 10**of.scale
    assert int(frac) == minor % 10**of.scale


def test_an_asset_without_fraction_digits_takes_whole_units_only():
    # No registered asset has scale 0 yet; the code has a branch for one.
    whole = Asset("PTS", 0)
    assert parse_amount("42", whole) == 42
    assert format_amount(42, whole) == "42"
    assert format_amount(-3, whole) == "-3"
    with pytest.raises(InvalidInput):
        parse_amount("4.2", whole)
    with pytest.raises(InvalidInput):
        parse_amount("4.0", whole)
