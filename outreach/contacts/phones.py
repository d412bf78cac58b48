"""Phone numbers in one form (E.164), checked with Google's libphonenumber data."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException

from outreach.errors import InvalidPhoneNumber

_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_MAX_INPUT = 64


def normalize_phone(raw: str, region: str = "GB") -> str:
    """``raw`` as E.164 (``+447400123456``); raises ``InvalidPhoneNumber`` saying why not.

    >>> normalize_phone("07400 123456")
    '+447400123456'
    >>> normalize_phone("+44 (0)7400-123-456")
    '+447400123456'
    >>> normalize_phone("07700 900123")
    Traceback (most recent call last):
    ...
    outreach.errors.InvalidPhoneNumber: invalid phone number: not a valid number in GB
    """
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber(raw, "no phone number")
    if len(text) > _MAX_INPUT:
        raise InvalidPhoneNumber(raw, "too long")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidPhoneNumber(raw, _REASONS.get(exc.error_type, "not a phone number")) from None
    if not phonenumbers.is_valid_number(number):
        where = phonenumbers.region_code_for_number(number) or region
        raise InvalidPhoneNumber(raw, f"not a valid number in {where}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
