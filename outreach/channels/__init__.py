"""Channels: how a message reaches a person (Twilio SMS, the simulator), behind one interface."""
