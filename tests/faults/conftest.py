"""Fault tests use the web tests' fake Twilio and clock."""

from tests.web.conftest import clock, fake

__all__ = ["clock", "fake"]
