"""Use cases: what the CLI and the web app ask for, built from the engine, store and channels."""
