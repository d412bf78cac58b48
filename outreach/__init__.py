"""Outreach: co-produce services with the people who use them, by SMS and Slack."""

__version__ = "0.1.0"
