"""The web process: Twilio webhooks, health checks, the phone simulator. Handlers only turn a
request into a neutral value and call a service."""
