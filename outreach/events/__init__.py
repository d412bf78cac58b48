"""Big Conversation events: the file format, loading and checks against the flows."""
