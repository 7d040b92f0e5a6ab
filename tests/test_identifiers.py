"""Identifiers typed at sites are read the way the field writes them."""

import pytest

from models.identifiers import (
    IdentifierKind,
    InvalidIdentifier,
    mask_phone,
    normalize_insurance_number,
    normalize_national_id,
    normalize_phone,
)


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("0912000001", "0912000001"),
        ("0912 000 001", "0912000001"),
        ("091.200.0001", "0912000001"),
        ("+84912000001", "0912000001"),
        ("84912000001", "0912000001"),
        ("+84 912-000-001", "0912000001"),
        ("01681234567", "0381234567"),
        ("01201234567", "0701234567"),
        ("01231234567", "0831234567"),
        ("01271234567", "0811234567"),
        ("01861234567", "0561234567"),
        ("01991234567", "0591234567"),
    ],
)
def test_phone_numbers_normalise_to_ten_digits(typed, normalised):
    assert normalize_phone(typed) == normalised


@pytest.mark.parametrize(
    "typed",
    ["", "12345", "0212345678", "01101234567", "09120000011", "09a2000001", "+1 202 555 0100"],
)
def test_numbers_that_are_not_vietnamese_mobiles_are_refused(typed):
    with pytest.raises(InvalidIdentifier):
        normalize_phone(typed)


def test_national_id_kind_follows_its_length():
    assert normalize_national_id("024090001234") == (IdentifierKind.CCCD, "024090001234")
    assert normalize_national_id("121 234 567") == (IdentifierKind.CMND, "121234567")
    with pytest.raises(InvalidIdentifier):
        normalize_national_id("12345")


def test_insurance_numbers_are_fifteen_characters_in_their_shape():
    assert normalize_insurance_number("hs4 24 0123456789") == "HS4240123456789"
    with pytest.raises(InvalidIdentifier):
        normalize_insurance_number("HS42401234567")


def test_masked_phone_shows_only_its_ends():
    assert mask_phone("0912000001") == "091****001"
