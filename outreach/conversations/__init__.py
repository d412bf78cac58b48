"""Conversations: every inbound message, start and timer, applied in one transaction."""
