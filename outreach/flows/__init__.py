"""Flows: coordinators' YAML conversations, checked with file:line problems, and the pure
engine that runs them."""
