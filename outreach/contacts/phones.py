"""Phone numbers in one form (E.164), checked with Google's libphonenumber data, and whether
a number can receive a text at all."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumber, PhoneNumberType

from outreach.errors import InvalidPhoneNumber

_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
# Mobiles get texts; so may a number a country does not tell from a landline (the United
# States, Canada). Everything else is refused, saying what kind of number it is.
TEXTABLE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_KINDS = {
    PhoneNumberType.FIXED_LINE: "a landline number",
    PhoneNumberType.TOLL_FREE: "a freephone number",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.VOIP: "an internet (VoIP) number",
    PhoneNumberType.PERSONAL_NUMBER: "a personal (follow-me) number",
    PhoneNumberType.PAGER: "a pager number",
    PhoneNumberType.UAN: "a non-geographic (UAN) number",
    PhoneNumberType.VOICEMAIL: "a voicemail number",
}
_MAX_INPUT = 64
_PUNCTUATION = re.compile(r"[\s().\-]")


def textable_phone(raw: str, region: str = "GB") -> str:
    """``raw`` as E.164 if it is a number that can receive a text; raises
    ``InvalidPhoneNumber`` saying why not (what kind of number it is, if it is one).

    >>> textable_phone("07400 123456")
    '+447400123456'
    >>> textable_phone("0121 234 5678")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    outreach.errors.InvalidPhoneNumber: invalid phone number: a landline number, which ...
    """
    text = _text(raw)
    quick = _home_number(text, region)
    # One look at the number's type also says whether it is valid (UNKNOWN if not): the
    # cheapest check for the common case, since this runs for every row of an import.
    kind = phonenumbers.number_type(quick) if quick is not None else PhoneNumberType.UNKNOWN
    if quick is not None and kind != PhoneNumberType.UNKNOWN:
        number = quick
    else:
        number = _parsed_fully(raw, text, region)
        kind = phonenumbers.number_type(number)
    if kind not in TEXTABLE:
        what = _KINDS.get(kind, "a kind of number")
        raise InvalidPhoneNumber(raw, f"{what}, which cannot receive texts")
    return _e164(number)


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
    return _e164(_parsed(raw, region))


def _e164(number: PhoneNumber) -> str:
    if number.italian_leading_zero:  # Italian landlines keep their 0 after +39
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return f"+{number.country_code}{number.national_number}"


def _parsed(raw: str, region: str) -> PhoneNumber:
    """A valid number, or ``InvalidPhoneNumber`` saying why not."""
    text = _text(raw)
    quick = _home_number(text, region)
    if quick is not None and phonenumbers.is_valid_number_for_region(quick, region):
        return quick
    return _parsed_fully(raw, text, region)


def _text(raw: str) -> str:
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber(raw, "no phone number")
    if len(text) > _MAX_INPUT:
        raise InvalidPhoneNumber(raw, "too long")
    return text


def _parsed_fully(raw: str, text: str, region: str) -> PhoneNumber:
    """libphonenumber's full parser, for everything the quick path leaves."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise InvalidPhoneNumber(raw, _REASONS.get(exc.error_type, "not a phone number")) from None
    if not phonenumbers.is_valid_number(number):
        where = phonenumbers.region_code_for_number(number) or region
        raise InvalidPhoneNumber(raw, f"not a valid number in {where}")
    return number


def last_digits(address: str, count: int = 3) -> str:
    """A number shown without giving it away: its last ``count`` digits.

    >>> last_digits("+447400123456")
    '...456'
    >>> last_digits("U024BE7LH")
    '...'
    """
    digits = [ch for ch in address if ch.isdecimal()]
    return "..." + "".join(digits[-count:]) if len(digits) > count else "..."


@lru_cache(maxsize=32)
def _home_rules(region: str) -> tuple[int, str] | None:
    """The region's country code and trunk prefix, where a number's digits need no other
    rewriting (so a plain national number is the trunk prefix and the national number)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or not metadata.national_prefix or metadata.national_prefix_transform_rule:
        return None
    return int(metadata.country_code or 0), metadata.national_prefix


def _home_number(text: str, region: str) -> PhoneNumber | None:
    """The common case without the full parser: a plain national or international number of
    the home region. The caller still validates it with libphonenumber, and anything unusual
    (extensions, letters, other countries, "(0)") goes to the full parser.

    Parsing is most of an import's time; this makes 100,000 rows several seconds faster.
    """
    rules = _home_rules(region)
    if rules is None:
        return None
    country_code, trunk = rules
    digits = _PUNCTUATION.sub("", text)
    international = f"+{country_code}"
    if digits.startswith(international):
        national = digits[len(international) :]
    elif digits.startswith(trunk):
        national = digits[len(trunk) :]
    else:
        return None
    # ASCII digits only: "²" and "①" pass isdigit() but are no digits of a number, and the
    # full parser says so.
    if not (national.isascii() and national.isdigit()):
        return None
    if national.startswith("0") or not 4 <= len(national) <= 14:
        return None
    return PhoneNumber(country_code=country_code, national_number=int(national))
