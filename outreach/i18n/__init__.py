"""Languages: SMS encoding and segments, text clean-up, translation catalogs."""
