"""Vietnamese identifiers as typed at sites: national IDs, insurance numbers, phones.

Every identifier is first folded with Unicode NFKC, which turns fullwidth digits and
signs (U+FF10-U+FF19, U+FF0B) and no-break spaces into their ASCII forms; after folding,
anything that is not ASCII is refused. Other scripts' digits (Arabic-Indic, Devanagari,
Bengali...) are refused, not converted: a variant can never become an identifier, or a
rate-limit counter, of its own.
"""

import re
import unicodedata
from enum import StrEnum
from typing import overload


class IdentifierKind(StrEnum):
    CCCD = "CCCD"  # 12-digit citizen identity card
    CMND = "CMND"  # older 9-digit identity card
    BHYT = "BHYT"  # health-insurance number
    PHONE = "PHONE"


class InvalidIdentifier(ValueError):
    pass


# 2018 renumbering of 11-digit mobile numbers to 10 digits.
_OLD_MOBILE_PREFIXES = {
    **{f"016{d}": f"03{d}" for d in "23456789"},
    "0120": "070",
    "0121": "079",
    "0122": "077",
    "0126": "076",
    "0128": "078",
    "0123": "083",
    "0124": "084",
    "0125": "085",
    "0127": "081",
    "0129": "082",
    "0186": "056",
    "0188": "058",
    "0199": "059",
}
_MOBILE = re.compile(r"0[35789]\d{8}", re.ASCII)
_SEPARATORS = re.compile(r"[\s.\-()]", re.ASCII)
# The same separators for PostgreSQL's regexp_replace (see models.base.typed_key).
SEPARATORS_PATTERN = r"[[:space:].()-]"
_BHYT = re.compile(r"[A-Z]{2}\d\d{2}\d{10}", re.ASCII)


def _folded(raw: str, what: str) -> str:
    """NFKC-folded, trimmed and separator-free; refused when anything non-ASCII remains."""
    folded = unicodedata.normalize("NFKC", raw).strip()
    if not folded.isascii():
        raise InvalidIdentifier(f"{what} is written with ASCII (or fullwidth) digits only")
    return _SEPARATORS.sub("", folded)


def normalize_phone(raw: str) -> str:
    """Return the 10-digit domestic form (0 + 9 digits) of a Vietnamese mobile number."""
    digits = _folded(raw, "a phone number")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not digits.isdigit():
        raise InvalidIdentifier("a phone number has only digits, spaces, dots, dashes and +84")
    if len(digits) == 11:
        new_prefix = _OLD_MOBILE_PREFIXES.get(digits[:4])
        if new_prefix is None:
            raise InvalidIdentifier("an 11-digit number must start with a pre-2018 mobile prefix")
        digits = new_prefix + digits[4:]
    if not _MOBILE.fullmatch(digits):
        raise InvalidIdentifier(
            "a Vietnamese mobile number is 10 digits starting with 03, 05, 07, 08 or 09 "
            "(or +84 and 9 digits)"
        )
    return digits


def typed_forms_of_phone(phone: str) -> list[str]:
    """The forms a normalised phone takes once a site's separators are removed: domestic,
    with the country code, and the pre-2018 11-digit number it may have replaced."""
    numbers = [phone]
    for old_prefix, new_prefix in _OLD_MOBILE_PREFIXES.items():
        if phone.startswith(new_prefix):
            numbers.append(old_prefix + phone[len(new_prefix) :])
    return [form for number in numbers for form in (number, "+84" + number[1:], "84" + number[1:])]


def normalize_phone_or_none(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return normalize_phone(raw)
    except InvalidIdentifier:
        return None


def national_id_kind(value: str) -> IdentifierKind:
    digits = value.strip()
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidIdentifier("a national ID has only digits")
    if len(digits) == 12:
        return IdentifierKind.CCCD
    if len(digits) == 9:
        return IdentifierKind.CMND
    raise InvalidIdentifier("a national ID is a 12-digit CCCD or a 9-digit CMND")


def normalize_national_id(raw: str) -> tuple[IdentifierKind, str]:
    value = _folded(raw, "a national ID")
    return national_id_kind(value), value


def normalize_national_id_or_none(raw: str | None) -> tuple[IdentifierKind, str] | None:
    if not raw:
        return None
    try:
        return normalize_national_id(raw)
    except InvalidIdentifier:
        return None


def normalize_insurance_number(raw: str) -> str:
    value = _folded(raw, "a health-insurance number").upper()
    if not _BHYT.fullmatch(value):
        raise InvalidIdentifier(
            "a health-insurance number is 15 characters: 2 letters, 1 digit, "
            "a 2-digit province code and 10 digits"
        )
    return value


def normalize_insurance_number_or_none(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return normalize_insurance_number(raw)
    except InvalidIdentifier:
        return None


def fold_name(name: str) -> str:
    """A name compared without case, diacritics or spacing: sites often type it unaccented."""
    plain = name.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", plain)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.casefold().split())


@overload
def mask_phone(phone: str) -> str: ...
@overload
def mask_phone(phone: str | None) -> str | None: ...
def mask_phone(phone: str | None) -> str | None:
    """The first three and last three digits; None for a citizen without a phone."""
    if phone is None:
        return None
    return phone[:3] + "*" * (len(phone) - 6) + phone[-3:]
