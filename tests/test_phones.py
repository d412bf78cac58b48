"""Phone numbers: the quick path for home numbers agrees with libphonenumber's full parser."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from outreach.contacts.phones import normalize_phone, textable_phone
from outreach.errors import InvalidPhoneNumber


def full_parser(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def ours(raw: str, region: str) -> str | None:
    try:
        return normalize_phone(raw, region)
    except InvalidPhoneNumber:
        return None


numbers = st.builds(
    lambda prefix, body, sep: prefix + sep.join([body[:4], body[4:]]),
    st.sampled_from(["0", "+44", "+44 ", "+44(0)", "00", "+1", "+33", "", "0044"]),
    st.text(alphabet="0123456789", min_size=6, max_size=12),
    st.sampled_from(["", " ", "-", "."]),
)


@given(raw=numbers, region=st.sampled_from(["GB", "US", "FR", "IT", "JE"]))
def test_normalize_agrees_with_libphonenumber(raw: str, region: str) -> None:
    assert ours(raw, region) == full_parser(raw, region)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("07400 123456", "+447400123456"),
        ("+44 7400 123456", "+447400123456"),
        ("07797 712345", "+447797712345"),  # a Jersey mobile: valid, though not in GB itself
        ("(020) 7946 0018", "+442079460018"),
        ("+44 7400 12345", None),  # a digit short
        ("+353 85 123 4567", "+353851234567"),
    ],
)
def test_examples(raw: str, expected: str | None) -> None:
    assert ours(raw, "GB") == expected


def test_reason_is_given_without_the_number() -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone("07700 900123")
    assert "07700" not in str(caught.value)
    assert caught.value.reason == "not a valid number in GB"


@pytest.mark.parametrize(
    "raw", ["07400 12345²", "07400 12345①", "+44 7400 12345³", "０７４００ １２３４５⑥"]
)
def test_characters_that_only_look_like_digits_are_not_a_number(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match="not a phone number"):
        normalize_phone(raw)


def full_parser_textable(raw: str, region: str) -> str | None:
    found = full_parser(raw, region)
    if found is None:
        return None
    kind = phonenumbers.number_type(phonenumbers.parse(found))
    return found if kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE) else None


@given(raw=numbers, region=st.sampled_from(["GB", "US", "FR", "IT", "JE"]))
def test_textable_agrees_with_libphonenumber(raw: str, region: str) -> None:
    try:
        ours = textable_phone(raw, region)
    except InvalidPhoneNumber:
        ours = None
    assert ours == full_parser_textable(raw, region)
