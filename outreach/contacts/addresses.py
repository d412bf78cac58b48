"""Address schemes: how a person is reached. Each channel serves one scheme, so the scheme of
the address a message goes to decides which channel sends it."""

from __future__ import annotations

import re

TEL = "tel"  # an E.164 phone number: SMS through Twilio (or simulated, with no account)
SIM = "sim"  # a made-up person of the phone simulator: messages never leave the building
SLACK = "slack"  # a Slack user id: a direct message

PHONE_SCHEMES = (TEL, SIM)
"""Schemes whose addresses are phone numbers (a coordinator names a person by number)."""

CHANNEL_SCHEMES = {"sms": (TEL, SIM), "slack": (SLACK,)}
"""The schemes of each channel a flow or event may prefer (``channel: slack``)."""

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
"""A Slack member id (``U024BE7LH``; ``W...`` on Enterprise Grid), as Slack's "Copy member ID"
gives it."""
