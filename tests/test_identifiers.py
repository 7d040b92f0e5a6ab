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


def in_script(text: str, zero: int) -> str:
    """text with its ASCII digits written in another script (zero: that script's 0)."""
    return "".join(chr(zero + int(c)) if c.isdigit() else c for c in text)


FULLWIDTH, ARABIC_INDIC, EXTENDED_ARABIC_INDIC, DEVANAGARI, BENGALI = (
    0xFF10,
    0x0660,
    0x06F0,
    0x0966,
    0x09E6,
)


@pytest.mark.parametrize(
    "typed",
    [
        in_script("0912000001", FULLWIDTH),
        "03" + in_script("9", FULLWIDTH) + "1000002",
        "\uff0b" + in_script("84 912 000 001", FULLWIDTH),
        "0912\u00a0000\u00a0001",
    ],
)
def test_fullwidth_digits_and_signs_fold_to_the_same_phone(typed):
    assert normalize_phone(typed) in ("0912000001", "0391000002")


@pytest.mark.parametrize(
    "typed",
    [
        in_script("0912000001", ARABIC_INDIC),
        in_script("0912000001", EXTENDED_ARABIC_INDIC),
        in_script("0912000001", DEVANAGARI),
        "0912" + in_script("00", BENGALI) + "0001",
        "0912000001\u200b",  # a zero-width space
    ],
)
def test_digits_of_other_scripts_are_not_a_phone(typed):
    with pytest.raises(InvalidIdentifier, match="ASCII"):
        normalize_phone(typed)


def test_a_fullwidth_national_id_folds_and_other_scripts_are_refused():
    assert normalize_national_id(in_script("024090001234", FULLWIDTH)) == (
        IdentifierKind.CCCD,
        "024090001234",
    )
    with pytest.raises(InvalidIdentifier):
        normalize_national_id(in_script("024090001234", ARABIC_INDIC))
    with pytest.raises(InvalidIdentifier):
        normalize_insurance_number("DN4" + in_script("0", ARABIC_INDIC) + "10012345678")


async def test_phone_variants_share_one_rate_limit_counter(app_process):
    request = """mutation($phone: String!) { requestOtp(phone: $phone) {
      challenge { id } userErrors { code } } }"""
    variants = ("0912000001", in_script("0912000001", FULLWIDTH), "+84 912 000 001")
    async with app_process(otp_requests_per_phone=2) as graphql:
        answers = [await graphql.query(request, {"phone": phone}) for phone in variants]
        other_script = await graphql.query(
            request, {"phone": in_script("0912000001", ARABIC_INDIC)}
        )

    assert [a.get("errors", [{}])[0].get("extensions", {}).get("code") for a in answers] == [
        None,
        None,
        "RATE_LIMITED",
    ]
    assert other_script["data"]["requestOtp"]["userErrors"] == [{"code": "INVALID_PHONE"}]
