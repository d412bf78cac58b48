"""People: phone numbers, consent and the keywords that always work."""
