"""Decisions ("you said, we did"): the file format, loading and checks."""
