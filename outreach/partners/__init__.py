"""VCSE partners: their YAML files, the handoff threads in their Slack channels, safeguarding
alerts and digests."""
