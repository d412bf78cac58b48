"""Time: the worker that sends the outbox and fires due reminders and timeouts."""
