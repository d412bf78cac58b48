"""Translator tooling: extract messages from flows, update catalogs, check and report."""
